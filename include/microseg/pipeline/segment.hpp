#pragma once
/// \file `microseg segment` as one pipeline: read → transform → initialise → iterate → measure →
/// profile → compare with the previous run → write. The plan comes in (the options as parsed),
/// the result goes out (what the command prints); progress is reported as it happens.
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/hierarchy.hpp"
#include "microseg/core/initialisation.hpp"
#include "microseg/core/migration.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/segment_description.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/small_segments.hpp"
#include "microseg/core/split_tree.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::pipeline {

struct SegmentPlan {
  std::string input;
  std::string output;
  std::string job_file;               ///< the --config file, recorded for the run's provenance
  int k = 0;                          ///< 0 with --warm-start: the previous run's k
  std::vector<std::string> features;  ///< empty: every feature of the input
  ScaleKind scale = ScaleKind::zscore;
  std::vector<std::string> log1p_features;
  InitKind init = InitKind::kmeans_parallel;
  std::string init_centroids;
  int max_iterations = 300;
  double tolerance = 1e-4;
  LloydStepKind lloyd_step = LloydStepKind::automatic;  ///< plain or pruned: the same results
  std::uint64_t seed = 0;
  int restarts = 1;
  std::int64_t silhouette_sample = 10000;
  std::string previous;       ///< --previous: a run to take segment ids from and compare with
  bool warm_start = false;    ///< start from the previous run's centroids
  std::string value_feature;  ///< "" for monetary when the input has it; "none" for no value
  MinimumSegmentSize min_segment_size;
  bool merge_small = false;    ///< merge segments below min_segment_size into their nearest
  TransformOptions transform;  ///< --missing, --one-hot, --clip-quantiles, --weights
  MatchCutoff match_cutoff;    ///< --match-max-distance: beyond it a matched pair is broken
  int checkpoint_every = 0;    ///< Lloyd iterations between checkpoints; 0: only on a stop signal
  bool resume = false;         ///< continue from OUTPUT/checkpoint.h5 when it is there
  int macro_k = 0;             ///< > 0: a two-level run, k micro-segments inside macro_k segments
  MicroBudgetRule micro_k_rule = MicroBudgetRule::inertia;  ///< how k is shared out
  /// --method: flat k-means, or bisecting k-means (the app rejects it with --warm-start,
  /// --init-centroids, --merge-small, --checkpoint-every and --resume).
  FitMethod method = FitMethod::kmeans;
  BisectStrategy bisect = BisectStrategy::largest_inertia;  ///< --bisect: the leaf split next
  /// --sample-weight: the /customers dataset of per-customer weights ("" for none); the app
  /// rejects it with --macro-k, --method bisecting, --merge-small and the quantile options.
  std::string sample_weight;
  /// The options as given (paths absolute, no --output), recorded in the manifest for
  /// `microseg reproduce`.
  std::vector<std::pair<std::string, std::string>> recorded_options;
  /// --assignments-csv: also write DIR/assignments.csv (per customer, with the margin).
  bool assignments_csv = false;
  /// --privacy-min-count, --pseudonymise-ids: what the shared CSV files may show.
  PublicationOptions publication;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& input& output& job_file& k& features& scale& log1p_features& init& init_centroids;
    archive& max_iterations& tolerance& seed& restarts& silhouette_sample;
    archive& previous& warm_start& value_feature& min_segment_size& merge_small;
    archive& lloyd_step;
    archive& transform;
    archive& match_cutoff;
    archive& checkpoint_every& resume;
    archive& macro_k& micro_k_rule;
    archive& method& bisect;
    archive& sample_weight;
    archive& recorded_options;
    archive& assignments_csv;
    archive& publication;
  }
};

/// The plan as `key = value` text, as a job file would hold it (for /run and the manifest).
std::string describe(const SegmentPlan& plan);

/// What the read stage found, reported before the fit starts.
struct SegmentReadSummary {
  std::int64_t customers = 0;  ///< kept
  std::int64_t dropped = 0;    ///< for missing values (--missing drop)
  int features = 0;
  int ranks = 1;
  int k = 0;
  std::int64_t bytes_read = 0;  ///< of features: customers read × features × 4
  double seconds_read = 0;      ///< reading them (rank 0's clock)
  bool dropping = false;        ///< --missing drop
  std::string sample_weight;    ///< --sample-weight's column, "" for none
  double total_weight = 0;      ///< Σ weight of the kept customers (with --sample-weight)
};

/// Progress as it happens; every rank calls it alike (the command prints on rank 0).
struct SegmentProgress {
  std::function<void(const SegmentReadSummary&)> read;
  std::function<void(int restart, const distributed::IterationReport&)> iteration;
  /// A k-means|| oversampling round of a restart's seeding.
  std::function<void(int restart, const distributed::SeedingRound&)> seeding_round;
  /// A later phase ("metrics", "migration join") starts, then ends after `seconds`.
  std::function<void(const std::string& phase)> phase_started;
  std::function<void(const std::string& phase, double seconds)> phase_finished;
  /// A line of news: a note about the input, the checkpoint, the restarts or merges.
  std::function<void(const std::string&)> note;
};

/// A two-level comparison's macro level, for the summary.
struct PreviousMacroSummary {
  std::size_t macro_k = 0;  ///< the previous run's macro segments
  SegmentMatch match;
  MigrationReport migration;
};

/// What the previous run of a comparison was, for the summary.
struct PreviousRunSummary {
  std::string directory;
  int k = 0;
  SegmentMatch match;
  MigrationReport migration;  ///< of the micro-segments in a two-level run
  /// Both runs two-level: the macro level (the micro level's stability then counts the moves
  /// inside and across macro segments).
  std::optional<PreviousMacroSummary> macro = std::nullopt;
};

/// The macro level of a two-level run, for the summary.
struct MacroLevelResult {
  SegmentProfiles profiles;
  SegmentIdentity identity;
  QualityReport quality;
  std::vector<std::string> description;  ///< per macro segment (core describe_segments)
  std::vector<int> macro_of_segment;     ///< per micro-segment row, its macro segment's row
};

/// What a finished segmentation reports.
struct SegmentResult {
  int k = 0;           ///< fitted
  int segments = 0;    ///< after --merge-small
  LloydOutcome model;  ///< iterations, convergence of the winning restart
  QualityReport quality;
  SegmentProfiles profiles;
  SegmentIdentity identity;
  ActionableProfiles actionable;
  std::optional<PreviousRunSummary> previous;
  std::optional<MacroLevelResult> macro;  ///< a two-level run (--macro-k)
  RunAttributes timings;                  ///< the phases recorded in /run (seconds_*)
  double seconds_write = 0;               ///< logged, not recorded (the write cannot time itself)
  std::vector<std::string> outputs;       ///< the files written, manifest last
};

/// Collective: the whole run. Errors are agreed between ranks and thrown as AgreedError before
/// anything is written. A stop signal (pipeline/stop_signal.hpp) agreed during the fit writes
/// OUTPUT/checkpoint.h5 and throws distributed::FitInterrupted; outputs are not written then.
SegmentResult segment(const distributed::Communicator& comm, const SegmentPlan& plan,
                      const SegmentProgress& progress);

}  // namespace microseg::pipeline
