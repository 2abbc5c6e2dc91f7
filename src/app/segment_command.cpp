#include <boost/program_options/options_description.hpp>
#include <iomanip>
#include <iostream>
#include <ostream>
#include <sstream>

#include "microseg/app/model_options.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/progress_printer.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description segment_options() {
  boost::program_options::options_description options("microseg segment options");
  add_option(options, "output", "output directory", "required", "--output run/");
  add_option(options, "k", "number of segments",
             "required, or with --warm-start the previous run's k", "--k 12");
  add_option(options, "restarts", "seedings + fits to run; the lowest inertia wins", "1",
             "--restarts 5");
  boost::program_options::options_description model(
      "segmentation options (the same for segment, sweep and promote)");
  add_model_options(model);
  options.add(model);
  return options;
}

// One row of a profile table: stable id, size, share, priority and the description; a segment
// below --privacy-min-count shows "<N" and the reason only, as profiles.csv does.
void print_profile_row(std::ostream& log, const pipeline::SegmentResult& result, int s,
                       const PublicationRules& rules) {
  const SegmentProfiles& profiles = result.profiles;
  const ActionableProfiles& actionable = result.actionable;
  log << std::setw(7) << result.identity.ids[s] << std::setw(10)
      << rules.count_text(profiles.size[s]);
  if (rules.hides(profiles.size[s])) {
    log << "       -         -  (suppressed: " << rules.reason() << ")\n";
    return;
  }
  log << std::setw(7) << std::fixed << std::setprecision(1) << 100 * profiles.share[s] << "%"
      << std::setw(10) << actionable.priority.rank[s] << "  " << actionable.description[s]
      << (actionable.undersized[s] ? "  [below --min-segment-size]" : "") << "\n"
      << std::defaultfloat << std::setprecision(6);
}

constexpr const char* table_header =
    "segment      size   share  priority  most distinctive features (lift in population σ)\n";

// A short profile table for the log.
void print_profile_table(std::ostream& log, const pipeline::SegmentResult& result,
                         const PublicationRules& rules) {
  log << '\n' << table_header;
  for (int s = 0; s < result.profiles.k; ++s) print_profile_row(log, result, s, rules);
}

// A two-level run's table: each macro segment with its share and description, then its
// micro-segments.
void print_grouped_profile_table(std::ostream& log, const pipeline::SegmentResult& result,
                                 const PublicationRules& rules) {
  const pipeline::MacroLevelResult& macro = *result.macro;
  const SegmentProfiles& micro = result.profiles;
  log << "\nmacro quality: inertia " << std::setprecision(10) << macro.quality.inertia
      << std::setprecision(6) << ", Calinski-Harabasz " << macro.quality.calinski_harabasz
      << ", Davies-Bouldin " << macro.quality.davies_bouldin << ", silhouette (sample of "
      << macro.quality.silhouette_sample_size << ") " << macro.quality.silhouette_sampled << "\n";
  for (int m = 0; m < macro.profiles.k; ++m) {
    int count = 0;
    for (int row : macro.macro_of_segment) count += row == m;
    log << "\nmacro segment " << macro.identity.ids[m] << ": "
        << rules.count_text(macro.profiles.size[m]) << " customers";
    if (rules.hides(macro.profiles.size[m])) {
      log << " (suppressed: " << rules.reason() << "), " << count << " micro-segments\n";
    } else {
      log << " (" << std::fixed << std::setprecision(1) << 100 * macro.profiles.share[m] << "%), "
          << count << " micro-segments; " << macro.description[m] << std::defaultfloat
          << std::setprecision(6) << "\n";
    }
    log << table_header;
    for (int s = 0; s < micro.k; ++s) {
      if (macro.macro_of_segment[s] == m) print_profile_row(log, result, s, rules);
    }
  }
}

