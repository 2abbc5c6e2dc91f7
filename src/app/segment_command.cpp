#include <Eigen/Core>
#include <algorithm>
#include <boost/version.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include <boost/program_options/options_description.hpp>
#include <iostream>

#include "microseg/app/option_reader.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/library_version.hpp"
#include "microseg/io/segments_file.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description segment_options() {
  namespace po = boost::program_options;
  po::options_description options("microseg segment options");
  options.add_options()                                                                        //
      ("input", po::value<std::string>(), "customer HDF5 file")                                //
      ("output", po::value<std::string>(), "output directory")                                 //
      ("k", po::value<std::string>(), "number of segments")                                    //
      ("features", po::value<std::string>(), "comma-separated feature names (default: all)")   //
      ("scale", po::value<std::string>(), "zscore | minmax | none (default zscore)")           //
      ("log1p", po::value<std::string>(), "comma-separated features to log1p before scaling")  //
      ("init", po::value<std::string>(),
       "kmeans-parallel | kmeans++ | file (default kmeans-parallel)")  //
      ("init-centroids", po::value<std::string>(),
       "HDF5 file with /centroids (k × d, scaled space)")                               //
      ("max-iter", po::value<std::string>(), "maximum Lloyd iterations (default 300)")  //
      ("tol", po::value<std::string>(),
       "relative tolerance on the centroid shift (default 1e-4)")    //
      ("seed", po::value<std::string>(), "random seed (default 0)")  //
      ("restarts", po::value<std::string>(),
       "seedings + fits to run; the lowest inertia wins (default 1)")  //
      ("silhouette-sample", po::value<std::string>(),
       "customers in the exact silhouette sample (default 10000)");
  return options;
}

using Clock = std::chrono::steady_clock;

class PhaseTimer {
 public:
  double lap() {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  Clock::time_point last_ = Clock::now();
};

// Checks that need only the configuration and the file's metadata, made before any data is read
// so a wrong option fails fast.
std::vector<char> log1p_flags(const SegmentConfig& config,
                              const std::vector<std::string>& feature_names) {
  std::vector<char> flags(feature_names.size(), 0);
  for (const auto& name : config.log1p_features) {
    auto it = std::find(feature_names.begin(), feature_names.end(), name);
    if (it == feature_names.end()) {
      throw InputError("option --log1p: feature '" + name +
                       "' is not among the features being segmented");
    }
    flags[static_cast<std::size_t>(it - feature_names.begin())] = 1;
  }
  return flags;
}

std::string eigen_version() {
  return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION);
}

std::string boost_version() {
  return std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
         "." + std::to_string(BOOST_VERSION % 100);
}

// A short profile table for the log: size, share and the most distinctive features.
void print_profile_table(std::ostream& log, const SegmentProfiles& profiles,
                         const std::vector<std::string>& names) {
  log << "\nsegment      size   share  most distinctive features (lift in population σ)\n";
  for (int s = 0; s < profiles.k; ++s) {
    std::vector<int> order(static_cast<std::size_t>(profiles.d));
    for (int j = 0; j < profiles.d; ++j) order[j] = j;
    const double* lift = profiles.lift.data() + static_cast<std::size_t>(s) * profiles.d;
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return std::abs(lift[a]) > std::abs(lift[b]); });
    log << std::setw(7) << s << std::setw(10) << profiles.size[s] << std::setw(7) << std::fixed
        << std::setprecision(1) << 100 * profiles.share[s] << "%  ";
    for (int t = 0; t < std::min(3, profiles.d); ++t) {
      log << (t ? ", " : "") << names[order[t]] << " " << std::showpos << std::setprecision(1)
          << lift[order[t]] << std::noshowpos;
    }
    log << "\n";
  }
  log << std::defaultfloat << std::setprecision(6);
}

}  // namespace

std::string segment_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg segment --input customers.h5 --k K --output DIR"
          " [--config job.ini] [options]\n\n"
       << segment_options()
       << "  --config arg              INI job file (key = value; the command line wins)\n";
  return text.str();
}

