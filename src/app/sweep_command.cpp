#include <algorithm>
#include <boost/program_options/options_description.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include "microseg/app/customer_input.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/provenance.hpp"
#include "microseg/app/run_summary.hpp"
#include "microseg/app/stop_signal.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/core/assignment.hpp"
#include "microseg/core/k_selection.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/core/partition_agreement.hpp"
#include "microseg/core/random.hpp"
#include "microseg/distributed/partition_measures.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/io/sweep_file.hpp"

namespace microseg::app {
namespace {
namespace fs = std::filesystem;
namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

// SIGUSR1 or SIGTERM (Slurm's time-limit and preemption signals) stop a fit at the next
// iteration the ranks agree on. A sweep keeps no checkpoint inside a k: the k values already
// finished are saved models, and the rerun fits only the others.
distributed::FitControl stop_on_signal() {
  distributed::FitControl control;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  return control;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

po::options_description sweep_options() {
  po::options_description options("microseg sweep options");
  options.add_options()                                                          //
      ("input", po::value<std::string>(), "input HDF5 file (group /customers)")  //
      ("output", po::value<std::string>(),
       "output directory: sweep.csv, sweep.h5 and models/k-NNNN.h5")  //
      ("k", po::value<std::string>(),
       "k values: FIRST:LAST[:STEP] (inclusive) or K1,K2,...; each at least 2")  //
      ("restarts", po::value<std::string>(),
       "fits per k with different seeds; the lowest inertia is kept and the agreement between "
       "the fits is the k's stability (default 3)")  //
      ("task", po::value<std::string>(),
       "I/T: fit only share I (0-based) of T of the k values, as one task of a Slurm job array; "
       "'microseg sweep-merge' joins the shares")                                               //
      ("features", po::value<std::string>(), "comma-separated features (default: all)")         //
      ("scale", po::value<std::string>(), "zscore|minmax|none (default zscore)")                //
      ("log1p", po::value<std::string>(), "comma-separated features to log1p before scaling")   //
      ("init", po::value<std::string>(), "kmeans-parallel|kmeans++ (default kmeans-parallel)")  //
      ("max-iter", po::value<std::string>(), "maximum Lloyd iterations per fit (default 300)")  //
      ("tol", po::value<std::string>(),
       "relative tolerance on the centroid shift (default 1e-4)")    //
      ("seed", po::value<std::string>(), "random seed (default 0)")  //
      ("silhouette-sample", po::value<std::string>(),
       "customers in the exact silhouette sample, stratified by segment (default 10000)");
  add_transform_options(options);
  return options;
}

po::options_description promote_options() {
  po::options_description options("microseg promote options");
  options.add_options()  //
      ("sweep", po::value<std::string>(),
       "a finished sweep's directory (or one holding k's model)")                               //
      ("k", po::value<std::string>(), "the k to promote (default: the sweep's recommended k)")  //
      ("output", po::value<std::string>(), "output directory of the run")                       //
      ("input", po::value<std::string>(),
       "the customer table, if it moved since the sweep (default: the one the sweep read)");
  return options;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

std::string value_text(const AttributeValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return "'" + *text + "'";
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return std::to_string(*integer);
  return round_trip_text(std::get<double>(value));
}

// What makes two fits of the same k comparable: the data, the features and every fitting option.
RunAttributes sweep_settings(const SweepConfig& config, const InspectedInput& input) {
  std::vector<std::string> log1p;
  for (std::size_t j = 0; j < input.feature_names.size(); ++j) {
    if (input.log1p[j]) log1p.push_back(input.feature_names[j]);
  }
  RunAttributes settings;
  settings.emplace_back("input", fs::absolute(config.input).lexically_normal().string());
  settings.emplace_back("customers", input.schema.rows);
  settings.emplace_back("features", join(input.feature_names));
  settings.emplace_back("scale", to_string(config.scale));
  settings.emplace_back("log1p", join(log1p));
  settings.emplace_back("init", to_string(config.init));
  settings.emplace_back("max_iter", static_cast<std::int64_t>(config.max_iterations));
  settings.emplace_back("tol", config.tolerance);
  settings.emplace_back("seed", static_cast<std::int64_t>(config.seed));
  settings.emplace_back("restarts", static_cast<std::int64_t>(config.restarts));
  settings.emplace_back("silhouette_sample", config.silhouette_sample);
  // The transform beyond log1p and scaling; promote rebuilds it from these.
  settings.emplace_back("sources", join(input.plan.sources));
  settings.emplace_back("missing", to_string(config.transform.missing));
  settings.emplace_back("one_hot", join(config.transform.one_hot));
  settings.emplace_back("weights", join(config.transform.weights));
  std::string clip;
  for (double level : config.transform.clip_quantiles) {
    clip += (clip.empty() ? "" : ",") + value_text(level);
  }
  settings.emplace_back("clip_quantiles", clip);
  return settings;
}

template <class T>
T setting(const RunAttributes& settings, const std::string& name, const std::string& file) {
  for (const auto& [key, value] : settings) {
    if (key == name && std::holds_alternative<T>(value)) return std::get<T>(value);
  }
  throw InputError("'" + file + "': /settings has no attribute " + name + " of the expected type");
}

// Same transform, bit for bit: the saved centroids live in the space it defines.
std::optional<std::string> scaling_difference(const ScalingModel& saved, const ScalingModel& here,
                                              const std::vector<std::string>& names) {
  if (saved.kind != here.kind) {
    return "scaling " + to_string(saved.kind) + " there, " + to_string(here.kind) + " here";
  }
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (saved.log1p.at(j) != here.log1p.at(j) || saved.offset.at(j) != here.offset.at(j) ||
        saved.scale.at(j) != here.scale.at(j)) {
      std::ostringstream text;
      text << std::setprecision(17) << "feature '" << names[j] << "' is transformed differently ("
           << "offset " << saved.offset[j] << ", scale " << saved.scale[j] << " there; offset "
           << here.offset[j] << ", scale " << here.scale[j] << " here)";
      return text.str();
    }
  }
  return std::nullopt;
}

// Root reads each k of the sweep already finished in its output directory and checks that it was
// fitted with these settings. Every rank gets the list (errors are agreed).
std::vector<io::SweepModel> finished_models(const distributed::Communicator& comm,
                                            const SweepConfig& config,
                                            const RunAttributes& settings) {
  std::vector<io::SweepModel> finished;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      for (std::int64_t k : io::sweep_model_ks(config.output)) {
        if (std::find(config.ks.begin(), config.ks.end(), k) == config.ks.end()) continue;
        const std::string path = io::sweep_model_path(config.output, k);
        io::SweepModel model = io::read_sweep_model(path);
        if (const auto difference = settings_difference(model.settings, settings)) {
          throw InputError("output directory '" + config.output +
                           "' already holds k = " + std::to_string(k) + " (" + path +
                           ") from a sweep with other settings: " + *difference +
                           ". Rerun with the same settings to resume, or choose another --output");
        }
        finished.push_back(std::move(model));
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  return finished;
}

void print_table(std::ostream& log, const std::vector<SweepRow>& rows) {
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

// Fits k `restarts` times, keeps the lowest inertia, and measures it: one model file's content.
// Fits k on half `half` (0 or 1) of the customers and returns the labels of every customer of
// this rank under that fit; empty (on every rank) when the half holds fewer than k customers.
// Each rank's share of a half is a block of the half's global order, placed by a prefix sum, so
// the draws keyed by row inside the fit are the same on any rank count.
std::vector<std::int32_t> fit_on_half_and_assign(const distributed::Communicator& comm,
                                                 const SweepConfig& config,
                                                 const ScaledCustomers& customers, int k,
                                                 int half) {
  const FeatureMatrix& features = customers.block.features;
  std::vector<Eigen::Index> members;
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    const auto row = static_cast<std::uint64_t>(customers.rows.begin + i);
    const int drawn = keyed_uniform(config.seed, RandomStream::stability_half, row) < 0.5 ? 0 : 1;
    if (drawn == half) members.push_back(i);
  }
  const auto count = static_cast<std::int64_t>(members.size());
  if (comm.sum(count) < k) return {};
  FeatureMatrix subset(count, features.cols());
  for (std::int64_t i = 0; i < count; ++i) subset.row(i) = features.row(members[i]);
  const std::int64_t offset = comm.exclusive_prefix_sum(count);
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = config.max_iterations;
  settings.tolerance = config.tolerance;
  settings.mean_variance = distributed::mean_scaled_variance(customers.transform);
  const distributed::FitOutcome fit = distributed::fit_kmeans(
      comm, subset, RowRange{offset, offset + count}, config.init, CentroidMatrix(), settings,
      // An index no row has, so the fit's seed is not a half draw.
      keyed_hash(config.seed, RandomStream::stability_half, ~std::uint64_t{0},
                 static_cast<std::uint64_t>(half)),
      1, {}, stop_on_signal());
  return nearest_two(features, fit.model.centroids).nearest;
}

io::SweepModel fit_and_measure(const distributed::Communicator& comm, const SweepConfig& config,
                               const ScaledCustomers& customers,
                               const std::vector<std::string>& feature_names, int k,
                               std::ostream& log) {
  const auto started = Clock::now();
  const FeatureMatrix& features = customers.block.features;
  const bool root = comm.is_root();
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = config.max_iterations;
  settings.tolerance = config.tolerance;
  settings.mean_variance = distributed::mean_scaled_variance(customers.transform);

  io::SweepModel model;
  model.feature_names = feature_names;
  model.scaling = customers.transform.model;
  std::vector<std::vector<std::int32_t>> restart_labels;
  for (int restart = 0; restart < config.restarts; ++restart) {
    // One restart at a time through fit_kmeans with that restart's seed, so every restart's
    // centroids are kept for stability. The best is chosen as fit_kmeans chooses among restarts
    // (exact final inertia, the earliest on ties), so k here is the fit of
    // `segment --k K --restarts R` with the same seed.
    const auto fit_started = Clock::now();
    const distributed::FitOutcome fit = distributed::fit_kmeans(
        comm, features, customers.rows, config.init, CentroidMatrix(), settings,
        restart_seed(config.seed, restart), 1, {}, stop_on_signal());
    const LloydOutcome& outcome = fit.model;
    NearestTwo nearest = nearest_two(features, outcome.centroids);
    const double inertia =
        config.restarts > 1 ? distributed::exact_inertia(comm, features, nearest.nearest_distance)
                            : outcome.inertia;
    model.restart_inertia.push_back(inertia);
    model.restart_iterations.push_back(outcome.iterations);
    model.restart_converged.push_back(outcome.converged);
    model.restart_centroids.insert(model.restart_centroids.end(), outcome.centroids.data(),
                                   outcome.centroids.data() + outcome.centroids.size());
    restart_labels.push_back(std::move(nearest.nearest));
    if (restart == 0 || inertia < model.restart_inertia[model.best_restart]) {
      model.best_restart = restart;
      model.centroids = outcome.centroids;
      model.iterations = outcome.iterations;
      model.converged = outcome.converged;
    }
    if (root && config.restarts > 1) {
      log << "k = " << k << "  restart " << restart << ": " << outcome.iterations
          << (outcome.converged ? " iterations, converged" : " iterations, stopped at --max-iter")
          << ", inertia " << std::setprecision(10) << inertia << std::setprecision(6) << ", "
          << std::fixed << std::setprecision(2) << seconds_since(fit_started) << " s"
          << std::defaultfloat << std::setprecision(6) << std::endl;
    }
  }

  // The uniform-sample silhouette of assign_and_measure is skipped (sample 0): the sweep measures
  // its own, stratified by segment.
  const distributed::FinalAssignment final_assignment = distributed::assign_and_measure(
      comm, features, customers.rows, model.centroids, 0, config.seed);
  model.segment_sizes = distributed::segment_sizes(comm, final_assignment.segments, k);
  const distributed::StratifiedSilhouette silhouette = distributed::stratified_silhouette(
      comm, features, customers.rows, final_assignment.segments, model.segment_sizes,
      config.silhouette_sample, config.seed);
  model.silhouette_sample_sizes = silhouette.sample_sizes;

  double agreement = 0;
  int pairs = 0;
  for (int a = 0; a < config.restarts; ++a) {
    for (int b = a + 1; b < config.restarts; ++b) {
      const std::vector<std::int64_t> table =
          distributed::contingency_table(comm, restart_labels[a], restart_labels[b], k, k);
      agreement += adjusted_rand_index(table, k, k);
      ++pairs;
    }
  }

  // With one restart there is no pair of restarts: fit once on each of two random halves instead
  // (a customer's half is a draw keyed by its global row), assign every customer with both, and
  // take the adjusted Rand index of the two labelings.
  if (config.restarts == 1) {
    const std::vector<std::int32_t> first = fit_on_half_and_assign(comm, config, customers, k, 0);
    const std::vector<std::int32_t> second = fit_on_half_and_assign(comm, config, customers, k, 1);
    if (!first.empty()) {
      agreement =
          adjusted_rand_index(distributed::contingency_table(comm, first, second, k, k), k, k);
      pairs = 1;
    }
  }

  SweepRow& row = model.row;
  const QualityReport& quality = final_assignment.quality;
  row.k = k;
  row.inertia = quality.inertia;
  row.calinski_harabasz = quality.calinski_harabasz;
  row.davies_bouldin = quality.davies_bouldin;
  row.silhouette_simplified = quality.silhouette_simplified;
  row.silhouette_sampled = silhouette.value;
  row.min_segment_size = *std::min_element(model.segment_sizes.begin(), model.segment_sizes.end());
  row.min_segment_share = static_cast<double>(row.min_segment_size) /
                          static_cast<double>(customers.transform.statistics.count);
  row.stability = pairs > 0 ? agreement / pairs : std::numeric_limits<double>::quiet_NaN();
  model.seconds = seconds_since(started);
  return model;
}

}  // namespace

io::RunManifest sweep_manifest(const std::string& command, const std::string& output,
                               const io::SweepTable& table, const std::string& input,
                               const io::TextFields& fingerprint, const io::TextFields& extra) {
  io::RunManifest manifest;
  manifest.command = command;
  manifest.outputs = {(fs::path(output) / "sweep.csv").string(),
                      (fs::path(output) / "sweep.h5").string()};
  for (const SweepRow& row : table.rows) {
    manifest.outputs.push_back(io::sweep_model_path(output, row.k));
  }
  manifest.input = input;
  manifest.input_fingerprint = fingerprint;
  for (const auto& [name, value] : table.settings) {
    const auto* text = std::get_if<std::string>(&value);
    manifest.configuration.emplace_back(name, text ? *text : value_text(value));
  }
  manifest.configuration.insert(manifest.configuration.end(), extra.begin(), extra.end());
  return manifest;
}

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

std::optional<std::string> settings_difference(const RunAttributes& there,
                                               const RunAttributes& here) {
  for (const auto& [name, value] : here) {
    const auto match = std::find_if(there.begin(), there.end(),
                                    [&](const auto& other) { return other.first == name; });
    if (match == there.end()) return name + " is not recorded there";
    if (match->second != value) {
      return name + " = " + value_text(match->second) + " there, " + value_text(value) + " here";
    }
  }
  return std::nullopt;
}

std::string sweep_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg sweep --input customers.h5 --k 2:64[:STEP] | --k 5,10,20"
          " [--restarts R] --output DIR [--config job.ini] [options]\n\n"
       << sweep_options()
       << "  --config arg              INI job file (key = value; the command line wins)\n\n"
          "A sweep killed midway and run again with the same options fits only the k it had not "
          "finished.\nPromote one k to a full run with 'microseg promote --sweep DIR --k K "
          "--output RUN'.\n";
  return text.str();
}

SweepConfig parse_sweep_options(const std::vector<std::string>& arguments) {
  const OptionReader options("sweep", sweep_options(), arguments);
  SweepConfig config;
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
  return config;
}

void sweep_command(const distributed::Communicator& comm,
                   const std::vector<std::string>& arguments) {
  run_sweep(comm, parse_on_root<SweepConfig>(comm, arguments, parse_sweep_options), std::cout);
}

void run_sweep(const distributed::Communicator& comm, const SweepConfig& config,
               std::ostream& log) {
  const bool root = comm.is_root();
  const auto started = Clock::now();
  const CustomerSelection selection{config.input, config.features, config.log1p_features,
                                    config.scale, config.transform};
  const InspectedInput input = inspect_customer_input(comm, selection, config.ks.back());
  comm.run_agreed([&] {
    if (root) io::ensure_writable_directory(config.output);
  });
  const RunAttributes settings = sweep_settings(config, input);
  std::vector<io::SweepModel> finished = finished_models(comm, config, settings);

  const ScaledCustomers customers = read_and_scale(comm, input);
  std::optional<std::string> data_error;
  for (const auto& model : finished) {
    if (auto difference =
            scaling_difference(model.scaling, customers.transform.model, input.feature_names)) {
      data_error = "output directory '" + config.output +
                   "' already holds k = " + std::to_string(model.row.k) +
                   " fitted on other data: " + *difference +
                   ". Rerun on the same input to resume, or choose another --output";
      break;
    }
  }
  comm.agree(data_error);  // only root read the finished models

  // Every rank learns which k are finished and their rows (root read the files).
  std::vector<SweepRow> rows;
  for (const auto& model : finished) rows.push_back(model.row);
  comm.broadcast(rows);
  if (root) {
    log << "microseg sweep: " << input.schema.rows << " customers × " << input.feature_names.size()
        << " features from " << config.input << " on " << comm.size() << " ranks; k = ";
    for (std::size_t i = 0; i < config.ks.size(); ++i) log << (i ? "," : "") << config.ks[i];
    if (config.tasks > 1) log << " (task " << config.task << " of " << config.tasks << ")";
    log << ", " << config.restarts << (config.restarts == 1 ? " fit" : " restarts") << " each\n";
  }

  for (int k : config.ks) {
    const auto done =
        std::find_if(rows.begin(), rows.end(), [&](const SweepRow& row) { return row.k == k; });
    if (done != rows.end()) {
      if (root) {
        log << "k = " << k << ": finished earlier, kept (" << io::sweep_model_path(config.output, k)
            << ")" << std::endl;
      }
      continue;
    }
    const auto stopped = [&](const std::string& when) {
      const auto signal = comm.max(static_cast<std::int64_t>(stop_signal_received()));
      return distributed::FitInterrupted(
          std::string("stopped on ") + stop_signal_name(static_cast<int>(signal)) + " " + when +
          "; the " + std::to_string(rows.size()) + " k value(s) finished are kept in " +
          (fs::path(config.output) / "models").string() +
          "/, and the same command run again fits only the others");
    };
    if (comm.any(stop_signal_received() != 0)) throw stopped("before k = " + std::to_string(k));
    const io::SweepModel model = [&] {
      try {
        io::SweepModel fitted =
            fit_and_measure(comm, config, customers, input.feature_names, k, log);
        fitted.settings = settings;
        return fitted;
      } catch (const distributed::FitInterrupted&) {
        throw stopped("while fitting k = " + std::to_string(k));
      }
    }();
    comm.run_agreed([&] {
      if (root) io::write_sweep_model(config.output, model);
    });
    rows.push_back(model.row);
    if (root) {
      const SweepRow& r = model.row;
      log << "k = " << k << ": inertia " << std::setprecision(10) << r.inertia
          << std::setprecision(6) << ", Calinski-Harabasz " << r.calinski_harabasz
          << ", Davies-Bouldin " << r.davies_bouldin << ", silhouette " << r.silhouette_sampled
          << " (simplified " << r.silhouette_simplified << "), smallest segment "
          << r.min_segment_size << " (" << std::fixed << std::setprecision(2)
          << 100 * r.min_segment_share << "%), stability " << std::setprecision(3) << r.stability
          << ", " << std::setprecision(2) << model.seconds << " s" << std::defaultfloat
          << std::setprecision(6) << std::endl;
    }
  }

  std::sort(rows.begin(), rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.k < b.k; });
  io::SweepTable table;
  table.rows = rows;
  table.recommendation = recommend_k(rows);
  table.rule = recommendation_rule();
  table.settings = settings;
  table.content_digest = customers.content_digest;
  comm.run_agreed([&] {
    if (root) io::write_sweep_table(config.output, table);
  });
  remove_run_manifest(comm, config.output);
  io::TextFields extra{{"k", config.k_text}};
  if (config.tasks > 1) {
    extra.emplace_back("task", std::to_string(config.task) + "/" + std::to_string(config.tasks));
  }
  const io::RunManifest manifest =
      sweep_manifest("sweep", config.output, table, config.input,
                     input_fingerprint(config.input, input.schema.rows, input.feature_names,
                                       customers.content_digest),
                     extra);
  write_run_manifest(comm, config.output, manifest);
  if (root) {
    print_table(log, rows);
    const KRecommendation& r = table.recommendation;
    log << "\nrecommended: " << r.reason << "\n";
    if (r.runner_up_k > 0) log << "runner-up: " << r.runner_up_reason << "\n";
    log << "rule: " << table.rule << "\n\n"
        << "outputs: " << (fs::path(config.output) / "sweep.csv").string() << ", "
        << (fs::path(config.output) / "sweep.h5").string() << ", "
        << (fs::path(config.output) / "models").string() << "/ (" << std::fixed
        << std::setprecision(1) << seconds_since(started) << " s)" << std::defaultfloat
        << std::setprecision(6) << "\n"
        << "promote a k with: microseg promote --sweep " << config.output
        << " --k K --output RUN\n";
  }
}

std::string promote_usage() {
  std::ostringstream text;
  text
      << "usage: mpiexec -n P microseg promote --sweep DIR [--k K] --output RUN [--input FILE]\n\n"
         "Writes RUN/segments.h5, profiles.csv and quality.csv for one k of a sweep from its saved "
         "model,\nwithout refitting: the same outputs as 'microseg segment' with the sweep's "
         "options, --k K\nand --restarts R.\n\n"
      << promote_options()
      << "  --config arg              INI job file (key = value; the command line wins)\n";
  return text.str();
}

PromoteConfig parse_promote_options(const std::vector<std::string>& arguments) {
  const OptionReader options("promote", promote_options(), arguments);
  PromoteConfig config;
  config.sweep = options.required("sweep");
  config.output = options.required("output");
  config.k = options.has("k") ? static_cast<int>(options.integer("k", "0", 1, 1 << 24)) : 0;
  config.input = options.text("input");
  return config;
}

void promote_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments) {
  run_promote(comm, parse_on_root<PromoteConfig>(comm, arguments, parse_promote_options),
              std::cout);
}