// "3,5,8", or "none".
std::string id_list(const std::vector<std::int64_t>& ids) {
  std::string text;
  for (std::int64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text.empty() ? std::string("none") : text;
}

// Both runs two-level: the macro level's ids and migration, and the micro moves by kind (counts
// "<N" below --privacy-min-count, as in print_migration).
void print_macro_migration(std::ostream& log, const pipeline::PreviousMacroSummary& macro,
                           const MigrationStability& micro, const PublicationRules& rules) {
  const SegmentMatch& match = macro.match;
  const MigrationStability& s = macro.migration.stability;
  log << "macro level (previous macro-k = " << macro.macro_k
      << "): " << match.identity.ids.size() - match.fresh_ids.size()
      << " macro segments keep their ids, fresh ids " << id_list(match.fresh_ids)
      << ", retired ids " << id_list(match.retired_now) << "; " << rules.count_text(s.stayed)
      << " customers stayed in their macro segment, " << rules.count_text(s.moved)
      << " moved; adjusted Rand " << std::fixed << std::setprecision(4) << s.adjusted_rand_index
      << std::defaultfloat << std::setprecision(6) << "\n"
      << "micro moves: " << rules.count_text(micro.moved_within_macro)
      << " inside their macro segment, " << rules.count_text(micro.moved_across_macro)
      << " across macro segments\n";
}

// The whole-run counts of customers show "<N" below --privacy-min-count, as the CSV cells do.
void print_migration(std::ostream& log, const pipeline::PreviousRunSummary& previous,
                     const PublicationRules& rules) {
  const SegmentMatch& match = previous.match;
  const MigrationReport& migration = previous.migration;
  const MigrationStability& s = migration.stability;
  log << "\nprevious run " << previous.directory << " (k = " << previous.k
      << "): " << match.identity.ids.size() - match.fresh_ids.size()
      << " segments keep their ids, fresh ids " << id_list(match.fresh_ids) << ", retired ids "
      << id_list(match.retired_now) << " (" << match.too_far.size()
      << " of them matched beyond the cut-off " << match.max_distance << ")\n"
      << "migration: " << rules.count_text(s.common) << " customers in both runs, "
      << rules.count_text(s.joined) << " new, " << rules.count_text(s.left) << " lost; "
      << std::fixed << std::setprecision(1) << 100 * s.share_stayed << "% stayed, "
      << rules.count_text(s.moved) << " moved (" << rules.count_text(s.at_risk)
      << " to a lower-value segment); adjusted Rand " << std::setprecision(4)
      << s.adjusted_rand_index << ", adjusted mutual information " << s.adjusted_mutual_information
      << std::defaultfloat << std::setprecision(6) << "\n";
  if (previous.macro) print_macro_migration(log, *previous.macro, s, rules);
}

// --macro-k and --micro-k-rule, and what a two-level run does not combine with (yet).
void parse_two_level_options(const OptionReader& options, SegmentPlan& config) {
  if (!read_two_level_options(options, "segment", "run", config.macro_k, config.micro_k_rule)) {
    return;
  }
  if (config.k < config.macro_k) {
    throw InputError("segment: --k " + std::to_string(config.k) +
                     " micro-segments cannot be shared out over --macro-k " +
                     std::to_string(config.macro_k) + " macro segments (each needs at least one)");
  }
  const struct {
    bool given;
    const char* option;
    const char* why;
  } excluded[] = {
      {config.warm_start, "--warm-start", "a two-level run draws its own seeds at both levels"},
      {config.init == InitKind::file, "--init-centroids",
       "a two-level run draws its own seeds at both levels"},
      {config.merge_small, "--merge-small", "small segments are merged in one-level runs only"},
      {config.method == FitMethod::bisecting, "--method bisecting",
       "a two-level run fits k-means at both levels"}};
  for (const auto& rule : excluded) {
    if (rule.given) {
      throw InputError(std::string("segment: ") + rule.option + " cannot be combined with " +
                       "--macro-k in this version: " + rule.why);
    }
  }
}

// --sample-weight, and what a weighted run does not support in this version, with why.
void parse_sample_weight_option(const OptionReader& options, SegmentPlan& config) {
  if (!options.has("sample-weight")) return;
  config.sample_weight = options.text("sample-weight");
  if (config.sample_weight.empty()) {
    invalid_option_value("sample-weight", "", "the name of a dataset of /customers");
  }
  const char* const quantiles = "weighted quantiles are not implemented";
  const struct {
    bool given;
    const char* option;
    const char* why;
  } excluded[] = {
      {config.macro_k > 0, "--macro-k", "two-level runs are not weighted yet"},
      {config.method == FitMethod::bisecting, "--method bisecting",
       "bisecting runs are not weighted yet"},
      {config.merge_small, "--merge-small",
       "merging compares segment sizes in customers, not in weight"},
      {config.scale == ScaleKind::robust, "--scale robust", quantiles},
      {!config.transform.clip_quantiles.empty(), "--clip-quantiles", quantiles},
      {config.transform.missing == MissingPolicy::median, "--missing median", quantiles}};
  for (const auto& rule : excluded) {
    if (rule.given) {
      throw InputError(std::string("segment: --sample-weight cannot be combined with ") +
                       rule.option + " in this version: " + rule.why);
    }
  }
}

void print_result(std::ostream& log, const pipeline::SegmentResult& result,
                  const PublicationRules& rules) {
  const QualityReport& q = result.quality;
  log << (result.macro ? "macro fit " : "")
      << (result.model.converged ? "converged" : "stopped at --max-iter") << " after "
      << result.model.iterations << " iterations"
      << (result.macro ? " (the micro fits: the lines above)" : "") << "\n"
      << "quality: inertia " << std::setprecision(10) << q.inertia << std::setprecision(6)
      << ", Calinski-Harabasz " << q.calinski_harabasz << ", Davies-Bouldin " << q.davies_bouldin
      << ", silhouette (simplified) " << q.silhouette_simplified << ", silhouette (sample of "
      << q.silhouette_sample_size << ") " << q.silhouette_sampled << "\n";
  if (result.macro) {
    print_grouped_profile_table(log, result, rules);
  } else {
    print_profile_table(log, result, rules);
  }
  if (result.previous) print_migration(log, *result.previous, rules);
  log << "\nseconds: ";
  for (const auto& [name, value] : result.timings) {
    log << name.substr(8) << " " << std::fixed << std::setprecision(3) << std::get<double>(value)
        << "  ";
  }
  log << "write " << result.seconds_write << std::defaultfloat << std::setprecision(6) << "\n"
      << "outputs: ";
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    log << (i ? ", " : "") << result.outputs[i];
  }
  log << "\n";
}

