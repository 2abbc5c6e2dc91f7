// The fit stage of a two-level `segment` (--macro-k): a macro fit on every customer, k shared
// out over the macro segments, and a micro fit per macro segment on its own rows, with one
// checkpoint file for both levels.
#include <algorithm>
#include <limits>

#include "microseg/core/assignment.hpp"
#include "microseg/core/k_selection.hpp"
#include "microseg/core/partition_agreement.hpp"
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
  return share_out(weights, sizes, stage.fit_k());
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
  settings.keep_restart_labels =
      stage.plan.micro_k_rule == MicroBudgetRule::sweep || stage.keep_restart_labels;
  return settings;
}

// One macro segment's micro fit, on that segment's rows.
struct MicroFit {
  distributed::FitOutcome fit;
  NearestTwo local;  // per member row, its micro-segment among this fit's
};

MicroFit fit_part(const FitStage& stage, const distributed::RankRows& part, int k,
                  int macro_segment) {
  distributed::FitControl control;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  MicroFit micro;
  micro.fit = distributed::fit_kmeans(part, *distributed::make_seeding(stage.plan.init),
                                      micro_settings(stage, k, macro_segment), control);
  micro.local = micro.fit.best_nearest ? std::move(*micro.fit.best_nearest)
                                       : nearest_two(part.features(), micro.fit.model.centroids);
  micro.fit.best_nearest.reset();
  return micro;
}

// The sweep rule's measures of one candidate k (core recommend_k): inertia, Davies-Bouldin, the
// sampled silhouette, and the restarts' agreement (NaN with one restart).
SweepRow candidate_row(const FitStage& stage, const distributed::RankRows& part, int k,
                       MicroFit& micro) {
  const distributed::FinalAssignment measured =
      distributed::assign_and_measure(part, micro.fit.model.centroids,
                                      {stage.plan.silhouette_sample, stage.plan.seed}, micro.local);
  SweepRow row;
  row.k = k;
  row.inertia = measured.quality.inertia;
  row.calinski_harabasz = measured.quality.calinski_harabasz;
  row.davies_bouldin = measured.quality.davies_bouldin;
  row.silhouette_sampled = measured.quality.silhouette_sampled;
  const auto& labels = micro.fit.restart_labels;
  double agreement = 0;
  int pairs = 0;
  for (std::size_t a = 0; a < labels.size(); ++a) {
    for (std::size_t b = a + 1; b < labels.size(); ++b) {
      agreement += adjusted_rand_index(
          distributed::contingency_table(part.comm(), labels[a], labels[b], k, k), k, k);
      ++pairs;
    }
  }
  row.stability = pairs > 0 ? agreement / pairs : std::numeric_limits<double>::quiet_NaN();
  micro.fit.restart_labels.clear();
  return row;
}

// --micro-k-rule sweep: the k of at most 7 candidates from half to twice the inertia share,
// chosen by the sweep's rule (core recommend_k).
MicroFit sweep_part(const FitStage& stage, const distributed::RankRows& part, int share,
                    int macro_segment) {
  const int low = std::max(1, (share + 1) / 2);
  const int high = static_cast<int>(std::min<std::int64_t>(2 * share, part.total()));
  const int step = std::max(1, (high - low + 5) / 6);
  std::vector<SweepRow> rows;
  std::vector<MicroFit> fits;
  for (int k = low; k <= high; k += step) {
    fits.push_back(fit_part(stage, part, k, macro_segment));
    rows.push_back(candidate_row(stage, part, k, fits.back()));
  }
  const std::int64_t chosen = recommend_k(rows).k;
  for (std::size_t c = 0; c < rows.size(); ++c) {
    if (rows[c].k == chosen) return std::move(fits[c]);
  }
  return std::move(fits.front());
}

// One macro segment's micro fit on its rows (a table of their own in global order, on the ranks
// that hold them).
MicroFit fit_micro_segments(const FitStage& stage, const std::vector<char>& members, int share,
                            int macro_segment) {
  const distributed::RankRows part = stage.prepared.rows.subset(members);
  MicroFit micro = stage.plan.micro_k_rule == MicroBudgetRule::sweep
                       ? sweep_part(stage, part, share, macro_segment)
                       : fit_part(stage, part, share, macro_segment);
  if (stage.progress.note) {
    const LloydOutcome& model = micro.fit.model;
    stage.progress.note(
        "macro segment " + std::to_string(macro_segment) + ": " + std::to_string(part.total()) +
        " customers, " + std::to_string(model.centroids.rows()) + " micro-segments, " +
        std::to_string(model.iterations) +
        (model.converged ? " iterations, converged" : " iterations, stopped at --max-iter"));
  }
  return micro;
}

