#pragma once
/// \file A k-means fit across ranks: seeding and Lloyd iterations, restarted with different draws
/// and the lowest inertia kept, with checkpoints to continue a long fit and an agreed stop.
/// One allreduce of exact per-segment sums per iteration, so every rank ends with the same model
/// whatever the rank count.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/fit_state.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/distributed/rank_rows.hpp"
#include "microseg/distributed/seeding.hpp"

namespace microseg::distributed {

using microseg::FitCheckpoint;
using microseg::LloydOutcome;

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
LloydOutcome run_lloyd(const RankRows& rows, const CentroidMatrix& initial,
                       const LloydSettings& settings,
                       const std::function<void(const IterationReport&)>& on_iteration = {});

/// What a fit does besides Lloyd's settings.
struct FitSettings {
  LloydSettings lloyd;
  std::uint64_t seed = 0;
  int restarts = 1;  ///< seedings + fits; restart 0 uses `seed` itself (core restart_seed)
  /// Keep every restart's labels under its final centroids (a sweep's stability needs them).
  bool keep_restart_labels = false;
};

/// Hooks for long runs: progress, where to resume from, when to checkpoint, when to stop early.
struct FitControl {
  std::function<void(int restart, const IterationReport&)> on_iteration;
  /// After each round of a restart's seeding (k-means|| only).
  std::function<void(int restart, const SeedingRound&)> on_seeding_round;
  /// After each restart: its outcome (inertia as the fit compares restarts) and its seconds.
  std::function<void(int restart, const LloydOutcome&, double seconds)> on_restart;
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

struct FitOutcome {
  LloydOutcome model;      ///< the winning restart
  CentroidMatrix initial;  ///< its seeds
  int best_restart = 0;
  std::vector<double> restart_inertias;
  /// Every restart run by this call (not those before a resume), in order.
  std::vector<LloydOutcome> restarts;
  std::vector<std::vector<std::int32_t>> restart_labels;  ///< with keep_restart_labels
  /// With several restarts the winner's final assignment was computed to compare them: kept so
  /// the final assignment need not repeat it.
  std::optional<NearestTwo> best_nearest;
  double seconds_init = 0, seconds_iterate = 0;  ///< summed over restarts
};

/// Seeding plus Lloyd iterations, `restarts` times with different draws; the restart of lowest
/// inertia wins (ties to the earliest). With several restarts they are compared by the inertia
/// the run reports (exact distances to the final centroids), so the winner is never worse by it.
FitOutcome fit_kmeans(const RankRows& rows, const Seeding& seeding, const FitSettings& settings,
                      const FitControl& control = {});

}  // namespace microseg::distributed
