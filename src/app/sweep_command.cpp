#include <algorithm>
#include <boost/program_options/options_description.hpp>
#include <charconv>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/model_options.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/progress_printer.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {
namespace fs = std::filesystem;
namespace po = boost::program_options;

po::options_description sweep_options() {
  po::options_description options("microseg sweep options");
  const auto add = [&options](const char* name, const char* what, const char* fallback,
                              const char* example) {
    add_option(options, name, what, fallback, example);
  };
  add("output", "output directory: sweep.csv, sweep.h5 and models/k-NNNN.h5", "required",
      "--output sweep/");
  add("k", "k values: FIRST:LAST[:STEP] (inclusive) or K1,K2,...; each at least 2", "required",
      "--k 2:30");
  add("restarts",
      "fits per k with different seeds; the lowest inertia is kept and the agreement between "
      "the fits is the k's stability",
      "3", "--restarts 5");
  add("task",
      "I/T: fit only share I (0-based) of T of the k values, as one task of a Slurm job array; "
      "'microseg sweep-merge' joins the shares",
      "0/1, every k", "--task 2/8");
  po::options_description model("segmentation options (the same for segment, sweep and promote)");
  add_model_options(model);
  options.add(model);
  return options;
}

po::options_description promote_options() {
  po::options_description options("microseg promote options");
  add_option(options, "sweep", "a finished sweep's directory (or one holding k's model)",
             "required", "--sweep sweep/");
  add_option(options, "k", "the k to promote", "the sweep's recommended k", "--k 12");
  add_option(options, "output", "output directory of the run", "required", "--output run/");
  add_option(options, "restarts", "ignored: the model is the sweep's best restart", "the sweep's",
             "--restarts 3");
  po::options_description model("segmentation options (the same for segment, sweep and promote)");
  add_model_options(model);
  options.add(model);
  return options;
}

void print_table(std::ostream& log, const std::vector<SweepRow>& rows, std::int64_t macro_k) {
  if (macro_k > 0) {
    log << "\ntwo-level sweep, --macro-k " << macro_k
        << ": k is the micro budget; every measure is of the micro level over all customers\n";
  }
  log << "\n     k         inertia  Calinski-H.  Davies-B.  silhouette  (simplified)   smallest"
         "   share  stability\n";
  for (const SweepRow& r : rows) {
    log << std::setw(6) << r.k << std::setw(16) << std::setprecision(10) << r.inertia
        << std::setw(13) << std::setprecision(6) << r.calinski_harabasz << std::setw(11)
        << std::setprecision(4) << r.davies_bouldin << std::setw(12) << r.silhouette_sampled
        << std::setw(14) << r.silhouette_simplified << std::setw(11) << r.min_segment_size
        << std::setw(7) << std::fixed << std::setprecision(1) << 100 * r.min_segment_share << "%"
        << std::setw(11) << std::setprecision(3) << r.stability << std::defaultfloat
        << std::setprecision(6) << "\n";
  }
}

void print_start(std::ostream& log, const SweepPlan& plan, const pipeline::SweepStart& start) {
  log << "microseg sweep: " << start.customers << " customers × " << start.features
      << " features from " << plan.input << " on " << start.ranks << " ranks; k = ";
  for (std::size_t i = 0; i < plan.ks.size(); ++i) log << (i ? "," : "") << plan.ks[i];
  if (plan.tasks > 1) log << " (task " << plan.task << " of " << plan.tasks << ")";
  log << ", " << plan.restarts << (plan.restarts == 1 ? " fit" : " restarts") << " each";
  if (plan.macro_k > 0) {
    log << "; two-level: " << plan.macro_k << " macro segments, each k shared out by "
        << to_string(plan.micro_k_rule);
  }
  log << "\n";  // the read rate follows on the next line
}

void print_finished(std::ostream& log, const io::SweepModel& model) {
  const SweepRow& r = model.row;
  log << "k = " << r.k << ": inertia " << std::setprecision(10) << r.inertia << std::setprecision(6)
      << ", Calinski-Harabasz " << r.calinski_harabasz << ", Davies-Bouldin " << r.davies_bouldin
      << ", silhouette " << r.silhouette_sampled << " (simplified " << r.silhouette_simplified
      << "), smallest segment " << r.min_segment_size << " (" << std::fixed << std::setprecision(2)
      << 100 * r.min_segment_share << "%), stability " << std::setprecision(3) << r.stability
      << ", " << std::setprecision(2) << model.seconds << " s" << std::defaultfloat
      << std::setprecision(6);
}