// A macro segment whose micro fit a checkpoint holds: its centroids as they were, and each
// member row's micro-segment computed again as the fit computed it (core nearest_two).
MicroFit resumed_micro_fit(const FitStage& stage, const std::vector<char>& members,
                           const LloydOutcome& saved, int macro_segment) {
  const distributed::RankRows part = stage.prepared.rows.subset(members);
  MicroFit micro;
  micro.fit.model = saved;
  micro.local = nearest_two(part.features(), saved.centroids);
  if (stage.progress.note) {
    stage.progress.note("macro segment " + std::to_string(macro_segment) + ": " +
                        std::to_string(part.total()) + " customers, " +
                        std::to_string(saved.centroids.rows()) +
                        " micro-segments, from the checkpoint");
  }
  return micro;
}

// The state a two-level run continues from once its macro fit is done: the macro fit as a
// checkpoint with no restart left to run, and the micro fits finished so far.
io::CheckpointRecord micro_level_record(const distributed::FitOutcome& macro, int restarts,
                                        const std::vector<MicroFit>& fits) {
  io::CheckpointRecord record;
  FitCheckpoint& state = record.fit;
  state.restart = std::max(1, restarts);
  state.centroids = macro.model.centroids;
  state.initial = macro.initial;
  state.best_restart = macro.best_restart;
  state.best_model = macro.model;
  state.best_initial = macro.initial;
  state.restart_inertias = macro.restart_inertias;
  record.finished_micro_fits.emplace();
  for (const MicroFit& micro : fits) record.finished_micro_fits->push_back(micro.fit.model);
  return record;
}

// The micro fits of every macro segment, in order: those a checkpoint holds taken from it, the
// others fitted. With a checkpoint place (segment), a stop writes a checkpoint of the macro
// segments done (the one being fitted starts over on resume: its seeds are keyed by the seed and
// the macro segment, so it ends as it would have), and with --checkpoint-every one is written
// after every macro segment. Without one (a sweep, which keeps finished k instead) a stop only
// ends the fit.
std::vector<MicroFit> fit_every_micro_level(const distributed::Communicator& comm,
                                            const FitStage& stage, const FitStart* checkpoint,
                                            const TwoLevelModel& model) {
  const std::vector<int> budget = micro_budget(stage, model.macro);
  const std::size_t n = model.macro.segments.size();
  const auto done = checkpoint && checkpoint->resumed && checkpoint->resumed->finished_micro_fits
                        ? *checkpoint->resumed->finished_micro_fits
                        : std::vector<LloydOutcome>{};
  const auto save = [&](const std::vector<MicroFit>& fits) {
    if (!checkpoint) return;
    write_fit_checkpoint(comm, stage, checkpoint->place,
                         micro_level_record(model.macro_fit, stage.plan.restarts, fits));
  };
  std::vector<MicroFit> fits;
  for (int m = 0; m < stage.plan.macro_k; ++m) {
    std::vector<char> members(n);
    for (std::size_t i = 0; i < n; ++i) members[i] = model.macro.segments[i] == m;
    if (static_cast<std::size_t>(m) < done.size()) {
      fits.push_back(resumed_micro_fit(stage, members, done[static_cast<std::size_t>(m)], m));
      continue;
    }
    const std::string stopped = " the micro fit of macro segment " + std::to_string(m) +
                                (checkpoint ? ": checkpoint written to " + checkpoint->place.path +
                                                  "; run again with --resume to continue"
                                            : std::string());
    if (stop_agreed(comm)) {
      save(fits);
      throw distributed::FitInterrupted(stopped_on_signal(comm) + " before" + stopped);
    }
    try {
      fits.push_back(fit_micro_segments(stage, members, budget[m], m));
    } catch (const distributed::FitInterrupted&) {
      save(fits);
      throw distributed::FitInterrupted(stopped_on_signal(comm) + " during" + stopped);
    }
    if (checkpoint && stage.plan.checkpoint_every > 0 && m + 1 < stage.plan.macro_k) save(fits);
  }
  return fits;
}

