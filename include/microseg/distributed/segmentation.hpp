#pragma once
/// \file The distributed stages of a segmentation: each combines the core kernels over a rank's
/// rows with exact reductions through the Communicator, so every rank ends with the same model
/// whatever the rank count.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/fit_state.hpp"
#include "microseg/core/initialisation.hpp"
#include "microseg/core/profile.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

using microseg::FitCheckpoint;
using microseg::LloydOutcome;

/// Global count, mean, population std, min and max of every column (exact sums, two passes).
FeatureStatistics feature_statistics(const Communicator& comm, const FeatureMatrix& features);

/// Fails on every rank, naming the file, feature, count and first customer id, if any feature
/// value is NaN or ±Inf.
void check_finite(const Communicator& comm, const CustomerBlock& block, const std::string& path);

/// Fails on every rank, naming the file, the count and the smallest duplicated id, if any
/// customer id appears twice. Ids are hash-partitioned across ranks; no rank sees all ids, and
/// they travel in rounds of at most `ids_per_round` per rank to bound the memory.
void check_unique_ids(const Communicator& comm, const std::vector<std::int64_t>& ids,
                      const std::string& path, std::int64_t ids_per_round = std::int64_t{1} << 21);

/// The fitted transform of the features, applied in place: log1p where flagged, then scaling.
struct FittedTransform {
  ScalingModel model;
  FeatureStatistics statistics;  ///< of the log1p-transformed features, before scaling
};
FittedTransform fit_and_apply_transform(const Communicator& comm, CustomerBlock& block,
                                        ScaleKind kind, const std::vector<char>& log1p);

/// Mean over features of the variance of the scaled features (scikit-learn's tolerance unit).
double mean_scaled_variance(const FittedTransform& transform);

/// Seeds chosen among the rows: k-means++ (one weighted draw per centre) or k-means|| (a few
/// oversampling rounds, then weighted k-means++ on the candidates). Draws are keyed by global row
/// index, so the seeds do not depend on the rank count.
CentroidMatrix initial_centroids(const Communicator& comm, const FeatureMatrix& features,
                                 RowRange rows, int k, InitKind kind, std::uint64_t seed);

/// `start` (in the scaled space) completed to k centres by k-means++: each further centre is a
/// D²-weighted draw (distances to every centre so far, `start` included) keyed by its index, so
/// the result does not depend on the rank count. With start.rows() ≥ k, its first k rows.
CentroidMatrix extend_centroids(const Communicator& comm, const FeatureMatrix& features,
                                RowRange rows, const CentroidMatrix& start, int k,
                                std::uint64_t seed);

struct LloydSettings {
  int k = 8;
  int max_iterations = 300;
  double tolerance = 1e-4;  ///< relative to the mean feature variance, as scikit-learn
  double mean_variance = 1;
  /// Plain or pruned assignment; both give the same iterations bit for bit.
  LloydStepKind step = LloydStepKind::automatic;
};

/// One line of progress per iteration.
struct IterationReport {
  int iteration;
  double inertia;           ///< against the centroids the iteration started from
  double relative_shift;    ///< total squared centroid shift / mean variance
  std::int64_t reassigned;  ///< rows whose segment changed
  double seconds;
};

/// Lloyd iterations: one allreduce of exact per-segment sums per iteration. Stops after
/// max_iterations, when no row changes segment, or when the total squared centroid shift is at
/// most tolerance × mean variance. An empty segment is re-seeded from the rows farthest from
/// their centroids (ties to the lowest global row), never left empty or NaN.
LloydOutcome run_lloyd(const Communicator& comm, const FeatureMatrix& features, RowRange rows,
                       const CentroidMatrix& initial, const LloydSettings& settings,
                       const std::function<void(const IterationReport&)>& on_iteration);

/// Seeding plus Lloyd iterations, `restarts` times with different draws; the run of lowest
/// inertia wins (ties to the earliest). Restart 0 uses `seed` itself, so one restart is exactly
/// initial_centroids + run_lloyd. `given` is used as the seeds (every restart) when kind is file.
struct FitOutcome {
  LloydOutcome model;
  CentroidMatrix initial;  ///< the seeds of the winning restart
  int best_restart = 0;
  std::vector<double> restart_inertias;
  double seconds_init = 0, seconds_iterate = 0;  ///< summed over restarts
};
/// Hooks for long runs: where to resume from, when to checkpoint, when to stop early.
struct FitControl {
  const FitCheckpoint* resume = nullptr;
  int checkpoint_every = 0;  ///< iterations between checkpoints; 0: only when stopping
  /// Called on every rank with the same checkpoint; the caller writes it (rank 0).
  std::function<void(const FitCheckpoint&)> write_checkpoint;
  /// This rank's wish to stop (e.g. a signal arrived). Ranks agree after every iteration; when
  /// any rank asks, every rank writes a checkpoint and throws FitInterrupted.
  std::function<bool()> stop_requested;
};

/// Thrown on every rank when a fit stopped at FitControl::stop_requested after checkpointing.
class FitInterrupted : public AgreedError {
 public:
  using AgreedError::AgreedError;
};

FitOutcome fit_kmeans(const Communicator& comm, const FeatureMatrix& features, RowRange rows,
                      InitKind kind, const CentroidMatrix& given, const LloydSettings& settings,
                      std::uint64_t seed, int restarts,
                      const std::function<void(int restart, const IterationReport&)>& on_iteration,
                      const FitControl& control = {});

/// The final assignment of every row to the model and the quality of the model.
struct FinalAssignment {
  std::vector<std::int32_t> segments;
  std::vector<double> distances;  ///< Euclidean, scaled space
  QualityReport quality;
};
FinalAssignment assign_and_measure(const Communicator& comm, const FeatureMatrix& features,
                                   RowRange rows, const CentroidMatrix& centroids,
                                   std::int64_t silhouette_sample, std::uint64_t seed);

/// Segment profiles in original units (inverse of the transform), plus the population.
SegmentProfiles profile_segments(const Communicator& comm, const FeatureMatrix& scaled,
                                 const std::vector<std::int32_t>& segments, int k,
                                 const FittedTransform& transform);

/// The centroids mapped back through the transform, in original units.
CentroidMatrix centroids_in_original_units(const CentroidMatrix& scaled, const ScalingModel& model);

}  // namespace microseg::distributed
