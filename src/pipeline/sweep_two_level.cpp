// `sweep --macro-k`: the macro fit once, then for every k of the sweep the micro fits of
// `segment --macro-k M --k K`, measured at the micro level over all customers.
#include <algorithm>
#include <limits>

#include "microseg/core/assignment.hpp"
#include "microseg/core/partition_agreement.hpp"
#include "microseg/core/random.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/partition_measures.hpp"
#include "sweep_stages.hpp"

namespace microseg::pipeline {
namespace {

// The options of the `segment --macro-k` run whose fits a two-level sweep makes.
SegmentPlan segment_plan_of(const SweepPlan& plan) {
  SegmentPlan segment;
  segment.input = plan.input;
  segment.output = plan.output;
  segment.features = plan.features;
  segment.scale = plan.scale;
  segment.log1p_features = plan.log1p_features;
  segment.init = plan.init;
  segment.max_iterations = plan.max_iterations;
  segment.tolerance = plan.tolerance;
  segment.lloyd_step = plan.lloyd_step;
  segment.seed = plan.seed;
  segment.restarts = plan.restarts;
  segment.silhouette_sample = plan.silhouette_sample;
  segment.transform = plan.transform;
  segment.macro_k = plan.macro_k;
  segment.micro_k_rule = plan.micro_k_rule;
  return segment;
}

// The mean adjusted Rand index between the labelings of every pair, over every customer.
double mean_agreement(const distributed::Communicator& comm,
                      const std::vector<std::vector<std::int32_t>>& labels, int k) {
  double agreement = 0;
  int pairs = 0;
  for (std::size_t a = 0; a < labels.size(); ++a) {
    for (std::size_t b = a + 1; b < labels.size(); ++b) {
      agreement += adjusted_rand_index(
          distributed::contingency_table(comm, labels[a], labels[b], k, k), k, k);
      ++pairs;
    }
  }
  return pairs > 0 ? agreement / pairs : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

TwoLevelSweep::TwoLevelSweep(const SweepPlan& plan, const InspectedInput& input,
                             const PreparedCustomers& prepared)
    : plan_(plan), prepared_(prepared), segment_plan_(segment_plan_of(plan)) {
  inputs_.input = input;
  inputs_.k = plan.ks.back();
}

void TwoLevelSweep::fit_macro_level(const SweepProgress& progress) {
  const SegmentProgress quiet;
  // The macro segments and distances do not depend on the silhouette sample: none is drawn.
  SegmentPlan unsampled = segment_plan_;
  unsampled.silhouette_sample = 0;
  detail::FitStage stage{unsampled, inputs_, prepared_, quiet};
  stage.k = plan_.macro_k;
  distributed::FitOutcome fit =
      distributed::fit_kmeans(prepared_.rows, *distributed::make_seeding(plan_.init),
                              detail::fit_settings(stage), stop_on_signal());
  macro_ = detail::measure_macro_level(stage, std::move(fit));
  macro_sizes_ =
      distributed::segment_sizes(prepared_.rows.comm(), macro_->macro.segments, plan_.macro_k);
  if (progress.note) {
    const LloydOutcome& model = macro_->macro_fit.model;
    progress.note(
        "macro fit: " + std::to_string(plan_.macro_k) + " macro segments, " +
        std::to_string(model.iterations) +
        (model.converged ? " iterations, converged" : " iterations, stopped at --max-iter") +
        " (restart " + std::to_string(macro_->macro_fit.best_restart) + " of " +
        std::to_string(plan_.restarts) + "); every k shares it");
  }
}

io::SweepModel TwoLevelSweep::fit_and_measure(int k) {
  const Stopwatch stopwatch;
  // No line per macro segment and k: the k's row says how its fits went.
  const SegmentProgress quiet;
  detail::FitStage stage{segment_plan_, inputs_, prepared_, quiet};
  stage.k = k;
  stage.keep_restart_labels = plan_.restarts > 1;
  detail::TwoLevelModel model;
  model.macro_fit = macro_->macro_fit;
  model.macro = macro_->macro;
  detail::fit_micro_levels(prepared_.rows.comm(), stage, model);
  io::SweepModel saved;
  saved.feature_names = inputs_.input.feature_names;
  saved.scaling = prepared_.transform.model;
  saved.centroids = model.micro_centroids;
  record(model, saved);
  const distributed::FinalAssignment final_assignment = distributed::assign_and_measure(
      prepared_.rows, model.micro_centroids, {0, plan_.seed}, std::move(model.micro));
  measure_sweep_row(plan_, prepared_, final_assignment, saved);
  saved.row.stability = stability(model, k);
  saved.seconds = stopwatch.elapsed();
  return saved;
}

// Restart r of the two-level model is restart r of every macro segment's micro fit, side by side;
// the kept one is chosen per macro segment.
void TwoLevelSweep::record(const detail::TwoLevelModel& model, io::SweepModel& saved) const {
  saved.best_restart = -1;  // per macro segment: /macro/micro_best_restart
  saved.iterations = 0;
  saved.converged = 1;
  for (int r = 0; r < plan_.restarts; ++r) {
    double inertia = 0;
    std::int64_t iterations = 0, converged = 1;
    for (const distributed::FitOutcome& fit : model.micro_fits) {
      const LloydOutcome& outcome = fit.restarts[static_cast<std::size_t>(r)];
      inertia += fit.restart_inertias[static_cast<std::size_t>(r)];
      iterations += outcome.iterations;
      converged = converged && outcome.converged;
      saved.restart_centroids.insert(saved.restart_centroids.end(), outcome.centroids.data(),
                                     outcome.centroids.data() + outcome.centroids.size());
    }
    saved.restart_inertia.push_back(inertia);
    saved.restart_iterations.push_back(iterations);
    saved.restart_converged.push_back(converged);
  }
  io::SweepMacroLevel macro;
  macro.micro_k_rule = to_string(plan_.micro_k_rule);
  macro.centroids = model.macro_fit.model.centroids;
  macro.size = macro_sizes_;
  macro.best_restart = model.macro_fit.best_restart;
  macro.iterations = model.macro_fit.model.iterations;
  macro.converged = model.macro_fit.model.converged;
  for (int m = 0; m < model.hierarchy.macro_k(); ++m) {
    const distributed::FitOutcome& fit = model.micro_fits[static_cast<std::size_t>(m)];
    macro.micro_k.push_back(model.hierarchy.first[m + 1] - model.hierarchy.first[m]);
    macro.micro_best_restart.push_back(fit.best_restart);
    macro.micro_iterations.push_back(fit.model.iterations);
    macro.micro_converged.push_back(fit.model.converged);
    saved.iterations += fit.model.iterations;
    saved.converged = saved.converged && fit.model.converged;
  }
  saved.macro = std::move(macro);
}

// The restarts' agreement at the micro level with the macro segments held: labeling r puts every
// customer in restart r's micro-segment of its macro segment.
double TwoLevelSweep::stability(const detail::TwoLevelModel& model, int k) const {
  if (plan_.restarts == 1) return stability_of_halves(model, k);
  const std::vector<std::int32_t>& macro = model.macro.segments;
  const auto restarts = static_cast<std::size_t>(plan_.restarts);
  std::vector<std::vector<std::int32_t>> labels(restarts, std::vector<std::int32_t>(macro.size()));
  std::vector<std::size_t> next(model.micro_fits.size(), 0);
  for (std::size_t i = 0; i < macro.size(); ++i) {
    const auto m = static_cast<std::size_t>(macro[i]);
    const std::size_t at = next[m]++;
    for (std::size_t r = 0; r < restarts; ++r) {
      labels[r][i] = model.hierarchy.first[m] + model.micro_fits[m].restart_labels[r][at];
    }
  }
  return mean_agreement(prepared_.rows.comm(), labels, k);
}

// With one restart: each macro segment's share fitted on each of two random halves of its
// customers (a customer's half as in the flat sweep), every customer assigned inside its macro
// segment by both; NaN when a half of a macro segment holds fewer customers than its share.
double TwoLevelSweep::stability_of_halves(const detail::TwoLevelModel& model, int k) const {
  const distributed::RankRows& rows = prepared_.rows;
  const std::vector<std::int32_t>& macro = model.macro.segments;
  std::vector<std::vector<std::int32_t>> labels(2, std::vector<std::int32_t>(macro.size(), -1));
  const SegmentProgress quiet;
  for (int half = 0; half < 2; ++half) {
    for (int m = 0; m < model.hierarchy.macro_k(); ++m) {
      const int share = model.hierarchy.first[m + 1] - model.hierarchy.first[m];
      std::vector<char> members(macro.size());
      for (std::size_t i = 0; i < members.size(); ++i) {
        const auto row =
            static_cast<std::uint64_t>(rows.rows().begin + static_cast<std::int64_t>(i));
        members[i] =
            macro[i] == m &&
            (keyed_uniform(plan_.seed, RandomStream::stability_half, row) < 0.5 ? 0 : 1) == half;
      }
      const auto count = static_cast<std::int64_t>(std::count(members.begin(), members.end(), 1));
      if (rows.comm().sum(count) < share) return std::numeric_limits<double>::quiet_NaN();
      detail::FitStage stage{segment_plan_, inputs_, prepared_, quiet};
      stage.k = share;
      distributed::FitSettings settings = detail::fit_settings(stage);
      // The micro fit's seed, taken through the flat sweep's half key.
      settings.seed = keyed_hash(
          keyed_hash(plan_.seed, RandomStream::micro_fit, static_cast<std::uint64_t>(m)),
          RandomStream::stability_half, ~std::uint64_t{0}, static_cast<std::uint64_t>(half));
      const distributed::FitOutcome fit = distributed::fit_kmeans(
          rows.subset(members), *distributed::make_seeding(plan_.init), settings, stop_on_signal());
      const NearestTwo nearest = nearest_two(rows.features(), fit.model.centroids);
      for (std::size_t i = 0; i < macro.size(); ++i) {
        if (macro[i] == m) labels[half][i] = model.hierarchy.first[m] + nearest.nearest[i];
      }
    }
  }
  return mean_agreement(rows.comm(), labels, k);
}

}  // namespace microseg::pipeline