// --method and --bisect, and the options a bisecting fit has no use for.
void parse_method_options(const OptionReader& options, SegmentPlan& config) {
  try {
    config.method = parse_fit_method(options.text("method", "kmeans"));
    config.bisect = parse_bisect_strategy(options.text("bisect", "largest-inertia"));
  } catch (const InputError& e) {
    throw InputError(std::string("segment: ") + e.what());
  }
  if (config.method != FitMethod::bisecting) {
    if (options.has("bisect")) {
      throw InputError(
          "segment: --bisect chooses the segment a bisecting fit splits next; it "
          "needs --method bisecting");
    }
    return;
  }
  const auto refuse = [](const std::string& option, const std::string& why) {
    throw InputError("segment: --method bisecting cannot be combined with " + option + ": " + why);
  };
  if (config.warm_start) {
    refuse("--warm-start",
           "a bisecting fit grows its segments from one by splitting, it does not "
           "start from centroids (--previous alone keeps the previous ids)");
  }
  if (config.init == InitKind::file) {
    refuse("--init-centroids",
           "each split seeds its own 2-means; choose how with --init "
           "kmeans-parallel or kmeans++");
  }
  if (config.merge_small) {
    refuse("--merge-small",
           "merging after the fit would make the segments no longer the leaves "
           "of the split tree; ask for a smaller --k instead");
  }
  if (config.checkpoint_every > 0 || config.resume) {
    refuse(config.resume ? "--resume" : "--checkpoint-every",
           "bisecting runs keep no checkpoint; a stopped run starts over");
  }
}

}  // namespace

std::string segment_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg segment --input customers.h5 --k K --output DIR"
          " [--config job.ini] [options]\n\n"
       << segment_options() << "\n"
       << common_options();
  return text.str();
}

