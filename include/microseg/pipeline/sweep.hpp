#pragma once
/// \file `microseg sweep` (fit every k of a list, measure, recommend one), `microseg sweep-merge`
/// (one table from the parts of a sweep split over a Slurm job array) and `microseg promote`
/// (one k of a sweep to a full run's outputs, without refitting), as pipelines: plan in, result
/// out.
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/hierarchy.hpp"
#include "microseg/core/initialisation.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/io/sweep_file.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::pipeline {

/// The first of `here`'s settings that `there` lacks or holds with another value, in words
/// ("seed = 3 there, 4 here"); empty when they agree. Used to refuse resuming or merging results
/// of different sweeps.
std::optional<std::string> settings_difference(const RunAttributes& there,
                                               const RunAttributes& here);

struct SweepPlan {
  std::string input;
  std::string output;
  std::string job_file;
  std::string k_text;   ///< --k as given
  std::vector<int> ks;  ///< the k this process fits (its --task share), ascending
  int task = 0, tasks = 1;
  int restarts = 3;
  std::vector<std::string> features;
  ScaleKind scale = ScaleKind::zscore;
  std::vector<std::string> log1p_features;
  InitKind init = InitKind::kmeans_parallel;
  int max_iterations = 300;
  double tolerance = 1e-4;
  /// Plain or pruned Lloyd steps: the same iterations bit for bit, so not a setting of the table
  LloydStepKind lloyd_step = LloydStepKind::automatic;
  std::uint64_t seed = 0;
  std::int64_t silhouette_sample = 10000;
  TransformOptions transform;  ///< --missing, --one-hot, --clip-quantiles, --weights
  /// > 0: a two-level sweep: one macro fit of macro_k segments, then every k of `ks` shared out
  /// over them by micro_k_rule (inertia or proportional) and fitted inside each
  int macro_k = 0;
  MicroBudgetRule micro_k_rule = MicroBudgetRule::inertia;
  /// The options as given, for the manifest (SegmentPlan::recorded_options).
  std::vector<std::pair<std::string, std::string>> recorded_options;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& input& output& job_file& k_text& ks& task& tasks& restarts& features& scale;
    archive& log1p_features& init& max_iterations& tolerance& seed& silhouette_sample;
    archive& transform;
    archive& macro_k& micro_k_rule;
    archive& lloyd_step;
    archive& recorded_options;
  }
};

/// What a sweep has read, before it fits anything.
struct SweepStart {
  std::int64_t customers = 0;
  int features = 0;
  int ranks = 1;
  std::int64_t bytes_read = 0;  ///< of features: customers × features × 4
  double seconds_read = 0;      ///< reading them (rank 0's clock)
};

/// Progress as it happens (the command prints on rank 0).
struct SweepProgress {
  std::function<void(const SweepStart&)> start;
  std::function<void(int k, const std::string& model_path)> kept;  ///< finished earlier
  std::function<void(int k, int restart, const LloydOutcome&, double seconds)> restart;
  std::function<void(const io::SweepModel&)> finished;
  /// A line of news: a two-level sweep's macro fit and each k's micro fits.
  std::function<void(const std::string&)> note;
};

struct SweepResult {
  io::SweepTable table;  ///< every k, with the recommendation
  double seconds = 0;
};

/// Collective: reads and scales once, then fits, measures and saves every k not already finished
/// in the output directory, then writes the table, the recommendation and the manifest. Errors
/// found before any fitting (input, k larger than the customers, a directory holding another
/// sweep) are agreed between ranks and thrown as AgreedError; a stop signal ends it between or
/// inside a k with distributed::FitInterrupted, keeping the finished k.
SweepResult sweep(const distributed::Communicator& comm, const SweepPlan& plan,
                  const SweepProgress& progress);

/// The manifest of a sweep directory `output` (docs/file-format.md, "manifest.json"): sweep.csv,
/// sweep.h5 and the model of every row of `table`, the input with its fingerprint, and the
/// table's settings followed by `extra` as the configuration. For `sweep` and `sweep-merge`.
io::RunManifest sweep_manifest(const std::string& command, const std::string& output,
                               const io::SweepTable& table, const io::TextFields& fingerprint,
                               const io::TextFields& extra);

struct SweepMergePlan {
  std::vector<std::string> parts;  ///< sweep directories, each a finished share of the sweep
  std::string output;
  std::string k_text;  ///< optional: the k values the parts must cover together
  std::vector<int> ks;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& parts& output& k_text& ks;
  }
};

struct SweepMergeResult {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> parts;  ///< each part's k
  io::SweepTable table;
};

/// Collective (rank 0 works, the others wait for its outcome): checks that the parts are finished
/// sweeps with the same settings, the same input content digest and no k twice (and cover --k
/// when given), copies their model files into the output and writes the table of every k with
/// its recommendation and the manifest: the files `microseg sweep` over all k would have written.
SweepMergeResult sweep_merge(const distributed::Communicator& comm, const SweepMergePlan& plan);

struct PromotePlan {
  std::string sweep;             ///< a sweep directory
  int k = 0;                     ///< 0: the sweep's recommended k
  std::string output;            ///< the run directory to write
  std::string input;             ///< "" for the input the sweep recorded
  bool assignments_csv = false;  ///< --assignments-csv: also write DIR/assignments.csv
  /// The options as given, for the manifest (SegmentPlan::recorded_options).
  std::vector<std::pair<std::string, std::string>> recorded_options;
  PublicationOptions publication;  ///< --privacy-min-count, --pseudonymise-ids

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& sweep& k& output& input& recorded_options& assignments_csv;
    archive& publication;
  }
};

struct PromoteResult {
  int k = 0;
  std::string model_path;
  std::int64_t customers = 0;
  QualityReport quality;
  std::vector<std::string> outputs;
  double seconds = 0;
};

/// Collective: reads the input again, checks that its transform is the one the sweep fitted (so
/// the saved centroids apply), assigns every customer to the saved centroids and writes
/// segments.h5, profiles.csv and quality.csv as `microseg segment` does, without refitting.
PromoteResult promote(const distributed::Communicator& comm, const PromotePlan& plan);

}  // namespace microseg::pipeline
