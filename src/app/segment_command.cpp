#include <Eigen/Core>
#include <algorithm>
#include <boost/version.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>

#include <boost/program_options/options_description.hpp>
#include <iostream>

#include "microseg/app/option_reader.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/core/segment_description.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/distributed/migration.hpp"
#include "microseg/distributed/segment_value.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/distributed/small_segments.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/library_version.hpp"
#include "microseg/io/run_model.hpp"
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
       "relative tolerance on the centroid shift (default 1e-4)")  //
      ("lloyd", po::value<std::string>(),
       "auto | plain | pruned: the Lloyd step; pruned skips distances bounds prove useless, "
       "with identical results (default auto: pruned from k = 96)")  //
      ("seed", po::value<std::string>(), "random seed (default 0)")  //
      ("restarts", po::value<std::string>(),
       "seedings + fits to run; the lowest inertia wins (default 1)")  //
      ("silhouette-sample", po::value<std::string>(),
       "customers in the exact silhouette sample (default 10000)")  //
      ("previous", po::value<std::string>(),
       "output directory of an earlier run: keep its segment ids, write the migration")  //
      ("warm-start", po::value<std::string>()->implicit_value("true"),
       "start from the --previous run's centroids (k defaults to its k)")  //
      ("value-feature", po::value<std::string>(),
       "feature that measures customer value (default: monetary or monetary_total when present; "
       "none: off)")  //
      ("min-segment-size", po::value<std::string>(),
       "flag segments below this many customers (500) or this share (0.02 or 2%)")  //
      ("merge-small", po::value<std::string>()->implicit_value("true"),
       "merge segments below --min-segment-size into their nearest before the final assignment");
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

// A short profile table for the log: stable id, size, share, priority and the description.
void print_profile_table(std::ostream& log, const SegmentProfiles& profiles,
                         const SegmentIdentity& identity, const ActionableProfiles& actionable) {
  log << "\nsegment      size   share  priority  most distinctive features (lift in population "
         "σ)\n";
  for (int s = 0; s < profiles.k; ++s) {
    log << std::setw(7) << identity.ids[s] << std::setw(10) << profiles.size[s] << std::setw(7)
        << std::fixed << std::setprecision(1) << 100 * profiles.share[s] << "%" << std::setw(10)
        << actionable.priority.rank[s] << "  " << actionable.description[s]
        << (actionable.undersized[s] ? "  [below --min-segment-size]" : "") << "\n";
  }
  log << std::defaultfloat << std::setprecision(6);
}

