#include "microseg/distributed/kmeans_fit.hpp"

#include <algorithm>
#include <memory>

#include "microseg/core/first_items.hpp"
#include "microseg/core/k_selection.hpp"
#include "microseg/core/lloyd_step.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "microseg/distributed/quality.hpp"
#include "microseg/distributed/stall_watchdog.hpp"

namespace microseg::distributed {
namespace {

// Rows farthest from their centroids, best first: (squared distance descending, global row
// ascending), the same order for any rank count.
struct FarRow {
  float squared_distance;
  std::int64_t global_row;
};

bool farther(const FarRow& a, const FarRow& b) {
  if (a.squared_distance != b.squared_distance) return a.squared_distance > b.squared_distance;
  return a.global_row < b.global_row;
}

// A segment with no rows, or with weights none of positive weight, takes the farthest rows; with
// weights only rows of positive weight qualify (a row of weight 0 would leave it empty).
void reseed_empty_segments(const RankRows& rows, const std::vector<float>& squared_distances,
                           const LloydSums& sums, CentroidMatrix& centroids) {
  std::vector<int> empty;
  for (std::size_t c = 0; c < sums.counts.size(); ++c) {
    if (segment_is_empty(sums, c)) empty.push_back(static_cast<int>(c));
  }
  if (empty.empty()) return;
  const std::vector<float>& weights = rows.weights();
  const std::vector<FarRow> local = first_items<FarRow>(
      squared_distances.size(), empty.size(),
      [&](std::size_t i) {
        const bool counts = weights.empty() || weights[i] > 0;
        return FarRow{counts ? squared_distances[i] : -1.0f,
                      rows.rows().begin + static_cast<std::int64_t>(i)};
      },
      farther);
  std::vector<FarRow> all = rows.comm().all_gather(local);
  std::sort(all.begin(), all.end(), farther);
  // Rows of weight 0 were ranked below every other (squared distances are never negative).
  all.erase(
      std::find_if(all.begin(), all.end(), [](const FarRow& r) { return r.squared_distance < 0; }),
      all.end());
  for (std::size_t e = 0; e < empty.size() && e < all.size(); ++e) {
    const std::vector<double> row = rows.broadcast_row(all[e].global_row);
    for (Eigen::Index j = 0; j < centroids.cols(); ++j) centroids(empty[e], j) = row[j];
  }
}

// Where a run of Lloyd iterations starts, and what it tells its caller after each one.
struct LloydHooks {
  int first_iteration = 1;
  std::function<void(const IterationReport&)> on_iteration;
  /// May end the loop by returning true (a stop was agreed).
  std::function<bool(int iteration, const CentroidMatrix&)> after_iteration;
};

// The grids of a fit's Lloyd sums: per feature from max |x| (max |w·x| with weights) and, with
// weights, one for Σ w.
struct LloydGrids {
  explicit LloydGrids(const RankRows& rows)
      : weight(FixedPointFormat64::for_bound(rows.weight_bound(), rows.total())) {
    for (double bound : rows.weighted_feature_bounds()) {
      features.push_back(FixedPointFormat64::for_bound(bound, rows.total()));
    }
  }
  std::vector<FixedPointFormat64> features;
  FixedPointFormat64 weight;
};

// The exact Σ d² of an iteration, or with weights Σ w·d², each w·d² rounded to float once per
// row (the same on any rank), summed per float exponent: a few integer operations per row.
FloatExactSum iteration_inertia(const RankRows& rows, const std::vector<float>& squared) {
  FloatExactSum inertia;
  if (!rows.weighted()) {
    inertia.add(squared.data(), squared.size());
    return inertia;
  }
  std::vector<float> terms(squared.size());
  for (std::size_t i = 0; i < squared.size(); ++i) terms[i] = rows.weights()[i] * squared[i];
  inertia.add(terms.data(), terms.size());
  return inertia;
}

// One iteration: assign and sum locally, one allreduce of everything integer (sums, counts,
// weights, reassigned, the inertia's exponent bins), new centroids, empty segments re-seeded.
IterationReport lloyd_iteration(const RankRows& rows, LloydStep& step, const LloydGrids& grids,
                                CentroidMatrix& centroids) {
  const Stopwatch stopwatch;
  const auto k = static_cast<int>(centroids.rows());
  LloydSums sums(k, rows.d(), rows.weighted());
  step.step(centroids, sums);
  const std::vector<float>& squared_distances = step.squared_distances();
  FloatExactSum inertia_sum = iteration_inertia(rows, squared_distances);
  std::vector<std::int64_t> reassigned{sums.reassigned};
  if (rows.weighted()) {
    rows.comm().sum_in_place(
        {&sums.sums, &sums.counts, &sums.weights, &reassigned, &inertia_sum.bins});
  } else {
    rows.comm().sum_in_place({&sums.sums, &sums.counts, &reassigned, &inertia_sum.bins});
  }
  CentroidMatrix updated = centroids_from_sums(sums, grids.features, centroids, grids.weight);
  reseed_empty_segments(rows, squared_distances, sums, updated);
  const double shift = total_squared_shift(centroids, updated);
  centroids = std::move(updated);
  return {0, inertia_sum.total(), shift, reassigned[0], stopwatch.elapsed()};
}

LloydOutcome lloyd_iterations(const RankRows& rows, const CentroidMatrix& initial,
                              const LloydSettings& settings, const LloydHooks& hooks) {
  const LloydGrids grids(rows);
  const double tolerance = settings.tolerance * settings.mean_variance;
  const std::unique_ptr<LloydStep> step =
      make_lloyd_step(settings.step,
                      LloydRows{rows.features(), rows.row_norms(), grids.features,
                                rows.lloyd_weights(), grids.weight},
                      settings.k);
  LloydOutcome outcome;
  outcome.centroids = initial;
  outcome.iterations = hooks.first_iteration - 1;
  for (int iteration = hooks.first_iteration; iteration <= settings.max_iterations; ++iteration) {
    IterationReport report = lloyd_iteration(rows, *step, grids, outcome.centroids);
    const double shift = report.relative_shift;
    report.iteration = iteration;
    if (settings.mean_variance > 0) report.relative_shift = shift / settings.mean_variance;
    outcome.iterations = iteration;
    outcome.inertia = report.inertia;
    if (hooks.on_iteration) hooks.on_iteration(report);
    maybe_inject_failure(rows.comm(), "iteration");
    // Unchanged labels give unchanged centroids (shift 0), so the shift test alone decides; it
    // needs no labels from the previous iteration, which a resumed run does not have.
    if (shift <= tolerance) {
      outcome.converged = true;
      break;
    }
    if (hooks.after_iteration && hooks.after_iteration(iteration, outcome.centroids)) break;
  }
  return outcome;
}

// The fit across restarts: what is needed to continue it (the checkpoint's state) and what the
// caller gets back.
struct RestartLoop {
  const RankRows& rows;
  const Seeding& seeding;
  const FitSettings& settings;
  const FitControl& control;
  FitCheckpoint state;  // the best finished restart so far, and where the current one stands
  FitOutcome outcome;
};

// One restart, from its seeds (or from the checkpoint when resuming); throws FitInterrupted
// after writing a checkpoint when the ranks agree to stop.
LloydOutcome run_restart(RestartLoop& loop, int restart, bool resuming, CentroidMatrix& initial) {
  const FitControl& control = loop.control;
  Stopwatch stopwatch;
  if (!resuming) enter_phase(loop.rows.comm(), "seeding");
  initial = resuming ? control.resume->initial
                     : loop.seeding.seed(loop.rows, loop.settings.lloyd.k,
                                         restart_seed(loop.settings.seed, restart),
                                         [&](const SeedingRound& round) {
                                           if (control.on_seeding_round) {
                                             control.on_seeding_round(restart, round);
                                           }
                                         });
  loop.outcome.seconds_init += stopwatch.lap();
  bool interrupted = false;
  LloydHooks hooks;
  hooks.first_iteration = resuming ? control.resume->iteration + 1 : 1;
  hooks.on_iteration = [&](const IterationReport& report) {
    if (control.on_iteration) control.on_iteration(restart, report);
  };
  hooks.after_iteration = [&](int iteration, const CentroidMatrix& centroids) {
    const bool stop = loop.rows.comm().any(control.stop_requested && control.stop_requested());
    const bool due = control.checkpoint_every > 0 && iteration % control.checkpoint_every == 0;
    if ((stop || due) && control.write_checkpoint) {
      loop.state.restart = restart;
      loop.state.iteration = iteration;
      loop.state.centroids = centroids;
      loop.state.initial = initial;
      control.write_checkpoint(loop.state);
    }
    interrupted = stop;
    return stop;
  };
  mark_phase("iteration");
  LloydOutcome model = lloyd_iterations(loop.rows, resuming ? control.resume->centroids : initial,
                                        loop.settings.lloyd, hooks);
  loop.outcome.seconds_iterate += stopwatch.lap();
  if (interrupted) {
    throw FitInterrupted("stopped on request after iteration " +
                         std::to_string(loop.state.iteration) + " of restart " +
                         std::to_string(restart) + "; a checkpoint was written");
  }
  return model;
}

// Several restarts are compared by the inertia the run reports (exact distances to the final
// centroids, core nearest_two), computed once per restart; the winner's assignment is kept.
void compare_restart(RestartLoop& loop, LloydOutcome& model, bool& best) {
  if (loop.settings.restarts <= 1) return;
  NearestTwo nearest = nearest_two(loop.rows.features(), model.centroids);
  model.inertia = exact_inertia(loop.rows, nearest.nearest_distance);
  best = loop.state.best_restart < 0 || model.inertia < loop.state.best_model.inertia;
  if (loop.settings.keep_restart_labels) loop.outcome.restart_labels.push_back(nearest.nearest);
  if (best) loop.outcome.best_nearest = std::move(nearest);
}

}  // namespace

LloydOutcome run_lloyd(const RankRows& rows, const CentroidMatrix& initial,
                       const LloydSettings& settings,
                       const std::function<void(const IterationReport&)>& on_iteration) {
  LloydHooks hooks;
  hooks.on_iteration = on_iteration;
  return lloyd_iterations(rows, initial, settings, hooks);
}

FitOutcome fit_kmeans(const RankRows& rows, const Seeding& seeding, const FitSettings& settings,
                      const FitControl& control) {
  RestartLoop loop{rows, seeding, settings, control, {}, {}};
  if (control.resume) loop.state = *control.resume;
  const int first_restart = control.resume ? control.resume->restart : 0;
  for (int restart = first_restart; restart < std::max(1, settings.restarts); ++restart) {
    const Stopwatch stopwatch;
    CentroidMatrix initial;
    LloydOutcome model =
        run_restart(loop, restart, control.resume && restart == first_restart, initial);
    bool best = loop.state.best_restart < 0 || model.inertia < loop.state.best_model.inertia;
    compare_restart(loop, model, best);
    loop.state.restart_inertias.push_back(model.inertia);
    loop.outcome.restarts.push_back(model);
    if (control.on_restart) control.on_restart(restart, model, stopwatch.elapsed());
    if (best) {
      loop.state.best_model = std::move(model);
      loop.state.best_initial = std::move(initial);
      loop.state.best_restart = restart;
    }
  }
  FitOutcome& outcome = loop.outcome;
  outcome.model = loop.state.best_model;
  outcome.initial = loop.state.best_initial;
  outcome.best_restart = loop.state.best_restart;
  outcome.restart_inertias = loop.state.restart_inertias;
  return outcome;
}

}  // namespace microseg::distributed