// The micro fits put together: the hierarchy, the micro centroids in macro order, and each row's
// micro-segment written back at its place.
void assemble(std::vector<MicroFit>& fits, TwoLevelModel& model) {
  std::vector<int> counts;
  for (const MicroFit& micro : fits) {
    counts.push_back(static_cast<int>(micro.fit.model.centroids.rows()));
  }
  model.hierarchy = SegmentHierarchy::from_counts(counts);
  model.micro_centroids.resize(model.hierarchy.micro_k(), fits.front().fit.model.centroids.cols());
  std::vector<std::size_t> next(fits.size(), 0);
  for (std::size_t i = 0; i < model.macro.segments.size(); ++i) {
    const int m = model.macro.segments[i];
    const NearestTwo& local = fits[static_cast<std::size_t>(m)].local;
    const std::size_t at = next[static_cast<std::size_t>(m)]++;
    model.micro.nearest[i] = model.hierarchy.first[m] + local.nearest[at];
    model.micro.nearest_distance[i] = local.nearest_distance[at];
  }
  for (std::size_t m = 0; m < fits.size(); ++m) {
    const LloydOutcome& outcome = fits[m].fit.model;
    model.micro_centroids.middleRows(model.hierarchy.first[m], outcome.centroids.rows()) =
        outcome.centroids;
    model.macro_fit.seconds_init += fits[m].fit.seconds_init;  // the run's init and iterate
    model.macro_fit.seconds_iterate += fits[m].fit.seconds_iterate;
    model.micro_fits.push_back(std::move(fits[m].fit));
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

TwoLevelModel measure_macro_level(const FitStage& stage, distributed::FitOutcome macro_fit) {
  TwoLevelModel model;
  model.macro_fit = std::move(macro_fit);
  model.macro = distributed::assign_and_measure(
      stage.prepared.rows, model.macro_fit.model.centroids,
      {stage.plan.silhouette_sample, stage.plan.seed}, std::move(model.macro_fit.best_nearest));
  model.macro_fit.best_nearest.reset();
  return model;
}

void fit_micro_levels(const distributed::Communicator& comm, const FitStage& stage,
                      TwoLevelModel& model, const FitStart* checkpoint) {
  const distributed::RankRows& rows = stage.prepared.rows;
  const std::size_t n = model.macro.segments.size();
  model.micro = NearestTwo{std::vector<std::int32_t>(n, -1), std::vector<std::int32_t>(n, -1),
                           std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  std::vector<MicroFit> fits = fit_every_micro_level(comm, stage, checkpoint, model);
  assemble(fits, model);
  second_nearest_micro(rows, model);
}

TwoLevelModel fit_two_levels(const distributed::Communicator& comm, const FitStage& stage) {
  FitStage macro_stage = stage;
  macro_stage.k = stage.plan.macro_k;
  // One checkpoint file for both levels: the macro fit's state while it runs, then the finished
  // macro fit (restarts all done, so fit_segments returns it as it was) and the micro fits.
  const FitStart start = fit_start(comm, macro_stage);
  TwoLevelModel model = measure_macro_level(stage, fit_segments(comm, macro_stage, start));
  fit_micro_levels(comm, stage, model, &start);
  return model;
}

void assign_within_macro(const distributed::RankRows& rows, TwoLevelModel& model) {
  const std::vector<std::int32_t>& macro = model.macro.segments;
  const std::size_t n = macro.size();
  model.micro = NearestTwo{std::vector<std::int32_t>(n, -1), std::vector<std::int32_t>(n, -1),
                           std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  const FeatureMatrix& features = rows.features();
  for (int m = 0; m < model.hierarchy.macro_k(); ++m) {
    std::vector<Eigen::Index> members;
    for (std::size_t i = 0; i < n; ++i) {
      if (macro[i] == m) members.push_back(static_cast<Eigen::Index>(i));
    }
    FeatureMatrix part(static_cast<Eigen::Index>(members.size()), features.cols());
    for (std::size_t a = 0; a < members.size(); ++a) {
      part.row(static_cast<Eigen::Index>(a)) = features.row(members[a]);
    }
    const int first = model.hierarchy.first[m];
    const CentroidMatrix centroids =
        model.micro_centroids.middleRows(first, model.hierarchy.first[m + 1] - first);
    const NearestTwo local = nearest_two(part, centroids);
    for (std::size_t a = 0; a < members.size(); ++a) {
      const auto i = static_cast<std::size_t>(members[a]);
      model.micro.nearest[i] = first + local.nearest[a];
      model.micro.nearest_distance[i] = local.nearest_distance[a];
    }
  }
  second_nearest_micro(rows, model);
}

}  // namespace microseg::pipeline::detail