SegmentPlan parse_segment_options(const std::vector<std::string>& arguments) {
  const OptionReader options("segment", segment_options(), arguments);
  SegmentPlan config;
  config.input = options.required("input");
  config.output = options.required("output");
  config.job_file = options.job_file();
  config.previous = options.text("previous");
  config.warm_start = switch_value(options, "warm-start");
  config.assignments_csv = switch_value(options, "assignments-csv");
  config.publication = parse_publication_options(options);
  if (config.warm_start && config.previous.empty()) {
    throw InputError("segment: --warm-start needs --previous DIR (the run to start from)");
  }
  // With --warm-start, k defaults to the previous run's, which only the run can tell.
  if (!config.warm_start || options.has("k")) {
    config.k = static_cast<int>(options.integer("k", options.required("k"), 1, 1 << 24));
  }
  config.features = options.list("features");
  try {
    config.scale = parse_scale_kind(options.text("scale", "zscore"));
    config.init = parse_init_kind(options.text("init", "kmeans-parallel"));
    config.lloyd_step = parse_lloyd_step(options.text("lloyd", "auto"));
  } catch (const InputError& e) {
    throw InputError(std::string("segment: ") + e.what());
  }
  config.log1p_features = options.list("log1p");
  config.init_centroids = options.text("init-centroids");
  if (config.init == InitKind::file && config.init_centroids.empty()) {
    throw InputError("segment: --init file needs --init-centroids FILE");
  }
  if (!config.init_centroids.empty()) config.init = InitKind::file;  // giving the file asks for it
  config.max_iterations = static_cast<int>(options.integer("max-iter", "300", 1, 1 << 30));
  config.tolerance = options.real("tol", "1e-4", 0.0);
  config.seed = options.seed("seed", "0");
  config.restarts = static_cast<int>(options.integer("restarts", "1", 1, 1000));
  config.silhouette_sample =
      options.integer("silhouette-sample", "10000", 0, std::int64_t{1} << 40);
  if (config.warm_start && (options.has("init") || options.has("init-centroids"))) {
    throw InputError(
        "segment: --warm-start starts from the previous run's centroids; it cannot be "
        "combined with --init or --init-centroids");
  }
  config.value_feature = options.text("value-feature");
  config.min_segment_size = parse_minimum_segment_size(options.text("min-segment-size"));
  config.merge_small = switch_value(options, "merge-small");
  config.transform = parse_transform_options(options);
  if (config.merge_small && config.min_segment_size.kind == MinimumSegmentSize::Kind::none) {
    throw InputError("segment: --merge-small needs --min-segment-size (a count or a share)");
  }
  config.match_cutoff = parse_match_cutoff(options.text("match-max-distance"));
  config.checkpoint_every = static_cast<int>(options.integer("checkpoint-every", "0", 0, 1 << 30));
  config.resume = switch_value(options, "resume");
  parse_method_options(options, config);
  parse_two_level_options(options, config);
  parse_sample_weight_option(options, config);
  config.recorded_options =
      options.recorded({"input", "previous", "init-centroids", "pseudonymise-ids"});
  return config;
}

void segment_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments) {
  const SegmentPlan plan =
      pipeline::plan_on_root<SegmentPlan>(comm, [&] { return parse_segment_options(arguments); });
  ProgressPrinter printer(comm.is_root(), std::cout);
  pipeline::SegmentProgress progress;
  progress.read = [&](const pipeline::SegmentReadSummary& read) {
    std::ostringstream log;
    log << "microseg segment: " << read.customers << " customers × " << read.features
        << " features from " << plan.input << " on " << read.ranks << " ranks, k = " << read.k
        << "\n"
        << read_rate_line(read.bytes_read, read.seconds_read);
    if (read.dropping) {
      log << "\ndropped " << read.dropped << " customers with missing values (--missing drop)";
    }
    if (!read.sample_weight.empty()) {
      log << "\ncustomers weighted by '" << read.sample_weight << "' (total weight "
          << std::setprecision(10) << read.total_weight << std::setprecision(6)
          << "): shares, means, inertia and quality are weighted; sizes count customers";
    }
    printer.note(log.str());
  };
  progress.seeding_round = [&](int restart, const distributed::SeedingRound& round) {
    std::ostringstream log;
    if (plan.restarts > 1) log << "restart " << restart << "  ";
    log << "seeding: k-means|| round " << round.round << " of " << round.rounds << ", "
        << round.candidates << " candidates  " << std::fixed << std::setprecision(3)
        << round.seconds << " s";
    printer.tick("seeding " + std::to_string(restart), log.str());
  };
  progress.iteration = [&](int restart, const distributed::IterationReport& r) {
    std::ostringstream log;
    if (plan.restarts > 1) log << "restart " << restart << "  ";
    log << "iteration " << std::setw(4) << r.iteration << "  inertia " << std::setprecision(10)
        << r.inertia << "  relative shift " << std::setprecision(3) << r.relative_shift
        << "  reassigned " << r.reassigned << "  " << std::fixed << std::setprecision(3)
        << r.seconds << " s";
    printer.tick("iterations " + std::to_string(restart), log.str());
  };
  progress.note = [&](const std::string& line) { printer.note(line); };
  progress.phase_started = [&](const std::string& phase) { printer.tick(phase, phase + " …"); };
  progress.phase_finished = [&](const std::string& phase, double seconds) {
    printer.detail(phase_seconds_line(phase, seconds));
  };
  // A bare number is a distance, not a multiple of the spread as the default 2x is: say which.
  if (!plan.previous.empty() && plan.match_cutoff.kind == MatchCutoff::Kind::absolute) {
    printer.note("note: --match-max-distance " + plan.match_cutoff.text() +
                 " is an absolute distance in the previous run's scaled space; write " +
                 plan.match_cutoff.text() + "x for that many times its customer spread");
  }
  const pipeline::SegmentResult result = pipeline::segment(comm, plan, progress);
  PublicationRules rules;  // the printed table follows the shared CSV files' rules
  rules.min_count = plan.publication.min_count;
  print_result(printer.summary(), result, rules);
}

}  // namespace microseg::app