void run_promote(const distributed::Communicator& comm, const PromoteConfig& config,
                 std::ostream& log) {
  const bool root = comm.is_root();
  const auto started = Clock::now();
  // Every rank reads the small model file itself.
  io::SweepModel model;
  std::string model_path;
  comm.run_agreed([&] {
    int k = config.k;
    if (k == 0) k = static_cast<int>(io::read_sweep_table(config.sweep).recommendation.k);
    model_path = io::sweep_model_path(config.sweep, k);
    if (!fs::is_regular_file(model_path)) {
      throw InputError("sweep '" + config.sweep + "' has no model for k = " + std::to_string(k) +
                       " (" + model_path + " is missing): sweep that k first");
    }
    model = io::read_sweep_model(model_path);
  });
  const int k = static_cast<int>(model.row.k);
  const RunAttributes& settings = model.settings;
  CustomerSelection selection;
  std::uint64_t seed = 0;
  std::int64_t silhouette_sample = 0, restarts = 1, customers_then = 0;
  std::string configuration;
  comm.run_agreed([&] {
    selection.input =
        config.input.empty() ? setting<std::string>(settings, "input", model_path) : config.input;
    selection.features = model.feature_names;
    selection.scale = model.scaling.kind;
    // Sweeps that recorded their transform: read the same source columns, transform them alike.
    const auto optional_setting = [&](const std::string& name) -> std::optional<std::string> {
      for (const auto& [key, value] : settings) {
        if (key == name && std::holds_alternative<std::string>(value)) {
          return std::get<std::string>(value);
        }
      }
      return std::nullopt;
    };
    const auto split = [](const std::string& text) {
      std::vector<std::string> items;
      std::size_t at = 0;
      while (!text.empty() && at <= text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        items.push_back(text.substr(at, comma - at));
        at = comma + 1;
      }
      return items;
    };
    if (const auto sources = optional_setting("sources")) selection.features = split(*sources);
    if (const auto missing = optional_setting("missing")) {
      selection.transform.missing = parse_missing_policy(*missing);
    }
    if (const auto one_hot = optional_setting("one_hot"))
      selection.transform.one_hot = split(*one_hot);
    if (const auto weights = optional_setting("weights"))
      selection.transform.weights = split(*weights);
    if (const auto clip = optional_setting("clip_quantiles")) {
      for (const auto& level : split(*clip))
        selection.transform.clip_quantiles.push_back(std::stod(level));
    }
    for (std::size_t j = 0; j < model.feature_names.size(); ++j) {
      if (model.scaling.log1p[j]) selection.log1p_features.push_back(model.feature_names[j]);
    }
    seed = static_cast<std::uint64_t>(setting<std::int64_t>(settings, "seed", model_path));
    silhouette_sample = setting<std::int64_t>(settings, "silhouette_sample", model_path);
    restarts = setting<std::int64_t>(settings, "restarts", model_path);
    customers_then = setting<std::int64_t>(settings, "customers", model_path);
    std::ostringstream text;
    text << "input = " << selection.input << "\noutput = " << config.output << "\nk = " << k
         << "\nfeatures = " << join(selection.features)
         << "\nscale = " << to_string(selection.scale)
         << "\nlog1p = " << join(selection.log1p_features) << "\n"
         << describe(selection.transform)
         << "init = " << setting<std::string>(settings, "init", model_path)
         << "\nmax-iter = " << setting<std::int64_t>(settings, "max_iter", model_path)
         << "\ntol = " << setting<double>(settings, "tol", model_path) << "\nseed = " << seed
         << "\nrestarts = " << restarts << "\nsilhouette-sample = " << silhouette_sample
         << "\npromoted-from = " << model_path << "\n";
    configuration = text.str();
  });

  const InspectedInput input = inspect_customer_input(comm, selection, k);
  if (input.schema.rows != customers_then) {
    comm.agree("input '" + selection.input + "' holds " + std::to_string(input.schema.rows) +
               " customers, but the sweep's model " + model_path + " was fitted on " +
               std::to_string(customers_then) +
               "; promote needs the same customers (fit new data with 'microseg segment')");
  }
  RunAttributes timings;
  auto lap = [last = Clock::now()]() mutable {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    return seconds;
  };
  const ScaledCustomers customers = read_and_scale(comm, input);
  timings.emplace_back("seconds_read_and_scale", lap());
  if (auto difference =
          scaling_difference(model.scaling, customers.transform.model, input.feature_names)) {
    comm.agree("input '" + selection.input + "' is not the data the sweep's model " + model_path +
               " was fitted on: " + *difference +
               "; promote needs the same customers (fit new data with 'microseg segment')");
  }
  // Only now, so that promoting onto other data leaves no directory behind.
  comm.run_agreed([&] {
    if (root) io::ensure_writable_directory(config.output);
  });

  MeasuredSegmentation measured =
      measure_segmentation(comm, customers.block.features, customers.rows, input.feature_names,
                           model.centroids, customers.transform, silhouette_sample, seed);
  timings.emplace_back("seconds_metrics", lap());
  RunFacts facts;
  facts.configuration = configuration;
  facts.seed = seed;
  facts.customers = customers.customers;
  facts.k = k;
  facts.iterations = model.iterations;
  facts.converged = model.converged != 0;
  facts.restarts = restarts;
  facts.best_restart = model.best_restart;
  RunAttributes& run = measured.summary.run;
  run = run_attributes(comm, facts);
  run.emplace_back("promoted_from", model_path);
  run.insert(run.end(), timings.begin(), timings.end());
  const AssignmentBlock assignments{customers.rows, customers.customers, &customers.block.ids,
                                    &measured.assignment.segments, &measured.assignment.distances};
  // The model a later `segment --previous` or `assign --model` continues from: a promoted run
  // is a first run, so its ids are 0 … k−1.
  const SegmentIdentity identity = SegmentIdentity::first_run(k);
  io::RunOutputs outputs;
  outputs.scaling = &customers.transform.model;
  outputs.identity = &identity;
  comm.run_agreed([&] {
    io::write_segmentation(config.output, comm.native(), measured.summary, assignments, outputs);
  });
  remove_run_manifest(comm, config.output);
  io::RunManifest manifest;
  manifest.command = "promote";
  manifest.outputs = io::segmentation_files(config.output, false);
  manifest.input = selection.input;
  manifest.input_fingerprint = input_fingerprint(selection.input, input.schema.rows,
                                                 input.feature_names, customers.content_digest);
  manifest.configuration = parse_fields(configuration);
  write_run_manifest(comm, config.output, manifest);
  if (root) {
    const QualityReport& q = measured.summary.quality;
    log << "microseg promote: k = " << k << " from " << model_path << " (no refit), "
        << input.schema.rows << " customers on " << comm.size() << " ranks\n"
        << "quality: inertia " << std::setprecision(10) << q.inertia << std::setprecision(6)
        << ", Calinski-Harabasz " << q.calinski_harabasz << ", Davies-Bouldin " << q.davies_bouldin
        << ", silhouette (simplified) " << q.silhouette_simplified << ", silhouette (sample of "
        << q.silhouette_sample_size << ") " << q.silhouette_sampled << "\n"
        << "outputs: " << (fs::path(config.output) / "segments.h5").string() << ", "
        << (fs::path(config.output) / "profiles.csv").string() << ", "
        << (fs::path(config.output) / "quality.csv").string() << " (" << std::fixed
        << std::setprecision(1) << seconds_since(started) << " s)" << std::defaultfloat
        << std::setprecision(6) << "\n";
  }
}

}  // namespace microseg::app
