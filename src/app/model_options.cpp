#include "microseg/app/model_options.hpp"

#include <sstream>

namespace microseg::app {
namespace {

enum class Use { ignored, refused };

// What a command that is not `segment` does with a model option it does not use. `refused_if`
// is the value that would change the fit ("" : any value); other values are ignored.
struct UnusedOption {
  const char* command;
  const char* option;
  Use use;
  const char* why;
  const char* refused_if = "";
};

constexpr const char* compare_later =
    "a sweep compares no run with an earlier one; give it to 'segment' for the chosen k";
constexpr const char* from_sweep = "the promoted model's settings are the sweep's";

const std::vector<UnusedOption>& unused_options() {
  static const std::vector<UnusedOption> table{
      {"sweep", "previous", Use::ignored, compare_later},
      {"sweep", "warm-start", Use::ignored, compare_later},
      {"sweep", "match-max-distance", Use::ignored, compare_later},
      {"sweep", "value-feature", Use::ignored, "the sweep table measures no customer value"},
      {"sweep", "min-segment-size", Use::ignored, "the sweep table flags no small segment"},
      {"sweep", "checkpoint-every", Use::ignored,
       "a sweep keeps every finished k instead of checkpoints"},
      {"sweep", "resume", Use::ignored,
       "a sweep run again with the same options always keeps the k it finished"},
      {"sweep", "bisect", Use::ignored, "it only applies to --method bisecting"},
      {"sweep", "assignments-csv", Use::ignored,
       "a sweep writes no per-customer results; 'promote --assignments-csv' does"},
      {"sweep", "privacy-min-count", Use::ignored,
       "the sweep table, for choosing k, is not a shared export; 'promote' applies it"},
      {"sweep", "pseudonymise-ids", Use::ignored,
       "a sweep writes no per-customer results; 'promote' applies it"},
      {"sweep", "merge-small", Use::refused,
       "merging changes the fitted segments, so a k of the table would not be the k promoted",
       "true"},
      {"sweep", "method", Use::refused,
       "a sweep fits k-means; bisecting k-means is 'segment --method bisecting'", "bisecting"},
      {"sweep", "init-centroids", Use::refused, "centroids from a file fix k"},
      {"sweep", "sample-weight", Use::refused, "weighted sweeps are not implemented yet"},
  };
  return table;
}

// Every model option except input (the table, if it moved), assignments-csv and the
// publication options, which promote uses.
const char* const promoted_options[] = {"features",
                                        "scale",
                                        "log1p",
                                        "method",
                                        "bisect",
                                        "init",
                                        "init-centroids",
                                        "max-iter",
                                        "tol",
                                        "lloyd",
                                        "seed",
                                        "silhouette-sample",
                                        "previous",
                                        "warm-start",
                                        "value-feature",
                                        "min-segment-size",
                                        "merge-small",
                                        "match-max-distance",
                                        "checkpoint-every",
                                        "resume",
                                        "macro-k",
                                        "micro-k-rule",
                                        "sample-weight",
                                        "missing",
                                        "one-hot",
                                        "clip-quantiles",
                                        "weights"};

std::vector<UnusedOption> unused_by(const std::string& command) {
  std::vector<UnusedOption> unused;
  if (command == "promote") {
    for (const char* option : promoted_options) {
      unused.push_back({"promote", option, Use::ignored, from_sweep});
    }
    return unused;
  }
  for (const auto& entry : unused_options()) {
    if (entry.command == command) unused.push_back(entry);
  }
  return unused;
}

}  // namespace

void add_model_options(boost::program_options::options_description& options) {
  const auto add = [&options](const char* name, const char* what, const char* fallback,
                              const char* example) {
    add_option(options, name, what, fallback, example);
  };
  add("input", "customer HDF5 file (group /customers)",
      "required, except in promote (the file the sweep read, unless it moved)",
      "--input customers.h5");
  add("features", "comma-separated feature names", "all numeric datasets of /customers",
      "--features recency_days,frequency,monetary");
  add("scale", "zscore | minmax | robust | none", "zscore", "--scale robust");
  add("log1p", "comma-separated features to log1p before scaling", "none",
      "--log1p monetary,frequency");
  add("method",
      "kmeans | bisecting: one k-means over every customer, or bisecting k-means, which splits "
      "one segment in two with a 2-means until k exist and writes the split tree",
      "kmeans", "--method bisecting");
  add("bisect", "with --method bisecting, the segment split next: largest-inertia | largest-size",
      "largest-inertia, as scikit-learn", "--bisect largest-size");
  add("init", "seeding: kmeans-parallel | kmeans++ | file", "kmeans-parallel", "--init kmeans++");
  add("init-centroids", "HDF5 file with /centroids (k × d, scaled space); implies --init file",
      "none", "--init-centroids seeds.h5");
  add("max-iter", "maximum Lloyd iterations", "300", "--max-iter 100");
  add("tol", "relative tolerance on the centroid shift", "1e-4", "--tol 1e-6");
  add("lloyd",
      "the Lloyd step: auto | plain | pruned; pruned skips distances bounds prove useless, with "
      "identical results",
      "auto: pruned when k >= 64 and k x d >= 2048", "--lloyd pruned");
  add("seed", "random seed", "0", "--seed 2026");
  add("silhouette-sample", "customers in the exact silhouette sample", "10000",
      "--silhouette-sample 50000");
  add("previous",
      "output directory of an earlier run: keep its segment ids, write the migration (a "
      "two-level run: at both levels)",
      "none", "--previous run-q1/");
  add_switch(options, "warm-start", "start from the --previous run's centroids", "--warm-start");
  add("value-feature", "feature that measures customer value; none: no value feature",
      "monetary or monetary_total when present", "--value-feature spend");
  add("min-segment-size", "flag segments below this many customers or this share", "none",
      "--min-segment-size 2%");
  add_switch(options, "merge-small",
             "merge segments below --min-segment-size into their nearest before the final "
             "assignment",
             "--merge-small");
  add("match-max-distance",
      "with --previous: a matched segment farther than this from its partner gets a fresh id; a "
      "multiple of the previous run's customer spread, a distance, or none",
      "2x", "--match-max-distance 1.5x");
  add("checkpoint-every",
      "write OUTPUT/checkpoint.h5 every N Lloyd iterations (a two-level run: of the macro fit, "
      "then after each macro segment's micro fit); 0: only when SIGUSR1 or SIGTERM stops the run",
      "0", "--checkpoint-every 10");
  add_switch(options, "resume",
             "continue from OUTPUT/checkpoint.h5 if it is there (else start from the beginning)",
             "--resume");
  add("macro-k",
      "a two-level run: first this many macro segments, then --k micro-segments shared out over "
      "them; 0: one level",
      "0", "--macro-k 6");
  add("micro-k-rule",
      "how --k is shared out over the macro segments: inertia (in proportion to each one's "
      "within-segment inertia) | proportional (to its customers) | sweep (per macro segment, the "
      "sweep rule's k around its inertia share; not in a sweep)",
      "inertia", "--micro-k-rule sweep");
  add("sample-weight",
      "a 1-D numeric dataset of /customers holding each customer's weight (>= 0), used in every "
      "sum as scikit-learn's sample_weight: centroids, inertia, scaling, seeding, quality and "
      "profiles; it is not a feature",
      "none: every customer weighs 1", "--sample-weight purchases");
  add_switch(options, "assignments-csv", assignments_csv_help(), "--assignments-csv");
  add_transform_options(options);
  add_publication_options(options);
}

std::string unused_model_options_help(const std::string& command) {
  const std::vector<UnusedOption> unused = unused_by(command);
  if (unused.empty()) return "";
  std::ostringstream text;
  text << "The segmentation options are shared with 'microseg segment', so one job file serves "
          "segment, sweep and promote.\n";
  if (command == "promote") {
    text << "promote uses --input, --assignments-csv, --privacy-min-count and --pseudonymise-ids "
            "from them and ignores the others (with a note): "
         << from_sweep << ".\n";
    return text.str();
  }
  for (const Use use : {Use::ignored, Use::refused}) {
    text << command << (use == Use::ignored ? " ignores (with a note):\n" : " refuses:\n");
    for (const auto& entry : unused) {
      if (entry.use != use) continue;
      text << "    --" << entry.option;
      if (*entry.refused_if) text << " " << entry.refused_if;
      text << ": " << entry.why << "\n";
    }
  }
  return text.str();
}

std::vector<std::string> check_unused_model_options(const OptionReader& options,
                                                    const std::string& command) {
  std::vector<std::string> notes;
  for (const auto& entry : unused_by(command)) {
    if (!options.has(entry.option)) continue;
    const std::string value = options.text(entry.option);
    if (entry.use == Use::refused) {
      const std::string refused_if = entry.refused_if;
      const bool matters =
          refused_if.empty() ||
          (refused_if == "true" ? switch_value(options, entry.option) : value == refused_if);
      // Another value is what the command does anyway (--method kmeans, --merge-small=false).
      if (!matters) continue;
      throw InputError(command + ": --" + entry.option +
                       (refused_if.empty() || refused_if == "true" ? "" : " " + value) +
                       " cannot be used in a " + command + ": " + entry.why);
    }
    notes.push_back(command + ": --" + entry.option + " is ignored: " + entry.why);
  }
  return notes;
}

bool read_two_level_options(const OptionReader& options, const std::string& command,
                            const std::string& kind, int& macro_k, MicroBudgetRule& micro_k_rule) {
  if (!options.has("macro-k")) {
    if (options.has("micro-k-rule")) {
      throw InputError(command + ": --micro-k-rule needs --macro-k (a two-level " + kind + ")");
    }
    return false;
  }
  macro_k = static_cast<int>(options.integer("macro-k", "0", 1, 1 << 24));
  try {
    micro_k_rule = parse_micro_budget_rule(options.text("micro-k-rule", "inertia"));
  } catch (const InputError& e) {
    throw InputError(command + ": option --micro-k-rule: " + e.what());
  }
  return true;
}

}  // namespace microseg::app