void print_summary(std::ostream& log, const SweepPlan& plan, const pipeline::SweepResult& result) {
  print_table(log, result.table.rows, result.table.macro_k);
  const KRecommendation& r = result.table.recommendation;
  log << "\nrecommended: " << r.reason << "\n";
  if (r.runner_up_k > 0) log << "runner-up: " << r.runner_up_reason << "\n";
  const fs::path out(plan.output);
  log << "rule: " << result.table.rule << "\n\n"
      << "outputs: " << (out / "sweep.csv").string() << ", " << (out / "sweep.h5").string() << ", "
      << (out / "models").string() << "/ (" << std::fixed << std::setprecision(1) << result.seconds
      << " s)" << std::defaultfloat << std::setprecision(6) << "\n"
      << "promote a k with: microseg promote --sweep " << plan.output << " --k K --output RUN\n";
}

// --macro-k and --micro-k-rule: every k of the list must give each macro segment at least one.
void parse_two_level_sweep(const OptionReader& options, SweepPlan& config,
                           const std::vector<int>& all_ks) {
  if (!read_two_level_options(options, "sweep", "sweep", config.macro_k, config.micro_k_rule)) {
    return;
  }
  if (config.micro_k_rule == MicroBudgetRule::sweep) {
    throw InputError(
        "sweep: --micro-k-rule sweep cannot be used in a sweep: it chooses each macro segment's "
        "micro k itself, so a row's total would not be its k; use inertia or proportional");
  }
  if (all_ks.front() < config.macro_k) {
    throw InputError("sweep: --k holds k = " + std::to_string(all_ks.front()) +
                     ", fewer micro-segments than --macro-k " + std::to_string(config.macro_k) +
                     " macro segments (each needs at least one)");
  }
}

}  // namespace

std::vector<int> parse_k_values(const std::string& text) {
  const auto fail = [&](const std::string& why) -> InputError {
    return InputError("option --k: '" + text + "' " + why);
  };
  const auto integer = [&](std::string part) {
    const auto first = part.find_first_not_of(" \t");
    const auto last = part.find_last_not_of(" \t");
    part = first == std::string::npos ? "" : part.substr(first, last - first + 1);
    long long value = 0;
    const auto result = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || result.ec != std::errc() || result.ptr != part.data() + part.size()) {
      throw fail(
          "is not a list of k: expected FIRST:LAST, FIRST:LAST:STEP or K1,K2,... of "
          "whole numbers");
    }
    return value;
  };
  constexpr long long largest_k = 1 << 24;
  constexpr long long most_values = 100000;
  std::vector<long long> values;
  if (text.find(':') != std::string::npos) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, ':');) parts.push_back(part);
    if (text.back() == ':' || parts.size() < 2 || parts.size() > 3) {
      throw fail("is not a range: expected FIRST:LAST or FIRST:LAST:STEP");
    }
    const long long first = integer(parts[0]), last = integer(parts[1]);
    const long long step = parts.size() == 3 ? integer(parts[2]) : 1;
    if (step < 1) throw fail("has a step below 1");
    if (last < first) {
      throw fail("is an empty or inverted range: the last k is below the first");
    }
    if (first < 2) throw fail("starts below k = 2 (a sweep compares two or more segments)");
    if (last > largest_k) throw fail("goes beyond k = " + std::to_string(largest_k));
    if ((last - first) / step + 1 > most_values) {
      throw fail("has more than " + std::to_string(most_values) + " values");
    }
    for (long long k = first; k <= last; k += step) values.push_back(k);
  } else {
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, ',');) values.push_back(integer(part));
    if (text.empty() || text.back() == ',') throw fail("has an empty item");
    if (values.size() > static_cast<std::size_t>(most_values)) {
      throw fail("has more than " + std::to_string(most_values) + " values");
    }
    for (long long k : values) {
      if (k < 2) {
        throw fail("holds k = " + std::to_string(k) +
                   "; every k must be at least 2 (a sweep compares two or more segments)");
      }
      if (k > largest_k)
        throw fail("holds k = " + std::to_string(k) + ", above " + std::to_string(largest_k));
    }
    std::sort(values.begin(), values.end());
    const auto repeated = std::adjacent_find(values.begin(), values.end());
    if (repeated != values.end()) throw fail("names k = " + std::to_string(*repeated) + " twice");
  }
  return std::vector<int>(values.begin(), values.end());
}