SegmentConfig parse_segment_options(const std::vector<std::string>& arguments) {
  const OptionReader options("segment", segment_options(), arguments);
  SegmentConfig config;
  config.input = options.required("input");
  config.output = options.required("output");
  config.job_file = options.job_file();
  config.k = static_cast<int>(options.integer("k", options.required("k"), 1, 1 << 24));
  config.features = options.list("features");
  try {
    config.scale = parse_scale_kind(options.text("scale", "zscore"));
    config.init = parse_init_kind(options.text("init", "kmeans-parallel"));
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
  return config;
}

std::string describe(const SegmentConfig& config) {
  auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  std::ostringstream text;
  text << "input = " << config.input << "\noutput = " << config.output << "\nk = " << config.k
       << "\nfeatures = " << join(config.features) << "\nscale = " << to_string(config.scale)
       << "\nlog1p = " << join(config.log1p_features) << "\ninit = " << to_string(config.init)
       << "\ninit-centroids = " << config.init_centroids << "\nmax-iter = " << config.max_iterations
       << "\ntol = " << config.tolerance << "\nseed = " << config.seed
       << "\nrestarts = " << config.restarts << "\nsilhouette-sample = " << config.silhouette_sample
       << "\n";
  return text.str();
}

void segment_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments) {
  run_segment(comm, parse_on_root<SegmentConfig>(comm, arguments, parse_segment_options),
              std::cout);
}