void print_migration(std::ostream& log, const io::RunModel& previous, const SegmentMatch& match,
                     const MigrationReport& migration) {
  const auto list = [](const std::vector<std::int64_t>& ids) {
    std::string text;
    for (std::int64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
    return text.empty() ? std::string("none") : text;
  };
  const MigrationStability& s = migration.stability;
  log << "\nprevious run " << previous.directory << " (k = " << previous.k()
      << "): " << match.identity.ids.size() - match.fresh_ids.size()
      << " segments keep their ids, fresh ids " << list(match.fresh_ids) << ", retired ids "
      << list(match.retired_now) << "\n"
      << "migration: " << s.common << " customers in both runs, " << s.joined << " new, " << s.left
      << " lost; " << std::fixed << std::setprecision(1) << 100 * s.share_stayed << "% stayed, "
      << s.moved << " moved (" << s.at_risk << " to a lower-value segment); adjusted Rand "
      << std::setprecision(4) << s.adjusted_rand_index << ", adjusted mutual information "
      << s.adjusted_mutual_information << std::defaultfloat << std::setprecision(6) << "\n";
}

// The value feature: the one asked for, else monetary (or monetary_total, as `microseg ingest
// transactions` names it) when the input has it; "none" turns it off.
std::string value_feature_of(const SegmentConfig& config, const io::CustomerTableSchema& schema) {
  const auto present = [&](const std::string& name) {
    return std::find(schema.feature_names.begin(), schema.feature_names.end(), name) !=
           schema.feature_names.end();
  };
  if (config.value_feature == "none") return "";
  if (config.value_feature.empty()) {
    for (const char* name : {"monetary", "monetary_total"}) {
      if (present(name)) return name;
    }
    return "";
  }
  if (!present(config.value_feature)) {
    throw InputError("option --value-feature: feature '" + config.value_feature +
                     "' is not in input file '" + schema.path + "'");
  }
  return config.value_feature;
}

// The columns that profiles for marketers read in original units, whether segmented or not.
struct MarketingColumns {
  std::vector<double> value;                         // empty without a value feature
  std::vector<double> recency, frequency, monetary;  // empty without RFM columns
};

// Reads the value and RFM columns. A value feature asked for by name must be finite; columns
// found by their names alone are only left unused when they hold NaN or ±Inf (a note says so),
// since they were never part of what the user asked for.
MarketingColumns read_marketing_columns(const distributed::Communicator& comm,
                                        const SegmentConfig& config,
                                        const io::CustomerTableSchema& schema, RowRange rows,
                                        std::string& value_feature, std::optional<RfmColumns>& rfm,
                                        std::ostream& log) {
  std::vector<std::string> wanted;
  if (!value_feature.empty()) wanted.push_back(value_feature);
  if (rfm) {
    for (const auto& name : *rfm) {
      if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) wanted.push_back(name);
    }
  }
  MarketingColumns columns;
  if (wanted.empty()) return columns;
  CustomerBlock block;
  comm.run_agreed([&] {
    block =
        io::read_customer_block(schema, io::select_features(schema, wanted), rows, comm.native());
  });
  const auto index_of = [&](const std::string& name) {
    return std::find(wanted.begin(), wanted.end(), name) - wanted.begin();
  };
  std::vector<std::int64_t> non_finite(wanted.size(), 0);
  for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
    for (std::size_t j = 0; j < wanted.size(); ++j) {
      non_finite[j] += !std::isfinite(block.features(i, static_cast<Eigen::Index>(j)));
    }
  }
  comm.sum_in_place(non_finite);
  if (!config.value_feature.empty() && non_finite[index_of(value_feature)] > 0) {
    distributed::check_finite(comm, block, schema.path);  // names the columns and a customer
  }
  const auto unusable = [&](const std::string& name, const char* what) {
    const std::int64_t bad = non_finite[index_of(name)];
    if (bad > 0 && comm.is_root()) {
      log << "note: column '" << name << "' holds " << bad << " NaN or infinite values, so the "
          << what << " is left out\n";
    }
    return bad > 0;
  };
  if (!value_feature.empty() && unusable(value_feature, "value analysis")) value_feature.clear();
  if (rfm) {
    bool usable = true;
    for (const auto& name : *rfm) usable = !unusable(name, "RFM summary") && usable;
    if (!usable) rfm.reset();
  }
  const auto column = [&](const std::string& name) {
    const auto j = static_cast<Eigen::Index>(index_of(name));
    std::vector<double> values(static_cast<std::size_t>(block.features.rows()));
    for (Eigen::Index i = 0; i < block.features.rows(); ++i) values[i] = block.features(i, j);
    return values;
  };
  if (!value_feature.empty()) columns.value = column(value_feature);
  if (rfm) {
    columns.recency = column((*rfm)[0]);
    columns.frequency = column((*rfm)[1]);
    columns.monetary = column((*rfm)[2]);
  }
  return columns;
}

// What the migration needs to know about both runs' segments.
distributed::MigrationSegments migration_segments(const io::RunModel& previous,
                                                  const SegmentMatch& match,
                                                  const std::optional<SegmentValue>& value) {
  distributed::MigrationSegments segments;
  segments.previous_ids = previous.identity.ids;
  segments.current_ids = match.identity.ids;
  segments.drift = match.drift;
  if (value) {
    // Values of the previous run only compare with this run's when they measure the same thing.
    const bool same_value = previous.value_feature == value->feature;
    segments.current_value_mean = value->mean;
    segments.previous_reference_value = previous_segment_reference_values(
        previous.identity.ids, same_value ? previous.value_mean : std::vector<double>{},
        match.identity.ids, value->mean);
    segments.previous_values_recorded = same_value && previous.assignments_have_value;
  }
  return segments;
}

// "true"/"false" (and yes/no, 1/0) of a switch given on the command line or in a job file.
bool switch_value(const OptionReader& options, const std::string& key) {
  const std::string text = options.text(key, "false");
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  invalid_option_value(key, text, "true or false");
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
  config.previous = options.text("previous");
  config.warm_start = switch_value(options, "warm-start");
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
  if (config.merge_small && config.min_segment_size.kind == MinimumSegmentSize::Kind::none) {
    throw InputError("segment: --merge-small needs --min-segment-size (a count or a share)");
  }
  return config;
}

