// The fit stage of a two-level `segment` (--macro-k): a macro fit on every customer, k shared
// out over the macro segments, and a micro fit per macro segment on its own rows.
#include <algorithm>

#include "microseg/core/assignment.hpp"
#include "microseg/core/random.hpp"
#include "microseg/distributed/partition_measures.hpp"
#include "microseg/pipeline/stop_signal.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {
namespace {

// Per macro segment, Σ of its customers' squared distances to the macro centre (exact).
std::vector<double> within_inertia(const distributed::RankRows& rows,
                                   const distributed::FinalAssignment& macro, int macro_k) {
  const FixedPointFormat format =
      FixedPointFormat::for_bound(4 * rows.max_row_norm() * rows.max_row_norm(), rows.total());
  std::vector<ExactSum> sums(static_cast<std::size_t>(macro_k), 0);
  for (std::size_t i = 0; i < macro.segments.size(); ++i) {
    sums[macro.segments[i]] += format.to_fixed(macro.distances[i] * macro.distances[i]);
  }
  rows.comm().sum_in_place(sums);
  std::vector<double> inertia;
  for (ExactSum sum : sums) inertia.push_back(format.to_double(sum));
  return inertia;
}

// How many micro-segments each macro segment gets.
std::vector<int> micro_budget(const FitStage& stage, const distributed::FinalAssignment& macro) {
  const distributed::RankRows& rows = stage.prepared.rows;
  const int macro_k = stage.plan.macro_k;
  const std::vector<std::int64_t> sizes =
      distributed::segment_sizes(rows.comm(), macro.segments, macro_k);
  std::vector<double> weights;
  if (stage.plan.micro_k_rule == MicroBudgetRule::proportional) {
    weights.assign(sizes.begin(), sizes.end());
  } else {
    weights = within_inertia(rows, macro, macro_k);
  }
  return share_out(weights, sizes, stage.inputs.k);
}

distributed::FitSettings micro_settings(const FitStage& stage, int k, int macro_segment) {
  distributed::FitSettings settings;
  settings.lloyd.k = k;
  settings.lloyd.max_iterations = stage.plan.max_iterations;
  settings.lloyd.tolerance = stage.plan.tolerance;
  settings.lloyd.mean_variance = distributed::mean_scaled_variance(stage.prepared.transform);
  settings.lloyd.step = stage.plan.lloyd_step;
  settings.seed = keyed_hash(stage.plan.seed, RandomStream::micro_fit,
                             static_cast<std::uint64_t>(macro_segment));
  settings.restarts = stage.plan.restarts;
  return settings;
}

// One macro segment's micro fit on its rows (a table of their own in global order, on the ranks
// that hold them), and each of those rows' micro-segment written back at its place.
void fit_micro_segments(const FitStage& stage, int macro_segment, int k, TwoLevelModel& model) {
  const distributed::RankRows& rows = stage.prepared.rows;
  std::vector<char> members(model.macro.segments.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    members[i] = model.macro.segments[i] == macro_segment;
  }
  const distributed::RankRows part = rows.subset(members);
  distributed::FitControl control;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  const distributed::FitOutcome fit =
      distributed::fit_kmeans(part, *distributed::make_seeding(stage.plan.init),
                              micro_settings(stage, k, macro_segment), control);
  const NearestTwo local = nearest_two(part.features(), fit.model.centroids);
  const int first = model.hierarchy.first[macro_segment];
  model.micro_centroids.middleRows(first, k) = fit.model.centroids;
  std::size_t at = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!members[i]) continue;
    model.micro.nearest[i] = first + local.nearest[at];
    model.micro.nearest_distance[i] = local.nearest_distance[at];
    ++at;
  }
  model.micro_fits.push_back(fit.model);
  model.macro_fit.seconds_init += fit.seconds_init;  // the run's init and iterate phases
  model.macro_fit.seconds_iterate += fit.seconds_iterate;
  if (stage.progress.note) {
    stage.progress.note(
        "macro segment " + std::to_string(macro_segment) + ": " + std::to_string(part.total()) +
        " customers, " + std::to_string(k) + " micro-segments, " +
        std::to_string(fit.model.iterations) +
        (fit.model.converged ? " iterations, converged" : " iterations, stopped at --max-iter"));
  }
}

// The nearest micro centroid other than a row's own, of any macro segment: the simplified
// silhouette's second distance.
void second_nearest_micro(const distributed::RankRows& rows, TwoLevelModel& model) {
  const NearestTwo all = nearest_two(rows.features(), model.micro_centroids);
  NearestTwo& micro = model.micro;
  for (std::size_t i = 0; i < micro.nearest.size(); ++i) {
    const bool own_is_nearest = all.nearest[i] == micro.nearest[i];
    micro.second[i] = own_is_nearest ? all.second[i] : all.nearest[i];
    micro.second_distance[i] = own_is_nearest ? all.second_distance[i] : all.nearest_distance[i];
  }
}

}  // namespace

TwoLevelModel fit_two_levels(const distributed::Communicator& comm, const FitStage& stage) {
  const distributed::RankRows& rows = stage.prepared.rows;
  TwoLevelModel model;
  FitStage macro_stage = stage;
  macro_stage.k = stage.plan.macro_k;
  model.macro_fit = fit_segments(comm, macro_stage);
  model.macro = distributed::assign_and_measure(rows, model.macro_fit.model.centroids,
                                                {stage.plan.silhouette_sample, stage.plan.seed},
                                                std::move(model.macro_fit.best_nearest));
  model.macro_fit.best_nearest.reset();
  const std::vector<int> budget = micro_budget(stage, model.macro);
  model.hierarchy = SegmentHierarchy::from_counts(budget);
  model.micro_centroids.resize(model.hierarchy.micro_k(), rows.d());
  const std::size_t n = model.macro.segments.size();
  model.micro.nearest.assign(n, -1);
  model.micro.second.assign(n, -1);
  model.micro.nearest_distance.assign(n, 0.0);
  model.micro.second_distance.assign(n, 0.0);
  for (int m = 0; m < stage.plan.macro_k; ++m) {
    if (stop_agreed(comm)) {
      throw distributed::FitInterrupted(
          stopped_on_signal(comm) + " before the micro fit of macro segment " + std::to_string(m) +
          "; two-level runs keep no checkpoint "
          "yet, so the run starts from the beginning next time");
    }
    fit_micro_segments(stage, m, budget[m], model);
  }
  second_nearest_micro(rows, model);
  return model;
}

}  // namespace microseg::pipeline::detail
