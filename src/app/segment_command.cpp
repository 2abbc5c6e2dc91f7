#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>

#include <boost/program_options/options_description.hpp>

#include "microseg/app/option_reader.hpp"
#include "microseg/app/provenance.hpp"
#include "microseg/app/run_summary.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/app/stop_signal.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/core/segment_description.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/sha256.hpp"
#include "microseg/distributed/migration.hpp"
#include "microseg/distributed/segment_value.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/distributed/small_segments.hpp"
#include "microseg/io/checkpoint_file.hpp"
#include "microseg/io/customer_table.hpp"
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
      ("scale", po::value<std::string>(), "zscore | minmax | robust | none (default zscore)")  //
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
       "with identical results (default auto: pruned when k >= 64 and k x d >= 2048)")  //
      ("seed", po::value<std::string>(), "random seed (default 0)")                     //
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
       "merge segments below --min-segment-size into their nearest before the final assignment")  //
      ("match-max-distance", po::value<std::string>(),
       "with --previous: a matched segment farther than this from its partner gets a fresh id; a "
       "multiple of the previous run's customer spread (default 2x), a distance, or none")  //
      ("checkpoint-every", po::value<std::string>(),
       "write OUTPUT/checkpoint.h5 every N Lloyd iterations (default 0: only when SIGUSR1 or "
       "SIGTERM stops the run)")  //
      ("resume", po::value<std::string>()->implicit_value("true"),
       "continue from OUTPUT/checkpoint.h5 if it is there (else start from the beginning)");
  add_transform_options(options);
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
      << list(match.retired_now) << " (" << match.too_far.size()
      << " of them matched beyond the cut-off " << match.max_distance << ")\n"
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
                                        const std::vector<char>& kept, std::string& value_feature,
                                        std::optional<RfmColumns>& rfm, std::ostream& log) {
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
  keep_rows(block, kept);  // the customers --missing drop left out have no profile either
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

// Every option that changes the result, as resolved for this input: a checkpoint written under
// another configuration cannot continue into the result of this one.
TextFields fit_configuration(const SegmentConfig& config, int k,
                             const std::vector<std::string>& names, const std::vector<char>& log1p,
                             InitKind init, const CentroidMatrix& given_centroids) {
  std::string features, log1p_names;
  for (std::size_t j = 0; j < names.size(); ++j) {
    features += (j ? "," : "") + names[j];
    if (log1p[j]) log1p_names += (log1p_names.empty() ? "" : ",") + names[j];
  }
  // Seeds from a file or a previous run enter by content, whatever path they came from.
  std::string given = "none";
  if (init == InitKind::file) {
    Sha256 hash;
    hash.update(given_centroids.data(),
                sizeof(double) * static_cast<std::size_t>(given_centroids.size()));
    given = "sha256:" + Sha256::hex(hash.digest());
  }
  const auto join_names = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  const auto& quantiles = config.transform.clip_quantiles;
  const std::string clip =
      quantiles.empty() ? "" : round_trip_text(quantiles[0]) + "," + round_trip_text(quantiles[1]);
  return {{"k", std::to_string(k)},
          {"features", features},
          {"scale", to_string(config.scale)},
          {"log1p", log1p_names},
          {"init", to_string(init)},
          {"initial-centroids", given},
          {"max-iter", std::to_string(config.max_iterations)},
          {"tol", round_trip_text(config.tolerance)},
          {"seed", std::to_string(config.seed)},
          {"restarts", std::to_string(config.restarts)},
          {"silhouette-sample", std::to_string(config.silhouette_sample)},
          {"previous", config.previous},
          {"warm-start", config.warm_start ? "true" : "false"},
          {"value-feature", config.value_feature},
          {"min-segment-size", config.min_segment_size.text()},
          {"merge-small", config.merge_small ? "true" : "false"},
          {"match-max-distance", config.match_cutoff.text()},
          {"missing", to_string(config.transform.missing)},
          {"one-hot", join_names(config.transform.one_hot)},
          {"clip-quantiles", clip},
          {"weights", join_names(config.transform.weights)}};
}

// Collective: "stopped on SIGUSR1" with the signal some rank received (the ranks agreed to stop
// because at least one did; under mpiexec or srun usually all did).
std::string stopped_on_signal(const distributed::Communicator& comm) {
  const auto signal = comm.max(static_cast<std::int64_t>(stop_signal_received()));
  return std::string("stopped on ") + stop_signal_name(static_cast<int>(signal));
}

// With --resume: the checkpoint to continue from, after checking that it belongs to this
// configuration and this input; nullopt when there is none (the run starts from the beginning).
std::optional<FitCheckpoint> resume_point(const distributed::Communicator& comm,
                                          const SegmentConfig& config, const std::string& path,
                                          const TextFields& configuration, const TextFields& input,
                                          int k, int d, std::ostream& log) {
  const bool present = comm.any(comm.is_root() && std::filesystem::exists(path));
  if (!config.resume) {
    if (present && comm.is_root()) {
      log << "note: " << path << " is not used without --resume; a new checkpoint replaces it\n";
    }
    return std::nullopt;
  }
  if (!present) {
    if (comm.is_root()) {
      log << "--resume: no checkpoint at " << path << ", so the run starts from the beginning\n";
    }
    return std::nullopt;
  }
  io::CheckpointRecord record;
  comm.run_agreed([&] {
    record = io::read_checkpoint(path);
    const std::string refused = "cannot resume from checkpoint '" + path + "': ";
    const std::string remedy =
        ". Resume with the options and input of the interrupted run, or run without --resume "
        "to start over (the checkpoint is then replaced)";
    const TextFields saved_input = parse_fields(record.input_fingerprint);
    if (auto difference =
            fingerprint_difference(parse_fields(record.configuration_fingerprint), configuration)) {
      throw InputError(
          refused + "it was written by a run with another configuration: " + *difference + remedy);
    }
    if (auto difference = fingerprint_difference(saved_input, input)) {
      std::string file;
      for (const auto& [key, value] : saved_input) {
        if (key == "file") file = " (that run read '" + value + "')";
      }
      throw InputError(refused + "it was written for other input data" + file + ": " + *difference +
                       remedy);
    }
    const FitCheckpoint& fit = record.fit;
    if (fit.centroids.rows() != k || fit.centroids.cols() != d || fit.initial.rows() != k ||
        fit.initial.cols() != d) {
      throw InputError(refused + "its centroids are not " + std::to_string(k) + " × " +
                       std::to_string(d) + " (the file is damaged)");
    }
  });
  if (comm.is_root()) {
    log << "resuming from " << path << ": restart " << record.fit.restart << ", after iteration "
        << record.fit.iteration << "\n";
  }
  return record.fit;
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
  config.transform = parse_transform_options(options);
  if (config.merge_small && config.min_segment_size.kind == MinimumSegmentSize::Kind::none) {
    throw InputError("segment: --merge-small needs --min-segment-size (a count or a share)");
  }
  config.match_cutoff = parse_match_cutoff(options.text("match-max-distance"));
  config.checkpoint_every = static_cast<int>(options.integer("checkpoint-every", "0", 0, 1 << 30));
  config.resume = switch_value(options, "resume");
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
       << "\nmerge-small = " << (config.merge_small ? "true" : "false")
       << "\nmatch-max-distance = " << config.match_cutoff.text()
       << "\ncheckpoint-every = " << config.checkpoint_every
       << "\nresume = " << (config.resume ? "true" : "false") << "\n"
       << describe(config.transform);
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
  const CustomerSelection selection{config.input, config.features, config.log1p_features,
                                    config.scale, config.transform};
  const InspectedInput input = inspect_customer_input(comm, selection, config.k);
  const io::CustomerTableSchema& schema = input.schema;
  const std::vector<std::string>& names = input.feature_names;
  std::optional<io::RunModel> previous;
  int k = config.k;
  std::string value_feature;
  std::optional<RfmColumns> rfm_columns;
  std::int64_t min_segment_size = 0;
  comm.run_agreed([&] {
    if (!config.previous.empty()) {
      previous = io::read_run_model(config.previous).with_feature_order(names);
    }
    if (config.warm_start && k == 0) k = previous->k();
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
  comm.run_agreed([&] {
    if (root) io::ensure_writable_directory(config.output);
  });
  CentroidMatrix given_centroids;
  if (config.init == InitKind::file && !config.warm_start) {
    comm.run_agreed([&] {
      given_centroids =
          io::read_centroids(config.init_centroids, k, static_cast<int>(names.size()));
    });
  }
  // Read and transform (one-hot, missing values, clipping, log1p, scaling, weights); with
  // --missing drop, `rows` numbers the kept customers only.
  ScaledCustomers customers = read_and_scale(comm, input);
  CustomerBlock& block = customers.block;
  const RowRange rows = customers.rows;
  const TextFields input_print =
      input_fingerprint(config.input, schema.rows, names, customers.content_digest);
  const distributed::FittedTransform& transform = customers.transform;
  if (k > customers.customers) {
    comm.agree("option --k: k = " + std::to_string(k) + " is larger than the " +
               std::to_string(customers.customers) + " customers left in '" + config.input + "'");
  }
  min_segment_size = config.min_segment_size.customers_for(customers.customers);
  const MarketingColumns marketing = read_marketing_columns(
      comm, config, schema, distributed::block_of_rows(schema.rows, comm.rank(), comm.size()),
      customers.kept, value_feature, rfm_columns, log);
  const double read_and_scale_seconds = timer.lap();
  timings.emplace_back("seconds_read", read_and_scale_seconds - customers.seconds_transform);
  timings.emplace_back("seconds_scale", customers.seconds_transform);
  if (root) {
    log << "microseg segment: " << customers.customers << " customers × " << names.size()
        << " features from " << config.input << " on " << comm.size() << " ranks, k = " << k
        << "\n";
    if (config.transform.missing == MissingPolicy::drop) {
      log << "dropped " << customers.dropped << " customers with missing values (--missing drop)\n";
    }
  }

  // Initialise and iterate, once per restart; the lowest inertia wins. A warm start maps the
  // previous centroids into this run's scaled space and starts from them.
  InitKind init = config.init;
  if (config.warm_start) {
    init = InitKind::file;
    CentroidMatrix start;
    comm.run_agreed([&] {
      start = rescale_centroids(previous->centroids, previous->scaling, transform.model, names);
    });
    // Fewer segments: the k largest previous ones; more: k-means++ draws for the rest.
    if (k < previous->k()) {
      const std::vector<int> kept = largest_segment_rows(previous->sizes, k);
      CentroidMatrix largest(k, start.cols());
      for (int s = 0; s < k; ++s) largest.row(s) = start.row(kept[s]);
      start = largest;
    }
    given_centroids =
        distributed::extend_centroids(comm, block.features, rows, start, k, config.seed);
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
  // A stop asked for while reading or scaling ends the run here: the fit has not started, so
  // there is nothing new to save, and a checkpoint from an earlier attempt is left as it was.
  const std::string checkpoint_path =
      (std::filesystem::path(config.output) / "checkpoint.h5").string();
  if (comm.any(stop_signal_received() != 0)) {
    throw distributed::FitInterrupted(
        stopped_on_signal(comm) + " before the fit started; no checkpoint was written (" +
        checkpoint_path + " is left as it was); run again to continue");
  }
  const TextFields configuration_print =
      fit_configuration(config, k, names, input.log1p, init, given_centroids);
  const std::optional<FitCheckpoint> resume =
      resume_point(comm, config, checkpoint_path, configuration_print, input_print, k,
                   static_cast<int>(names.size()), log);
  distributed::FitControl control;
  control.resume = resume ? &*resume : nullptr;
  control.checkpoint_every = config.checkpoint_every;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  FitCheckpoint last_checkpoint;
  control.write_checkpoint = [&](const FitCheckpoint& state) {
    const io::CheckpointRecord record{fields_text(configuration_print), fields_text(input_print),
                                      state};
    comm.run_agreed([&] { io::write_checkpoint(checkpoint_path, comm.native(), record); });
    last_checkpoint.restart = state.restart;
    last_checkpoint.iteration = state.iteration;
    if (root) {
      log << "checkpoint: restart " << state.restart << ", iteration " << state.iteration
          << " written to " << checkpoint_path << std::endl;
    }
  };
  distributed::FitOutcome fit;
  try {
    fit = distributed::fit_kmeans(comm, block.features, rows, init, given_centroids, settings,
                                  config.seed, config.restarts, progress, control);
  } catch (const distributed::FitInterrupted&) {
    throw distributed::FitInterrupted(
        stopped_on_signal(comm) + " after iteration " + std::to_string(last_checkpoint.iteration) +
        " of restart " + std::to_string(last_checkpoint.restart) + ": checkpoint written to " +
        checkpoint_path + "; run again with --resume to continue");
  }
  // From here on the run finishes: what is left (measure, profile, write) is short next to the
  // fit, and stopping now would throw the finished fit away.
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
  MeasuredSegmentation measured =
      measure_segmentation(comm, block.features, rows, names, centroids, transform,
                           config.silhouette_sample, config.seed);
  SegmentationSummary& summary = measured.summary;
  const distributed::FinalAssignment& final_assignment = measured.assignment;
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
    for (int s = 0; s < final_k; ++s) {
      actionable.description[s] += "; " + rfm_dominant_text(*actionable.rfm, s);
    }
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
                         rescale_centroids(centroids, transform.model, previous->scaling, names),
                         config.match_cutoff.distance_for(previous->customer_spread));
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
  RunFacts facts;
  facts.configuration = describe(config);
  facts.job_file = config.job_file;
  facts.seed = config.seed;
  facts.customers = customers.customers;
  facts.dropped_customers = customers.dropped;
  facts.k = k;
  facts.segments = final_k;
  facts.merged_segments = static_cast<std::int64_t>(merged);
  facts.iterations = model.iterations;
  facts.converged = model.converged;
  facts.restarts = config.restarts;
  facts.best_restart = fit.best_restart;
  facts.previous_run = config.previous;
  facts.warm_start = config.warm_start;
  RunAttributes& run = summary.run;
  run = run_attributes(comm, facts);
  run.insert(run.end(), timings.begin(), timings.end());
  // The write's own time cannot be inside the file it times; it is logged instead.
  AssignmentBlock assignments{rows, customers.customers, &block.ids, &stable_segments,
                              &final_assignment.distances};
  io::RunOutputs outputs;
  outputs.scaling = &transform.model;
  outputs.transform = &customers.features;
  outputs.identity = &match.identity;
  outputs.actionable = &actionable;
  outputs.values = values;
  if (migration) {
    outputs.migration = &migration->report;
    outputs.moves = &migration->moves;
    outputs.at_risk = &migration->at_risk;
    outputs.match = &match;
    outputs.previous_run = config.previous;
  }
  comm.run_agreed(
      [&] { io::write_segmentation(config.output, comm.native(), summary, assignments, outputs); });
  remove_run_manifest(comm, config.output);
  // The finished outputs supersede the checkpoint; a checkpoint left behind would only be
  // refused or, with --resume, refit what is already there.
  if (root) {
    std::error_code ignored;
    if (std::filesystem::remove(checkpoint_path, ignored)) {
      log << "removed the checkpoint " << checkpoint_path << " (the run is complete)\n";
    }
  }
  io::RunManifest manifest;
  manifest.command = "segment";
  manifest.outputs = io::segmentation_files(config.output, migration.has_value());
  manifest.input = config.input;
  manifest.input_fingerprint = input_print;
  manifest.configuration = parse_fields(describe(config));
  write_run_manifest(comm, config.output, manifest);
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
          << (out / "migration_matrix.csv").string() << ", " << (out / "at_risk.csv").string();
    }
    log << ", " << (out / "manifest.json").string() << "\n";
  }
}

}  // namespace microseg::app