std::string describe(const SegmentConfig& config) {
  auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  std::ostringstream text;
  text << "input = " << config.input << "\noutput = " << config.output;
  if (config.k > 0) text << "\nk = " << config.k;
  text << "\nfeatures = " << join(config.features) << "\nscale = " << to_string(config.scale)
       << "\nlog1p = " << join(config.log1p_features) << "\ninit = " << to_string(config.init)
       << "\ninit-centroids = " << config.init_centroids << "\nmax-iter = " << config.max_iterations
       << "\ntol = " << config.tolerance << "\nlloyd = " << to_string(config.lloyd_step)
       << "\nseed = " << config.seed << "\nrestarts = " << config.restarts
       << "\nsilhouette-sample = " << config.silhouette_sample << "\nprevious = " << config.previous
       << "\nwarm-start = " << (config.warm_start ? "true" : "false")
       << "\nvalue-feature = " << config.value_feature
       << "\nmin-segment-size = " << config.min_segment_size.text()
       << "\nmerge-small = " << (config.merge_small ? "true" : "false") << "\n";
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
  std::optional<io::RunModel> previous;
  int k = config.k;
  std::string value_feature;
  std::optional<RfmColumns> rfm_columns;
  std::int64_t min_segment_size = 0;
  comm.run_agreed([&] {
    schema = io::inspect_customer_table(config.input, comm.native());
    columns = io::select_features(schema, config.features);
    for (int c : columns) names.push_back(schema.feature_names[c]);
    log1p = log1p_flags(config, names);
    if (!config.previous.empty()) {
      previous = io::read_run_model(config.previous).with_feature_order(names);
    }
    if (config.warm_start) {
      if (k == 0) k = previous->k();
      if (k != previous->k()) {
        throw InputError("option --k: --warm-start starts from the " +
                         std::to_string(previous->k()) + " centroids of run '" + config.previous +
                         "', so k must be " + std::to_string(previous->k()) + ", not " +
                         std::to_string(k));
      }
    }
    if (k > schema.rows) {
      throw InputError("option --k: k = " + std::to_string(k) + " is larger than the " +
                       std::to_string(schema.rows) + " customers in '" + config.input + "'");
    }
    value_feature = value_feature_of(config, schema);
    rfm_columns = find_rfm_columns(schema.feature_names);
    min_segment_size = config.min_segment_size.customers_for(schema.rows);
    if (min_segment_size > schema.rows) {
      throw InputError("option --min-segment-size: " + std::to_string(min_segment_size) +
                       " customers is more than the " + std::to_string(schema.rows) + " in '" +
                       config.input + "'");
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
  if (config.init == InitKind::file && !config.warm_start) {
    comm.run_agreed([&] {
      given_centroids =
          io::read_centroids(config.init_centroids, k, static_cast<int>(columns.size()));
    });
  }
  const RowRange rows = distributed::block_of_rows(schema.rows, comm.rank(), comm.size());
  CustomerBlock block;
  comm.run_agreed([&] { block = io::read_customer_block(schema, columns, rows, comm.native()); });
  distributed::check_finite(comm, block, config.input);
  distributed::check_unique_ids(comm, block.ids, config.input);
  const MarketingColumns marketing =
      read_marketing_columns(comm, config, schema, rows, value_feature, rfm_columns, log);
  timings.emplace_back("seconds_read", timer.lap());
  if (root) {
    log << "microseg segment: " << schema.rows << " customers × " << names.size()
        << " features from " << config.input << " on " << comm.size() << " ranks, k = " << k
        << "\n";
  }

  // Transform.
  const distributed::FittedTransform transform =
      distributed::fit_and_apply_transform(comm, block, config.scale, log1p);
  timings.emplace_back("seconds_scale", timer.lap());

  // Initialise and iterate, once per restart; the lowest inertia wins. A warm start maps the
  // previous centroids into this run's scaled space and starts from them.
  InitKind init = config.init;
  if (config.warm_start) {
    init = InitKind::file;
    comm.run_agreed([&] {
      given_centroids =
          rescale_centroids(previous->centroids, previous->scaling, transform.model, names);
    });
  }
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = config.max_iterations;
  settings.tolerance = config.tolerance;
  settings.mean_variance = distributed::mean_scaled_variance(transform);
  settings.step = config.lloyd_step;
  auto progress = [&](int restart, const distributed::IterationReport& r) {
    if (!root) return;
    if (config.restarts > 1) log << "restart " << restart << "  ";
    log << "iteration " << std::setw(4) << r.iteration << "  inertia " << std::setprecision(10)
        << r.inertia << "  relative shift " << std::setprecision(3) << r.relative_shift
        << "  reassigned " << r.reassigned << "  " << std::fixed << std::setprecision(3)
        << r.seconds << " s" << std::defaultfloat << std::setprecision(6) << std::endl;
  };
  const distributed::FitOutcome fit =
      distributed::fit_kmeans(comm, block.features, rows, init, given_centroids, settings,
                              config.seed, config.restarts, progress);
  const distributed::LloydOutcome& model = fit.model;
  timer.lap();
  timings.emplace_back("seconds_init", fit.seconds_init);
  timings.emplace_back("seconds_iterate", fit.seconds_iterate);
  if (root && config.restarts > 1) {
    log << "best of " << config.restarts << " restarts: restart " << fit.best_restart << "\n";
  }
  // Segments below the minimum size go into their nearest segment before the final assignment.
  CentroidMatrix centroids = model.centroids;
  std::size_t merged = 0;
  if (config.merge_small) {
    const distributed::SmallSegmentMerges merges =
        distributed::merge_small_segments(comm, block.features, centroids, min_segment_size);
    centroids = merges.centroids;
    merged = merges.merges.size();
    if (root && merged > 0) {
      log << "merged " << merged << " segment(s) below " << min_segment_size
          << " customers into their nearest segment: k = " << centroids.rows() << "\n";
    }
  }
  const int final_k = static_cast<int>(centroids.rows());

  // Measure and profile.
  distributed::FinalAssignment final_assignment = distributed::assign_and_measure(
      comm, block.features, rows, centroids, config.silhouette_sample, config.seed);
  SegmentationSummary summary;
  summary.feature_names = names;
  summary.centroids_scaled = centroids;
  summary.centroids_original = distributed::centroids_in_original_units(centroids, transform.model);
  summary.profiles = distributed::profile_segments(comm, block.features, final_assignment.segments,
                                                   final_k, transform);
  summary.quality = final_assignment.quality;
  ActionableProfiles actionable;
  actionable.description = describe_segments(summary.profiles, names);
  if (!value_feature.empty()) {
    actionable.value = distributed::value_by_segment(comm, value_feature, marketing.value,
                                                     final_assignment.segments, final_k);
  }
  if (rfm_columns) {
    actionable.rfm = distributed::rfm_quintile_summary(comm, *rfm_columns, marketing.recency,
                                                       marketing.frequency, marketing.monetary,
                                                       final_assignment.segments, final_k);
  }
  actionable.min_segment_size = min_segment_size;
  for (std::int64_t size : summary.profiles.size) {
    actionable.undersized.push_back(size < min_segment_size);
  }
  timings.emplace_back("seconds_metrics", timer.lap());

  // Compare with the previous run: stable ids by optimal matching of centroids in the previous
  // run's scaled space, then the migration of customers joined by id.
  SegmentMatch match;
  std::optional<distributed::MigrationResult> migration;
  if (previous) {
    comm.run_agreed([&] {
      match =
          match_segments(previous->centroids, previous->identity,
                         rescale_centroids(centroids, transform.model, previous->scaling, names));
    });
  } else {
    match.identity = SegmentIdentity::first_run(final_k);
    match.previous_row.assign(final_k, -1);
  }
  std::vector<std::int32_t> stable_segments(final_assignment.segments.size());
  for (std::size_t i = 0; i < stable_segments.size(); ++i) {
    stable_segments[i] =
        static_cast<std::int32_t>(match.identity.ids[final_assignment.segments[i]]);
  }
  const std::vector<double>* values = value_feature.empty() ? nullptr : &marketing.value;
  if (previous) {
    std::vector<distributed::PreviousAssignment> previous_records;
    comm.run_agreed([&] {
      previous_records = io::read_run_assignments(
          *previous, distributed::block_of_rows(previous->customers, comm.rank(), comm.size()),
          comm.native());
    });
    const distributed::CurrentCustomers current{rows, &block.ids, &stable_segments,
                                                &final_assignment.distances, values};
    migration = distributed::compare_with_previous(
        comm, current, previous_records, migration_segments(*previous, match, actionable.value));
  }
  const bool same_value = previous && actionable.value && previous->value_feature == value_feature;
  const SegmentHistory history =
      previous ? segment_history(match.previous_row, previous->sizes,
                                 same_value ? previous->value_total : std::vector<double>{})
               : SegmentHistory{};
  actionable.priority = prioritise_segments(match.identity.ids, summary.profiles.size,
                                            actionable.value ? &*actionable.value : nullptr,
                                            previous ? &history : nullptr);
  timings.emplace_back("seconds_compare", timer.lap());

  // Write.
  RunAttributes& run = summary.run;
  run.emplace_back("configuration", describe(config));
  run.emplace_back("job_file", config.job_file);
  run.emplace_back("seed", static_cast<std::int64_t>(config.seed));
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("customers", schema.rows);
  run.emplace_back("k", static_cast<std::int64_t>(k));
  run.emplace_back("segments", static_cast<std::int64_t>(final_k));
  run.emplace_back("merged_segments", static_cast<std::int64_t>(merged));
  run.emplace_back("iterations", static_cast<std::int64_t>(model.iterations));
  run.emplace_back("converged", static_cast<std::int64_t>(model.converged));
  run.emplace_back("restarts", static_cast<std::int64_t>(config.restarts));
  run.emplace_back("best_restart", static_cast<std::int64_t>(fit.best_restart));
  run.emplace_back("previous_run", config.previous);
  run.emplace_back("warm_start", static_cast<std::int64_t>(config.warm_start));
  run.emplace_back("version_microseg", std::string(MICROSEG_VERSION));
  run.emplace_back("version_hdf5", io::hdf5_library_version());
  run.emplace_back("version_mpi", distributed::Communicator::library_version());
  run.emplace_back("version_eigen", eigen_version());
  run.emplace_back("version_boost", boost_version());
  run.insert(run.end(), timings.begin(), timings.end());
  // The write's own time cannot be inside the file it times; it is logged instead.
  AssignmentBlock assignments{rows, schema.rows, &block.ids, &stable_segments,
                              &final_assignment.distances};
  io::RunOutputs outputs;
  outputs.scaling = &transform.model;
  outputs.identity = &match.identity;
  outputs.actionable = &actionable;
  outputs.values = values;
  if (migration) {
    outputs.migration = &migration->report;
    outputs.moves = &migration->moves;
    outputs.match = &match;
    outputs.previous_run = config.previous;
  }
  comm.run_agreed(
      [&] { io::write_segmentation(config.output, comm.native(), summary, assignments, outputs); });
  const double write_seconds = timer.lap();

  if (root) {
    const QualityReport& q = summary.quality;
    log << (model.converged ? "converged" : "stopped at --max-iter") << " after "
        << model.iterations << " iterations\n"
        << "quality: inertia " << std::setprecision(10) << q.inertia << std::setprecision(6)
        << ", Calinski-Harabasz " << q.calinski_harabasz << ", Davies-Bouldin " << q.davies_bouldin
        << ", silhouette (simplified) " << q.silhouette_simplified << ", silhouette (sample of "
        << q.silhouette_sample_size << ") " << q.silhouette_sampled << "\n";
    print_profile_table(log, summary.profiles, match.identity, actionable);
    if (migration) print_migration(log, *previous, match, migration->report);
    log << "\nseconds: ";
    for (const auto& [name, value] : timings) {
      log << name.substr(8) << " " << std::fixed << std::setprecision(3) << std::get<double>(value)
          << "  ";
    }
    const std::filesystem::path out(config.output);
    log << "write " << write_seconds << std::defaultfloat << std::setprecision(6) << "\n"
        << "outputs: " << (out / "segments.h5").string() << ", " << (out / "profiles.csv").string()
        << ", " << (out / "quality.csv").string();
    if (migration) {
      log << ", " << (out / "migration.csv").string() << ", "
          << (out / "migration_matrix.csv").string();
    }
    log << "\n";
  }
}

}  // namespace microseg::app