std::vector<int> task_share(const std::vector<int>& ks, int task, int tasks) {
  if (tasks < 1 || task < 0 || task >= tasks) {
    throw InputError("option --task: task " + std::to_string(task) + " of " +
                     std::to_string(tasks) + " does not exist (expected I/T with 0 <= I < T)");
  }
  if (static_cast<std::size_t>(tasks) > ks.size()) {
    throw InputError("option --task: " + std::to_string(tasks) + " tasks for " +
                     std::to_string(ks.size()) + " values of k would leave tasks without a k");
  }
  std::vector<int> share;
  for (std::size_t i = static_cast<std::size_t>(task); i < ks.size();
       i += static_cast<std::size_t>(tasks)) {
    share.push_back(ks[i]);
  }
  return share;
}

std::string sweep_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg sweep --input customers.h5 --k 2:64[:STEP] | --k 5,10,20"
          " [--restarts R] --output DIR [--config job.ini] [options]\n\n"
       << sweep_options() << "\n"
       << common_options() << "\n"
       << unused_model_options_help("sweep")
       << "\nA sweep killed midway and run again with the same options fits only the k it had not "
          "finished.\nPromote one k to a full run with 'microseg promote --sweep DIR --k K "
          "--output RUN'.\n";
  return text.str();
}

SweepPlan parse_sweep_options(const std::vector<std::string>& arguments) {
  const OptionReader options("sweep", sweep_options(), arguments);
  // Parsed on rank 0 only (plan_on_root); a note, so --quiet hides it.
  ProgressPrinter printer(true, std::cout);
  for (const auto& note : check_unused_model_options(options, "sweep")) printer.note(note);
  SweepPlan config;
  config.input = options.required("input");
  config.output = options.required("output");
  config.job_file = options.job_file();
  config.k_text = options.required("k");
  const std::vector<int> all_ks = parse_k_values(config.k_text);
  if (options.has("task")) {
    const std::string task = options.text("task");
    const auto slash = task.find('/');
    int index = -1, count = -1;
    if (slash != std::string::npos) {
      const auto a = std::from_chars(task.data(), task.data() + slash, index);
      const auto b = std::from_chars(task.data() + slash + 1, task.data() + task.size(), count);
      if (a.ptr != task.data() + slash || b.ptr != task.data() + task.size() ||
          a.ec != std::errc() || b.ec != std::errc()) {
        index = count = -1;
      }
    }
    if (index < 0 || count < 1) invalid_option_value("task", task, "I/T with 0 <= I < T");
    config.task = index;
    config.tasks = count;
  }
  config.ks = task_share(all_ks, config.task, config.tasks);
  config.restarts = static_cast<int>(options.integer("restarts", "3", 1, 1000));
  config.features = options.list("features");
  try {
    config.scale = parse_scale_kind(options.text("scale", "zscore"));
    config.init = parse_init_kind(options.text("init", "kmeans-parallel"));
    config.lloyd_step = parse_lloyd_step(options.text("lloyd", "auto"));
  } catch (const InputError& e) {
    throw InputError(std::string("sweep: ") + e.what());
  }
  if (config.init == InitKind::file) {
    throw InputError(
        "sweep: --init file is not possible in a sweep (centroids from a file fix k);"
        " use kmeans-parallel or kmeans++");
  }
  config.log1p_features = options.list("log1p");
  config.max_iterations = static_cast<int>(options.integer("max-iter", "300", 1, 1 << 30));
  config.tolerance = options.real("tol", "1e-4", 0.0);
  config.seed = options.seed("seed", "0");
  config.silhouette_sample =
      options.integer("silhouette-sample", "10000", 0, std::int64_t{1} << 40);
  config.transform = parse_transform_options(options);
  parse_two_level_sweep(options, config, all_ks);
  config.recorded_options = options.recorded({"input"});
  return config;
}