void run_segment(const distributed::Communicator& comm, const SegmentConfig& config,
                 std::ostream& log) {
  const bool root = comm.is_root();
  PhaseTimer timer;
  RunAttributes timings;

  // Read: metadata first (identical on every rank), then each rank's block of rows.
  io::CustomerTableSchema schema;
  std::vector<int> columns;
  std::vector<std::string> names;
  std::vector<char> log1p;
  comm.run_agreed([&] {
    schema = io::inspect_customer_table(config.input, comm.native());
    columns = io::select_features(schema, config.features);
    for (int c : columns) names.push_back(schema.feature_names[c]);
    log1p = log1p_flags(config, names);
    if (config.k > schema.rows) {
      throw InputError("option --k: k = " + std::to_string(config.k) + " is larger than the " +
                       std::to_string(schema.rows) + " customers in '" + config.input + "'");
    }
  });
  std::optional<std::string> output_error;
  if (root) {
    try {
      io::ensure_writable_directory(config.output);
    } catch (const std::exception& e) {
      output_error = e.what();
    }
  }
  comm.agree(output_error);
  CentroidMatrix given_centroids;
  if (config.init == InitKind::file) {
    comm.run_agreed([&] {
      given_centroids =
          io::read_centroids(config.init_centroids, config.k, static_cast<int>(columns.size()));
    });
  }
  const RowRange rows = distributed::block_of_rows(schema.rows, comm.rank(), comm.size());
  CustomerBlock block;
  comm.run_agreed([&] { block = io::read_customer_block(schema, columns, rows, comm.native()); });
  distributed::check_finite(comm, block, config.input);
  distributed::check_unique_ids(comm, block.ids, config.input);
  timings.emplace_back("seconds_read", timer.lap());
  if (root) {
    log << "microseg segment: " << schema.rows << " customers × " << names.size()
        << " features from " << config.input << " on " << comm.size() << " ranks, k = " << config.k
        << "\n";
  }

  // Transform.
  const distributed::FittedTransform transform =
      distributed::fit_and_apply_transform(comm, block, config.scale, log1p);
  timings.emplace_back("seconds_scale", timer.lap());

  // Initialise and iterate, once per restart; the lowest inertia wins.
  distributed::LloydSettings settings;
  settings.k = config.k;
  settings.max_iterations = config.max_iterations;
  settings.tolerance = config.tolerance;
  settings.mean_variance = distributed::mean_scaled_variance(transform);
  auto progress = [&](int restart, const distributed::IterationReport& r) {
    if (!root) return;
    if (config.restarts > 1) log << "restart " << restart << "  ";
    log << "iteration " << std::setw(4) << r.iteration << "  inertia " << std::setprecision(10)
        << r.inertia << "  relative shift " << std::setprecision(3) << r.relative_shift
        << "  reassigned " << r.reassigned << "  " << std::fixed << std::setprecision(3)
        << r.seconds << " s" << std::defaultfloat << std::setprecision(6) << std::endl;
  };
  const distributed::FitOutcome fit =
      distributed::fit_kmeans(comm, block.features, rows, config.init, given_centroids, settings,
                              config.seed, config.restarts, progress);
  const distributed::LloydOutcome& model = fit.model;
  timer.lap();
  timings.emplace_back("seconds_init", fit.seconds_init);
  timings.emplace_back("seconds_iterate", fit.seconds_iterate);
  if (root && config.restarts > 1) {
    log << "best of " << config.restarts << " restarts: restart " << fit.best_restart << "\n";
  }

  // Measure and profile.
  distributed::FinalAssignment final_assignment = distributed::assign_and_measure(
      comm, block.features, rows, model.centroids, config.silhouette_sample, config.seed);
  SegmentationSummary summary;
  summary.feature_names = names;
  summary.centroids_scaled = model.centroids;
  summary.centroids_original =
      distributed::centroids_in_original_units(model.centroids, transform.model);
  summary.profiles = distributed::profile_segments(comm, block.features, final_assignment.segments,
                                                   config.k, transform);
  summary.quality = final_assignment.quality;
  timings.emplace_back("seconds_metrics", timer.lap());

  // Write.
  RunAttributes& run = summary.run;
  run.emplace_back("configuration", describe(config));
  run.emplace_back("job_file", config.job_file);
  run.emplace_back("seed", static_cast<std::int64_t>(config.seed));
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("customers", schema.rows);
  run.emplace_back("k", static_cast<std::int64_t>(config.k));
  run.emplace_back("iterations", static_cast<std::int64_t>(model.iterations));
  run.emplace_back("converged", static_cast<std::int64_t>(model.converged));
  run.emplace_back("restarts", static_cast<std::int64_t>(config.restarts));
  run.emplace_back("best_restart", static_cast<std::int64_t>(fit.best_restart));
  run.emplace_back("version_microseg", std::string(MICROSEG_VERSION));
  run.emplace_back("version_hdf5", io::hdf5_library_version());
  run.emplace_back("version_mpi", distributed::Communicator::library_version());
  run.emplace_back("version_eigen", eigen_version());
  run.emplace_back("version_boost", boost_version());
  run.insert(run.end(), timings.begin(), timings.end());
  // The write's own time cannot be inside the file it times; it is logged instead.
  AssignmentBlock assignments{rows, schema.rows, &block.ids, &final_assignment.segments,
                              &final_assignment.distances};
  comm.run_agreed(
      [&] { io::write_segmentation(config.output, comm.native(), summary, assignments); });
  const double write_seconds = timer.lap();

  if (root) {
    const QualityReport& q = summary.quality;
    log << (model.converged ? "converged" : "stopped at --max-iter") << " after "
        << model.iterations << " iterations\n"
        << "quality: inertia " << std::setprecision(10) << q.inertia << std::setprecision(6)
        << ", Calinski-Harabasz " << q.calinski_harabasz << ", Davies-Bouldin " << q.davies_bouldin
        << ", silhouette (simplified) " << q.silhouette_simplified << ", silhouette (sample of "
        << q.silhouette_sample_size << ") " << q.silhouette_sampled << "\n";
    print_profile_table(log, summary.profiles, names);
    log << "\nseconds: ";
    for (const auto& [name, value] : timings) {
      log << name.substr(8) << " " << std::fixed << std::setprecision(3) << std::get<double>(value)
          << "  ";
    }
    log << "write " << write_seconds << std::defaultfloat << std::setprecision(6) << "\n"
        << "outputs: " << (std::filesystem::path(config.output) / "segments.h5").string() << ", "
        << (std::filesystem::path(config.output) / "profiles.csv").string() << ", "
        << (std::filesystem::path(config.output) / "quality.csv").string() << "\n";
  }
}

}  // namespace microseg::app