void sweep_command(const distributed::Communicator& comm,
                   const std::vector<std::string>& arguments) {
  const SweepPlan plan =
      pipeline::plan_on_root<SweepPlan>(comm, [&] { return parse_sweep_options(arguments); });
  ProgressPrinter printer(comm.is_root(), std::cout);
  pipeline::SweepProgress progress;
  progress.start = [&](const pipeline::SweepStart& start) {
    std::ostringstream log;
    print_start(log, plan, start);
    printer.note(log.str() + read_rate_line(start.bytes_read, start.seconds_read));
  };
  progress.kept = [&](int k, const std::string& path) {
    printer.note("k = " + std::to_string(k) + ": finished earlier, kept (" + path + ")");
  };
  progress.restart = [&](int k, int restart, const LloydOutcome& outcome, double seconds) {
    std::ostringstream log;
    log << "k = " << k << "  restart " << restart << ": " << outcome.iterations
        << (outcome.converged ? " iterations, converged" : " iterations, stopped at --max-iter")
        << ", inertia " << std::setprecision(10) << outcome.inertia << std::setprecision(6) << ", "
        << std::fixed << std::setprecision(2) << seconds << " s";
    printer.tick("k = " + std::to_string(k), log.str());
  };
  progress.finished = [&](const io::SweepModel& model) {
    std::ostringstream log;
    print_finished(log, model);
    printer.note(log.str());
  };
  progress.note = [&](const std::string& line) { printer.note(line); };
  const pipeline::SweepResult result = pipeline::sweep(comm, plan, progress);
  print_summary(printer.summary(), plan, result);
}

std::string promote_usage() {
  std::ostringstream text;
  text
      << "usage: mpiexec -n P microseg promote --sweep DIR [--k K] --output RUN [--input FILE]\n\n"
         "Writes RUN/segments.h5, profiles.csv and quality.csv for one k of a sweep from its saved "
         "model,\nwithout refitting: the same outputs as 'microseg segment' with the sweep's "
         "options, --k K\nand --restarts R (and --macro-k M --micro-k-rule RULE for a two-level "
         "sweep).\n\n"
      << promote_options() << "\n"
      << common_options() << "\n"
      << unused_model_options_help("promote");
  return text.str();
}

PromotePlan parse_promote_options(const std::vector<std::string>& arguments) {
  const OptionReader options("promote", promote_options(), arguments);
  ProgressPrinter printer(true, std::cout);  // rank 0 only, as above
  for (const auto& note : check_unused_model_options(options, "promote")) printer.note(note);
  PromotePlan config;
  config.sweep = options.required("sweep");
  config.output = options.required("output");
  config.k = options.has("k") ? static_cast<int>(options.integer("k", "0", 1, 1 << 24)) : 0;
  config.input = options.text("input");
  config.recorded_options = options.recorded({"sweep", "input", "pseudonymise-ids"});
  config.assignments_csv = switch_value(options, "assignments-csv");
  config.publication = parse_publication_options(options);
  return config;
}

void promote_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments) {
  const PromotePlan plan =
      pipeline::plan_on_root<PromotePlan>(comm, [&] { return parse_promote_options(arguments); });
  const pipeline::PromoteResult result = pipeline::promote(comm, plan);
  if (!comm.is_root()) return;
  const QualityReport& q = result.quality;
  std::cout << "microseg promote: k = " << result.k << " from " << result.model_path
            << " (no refit), " << result.customers << " customers on " << comm.size() << " ranks\n"
            << "quality: inertia " << std::setprecision(10) << q.inertia << std::setprecision(6)
            << ", Calinski-Harabasz " << q.calinski_harabasz << ", Davies-Bouldin "
            << q.davies_bouldin << ", silhouette (simplified) " << q.silhouette_simplified
            << ", silhouette (sample of " << q.silhouette_sample_size << ") "
            << q.silhouette_sampled << "\n"
            << "outputs: ";
  for (std::size_t i = 0; i + 1 < result.outputs.size(); ++i) {  // the manifest is last
    std::cout << (i ? ", " : "") << result.outputs[i];
  }
  std::cout << " (" << std::fixed << std::setprecision(1) << result.seconds << " s)"
            << std::defaultfloat << std::setprecision(6) << "\n";
}

}  // namespace microseg::app
