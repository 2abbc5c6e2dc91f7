#include "microseg/distributed/bisecting_fit.hpp"

#include <utility>

#include "microseg/core/random.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/column_statistics.hpp"
#include "microseg/distributed/quality.hpp"

namespace microseg::distributed {
namespace {

// The root: every customer, their exact mean and the inertia about it.
void add_root(const RankRows& rows, SplitTree& tree) {
  const FeatureStatistics statistics = feature_statistics(rows.comm(), rows.features());
  CentroidMatrix mean(1, rows.d());
  for (int j = 0; j < rows.d(); ++j) mean(0, j) = statistics.mean[static_cast<std::size_t>(j)];
  const NearestTwo nearest = nearest_two(rows.features(), mean);
  tree.add_node(-1, rows.total(), exact_inertia(rows, nearest.nearest_distance), mean.data());
}

// One split's 2-means over a leaf's rows, and what the tree records of it.
struct SplitFit {
  FitOutcome fit;
  std::vector<std::int32_t> labels;  // per row of the leaf on this rank: child 0 or 1
  std::int64_t sizes[2] = {0, 0};
  double inertias[2] = {0, 0};
};

SplitFit fit_split(const RankRows& leaf, const Seeding& seeding, const FitSettings& settings,
                   const FitControl& control) {
  SplitFit split;
  split.fit = fit_kmeans(leaf, seeding, settings, control);
  NearestTwo nearest = split.fit.best_nearest
                           ? std::move(*split.fit.best_nearest)
                           : nearest_two(leaf.features(), split.fit.model.centroids);
  split.fit.best_nearest.reset();
  std::vector<std::int64_t> sizes(2, 0);
  // Each child's distances, zero for the other child's rows, summed exactly like an inertia.
  std::vector<double> own[2] = {std::vector<double>(nearest.nearest.size(), 0.0),
                                std::vector<double>(nearest.nearest.size(), 0.0)};
  for (std::size_t i = 0; i < nearest.nearest.size(); ++i) {
    const auto child = static_cast<std::size_t>(nearest.nearest[i]);
    ++sizes[child];
    own[child][i] = nearest.nearest_distance[i];
  }
  leaf.comm().sum_in_place(sizes);
  for (int c = 0; c < 2; ++c) {
    split.sizes[c] = sizes[static_cast<std::size_t>(c)];
    split.inertias[c] = exact_inertia(leaf, own[c]);
  }
  split.labels = std::move(nearest.nearest);
  return split;
}

// What every split shares.
struct Bisection {
  const RankRows& rows;
  const Seeding& seeding;
  const BisectingSettings& settings;
  const BisectingControl& control;
  std::vector<std::int32_t> node_of_row;  // per local row: the leaf holding it
  BisectingOutcome outcome;
};

FitSettings split_settings(const BisectingSettings& settings, int split) {
  FitSettings fit = settings.split;
  fit.lloyd.k = 2;
  fit.seed = bisect_seed(settings.split.seed, split);
  fit.keep_restart_labels = false;
  return fit;
}

// Records a finished split in the tree and moves its rows to the two new leaves.
void record_split(Bisection& run, std::int64_t node, const std::vector<char>& members,
                  const SplitFit& split) {
  SplitTree& tree = run.outcome.tree;
  const CentroidMatrix& centers = split.fit.model.centroids;
  const std::int64_t first = tree.add_node(node, split.sizes[0], split.inertias[0], centers.data());
  tree.add_node(node, split.sizes[1], split.inertias[1], centers.data() + tree.d);
  tree.split_node.push_back(node);
  tree.initial_centers.insert(tree.initial_centers.end(), split.fit.initial.data(),
                              split.fit.initial.data() + 2 * tree.d);
  tree.split_iterations.push_back(split.fit.model.iterations);
  std::size_t at = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i]) run.node_of_row[i] = static_cast<std::int32_t>(first + split.labels[at++]);
  }
  LloydOutcome& model = run.outcome.model;
  model.iterations += split.fit.model.iterations;
  model.converged = model.converged && split.fit.model.converged;
  run.outcome.seconds_init += split.fit.seconds_init;
  run.outcome.seconds_iterate += split.fit.seconds_iterate;
}

void bisect_once(Bisection& run, int split) {
  const Stopwatch stopwatch;
  const std::int64_t node = run.outcome.tree.leaf_to_split();
  std::vector<char> members(run.node_of_row.size());
  for (std::size_t i = 0; i < members.size(); ++i) members[i] = run.node_of_row[i] == node;
  FitControl control;
  control.on_iteration = [&](int restart, const IterationReport& report) {
    if (run.control.on_iteration) run.control.on_iteration(split, restart, report);
  };
  control.stop_requested = run.control.stop_requested;
  const FitSettings settings = split_settings(run.settings, split);
  // The root is every row already in global order: no copy of the whole table.
  const SplitFit fit = node == 0
                           ? fit_split(run.rows, run.seeding, settings, control)
                           : fit_split(run.rows.subset(members), run.seeding, settings, control);
  if (fit.sizes[0] == 0 || fit.sizes[1] == 0) {
    throw AgreedError("bisecting k-means: split " + std::to_string(split) + " cannot divide node " +
                      std::to_string(node) + ": its " +
                      std::to_string(fit.sizes[0] + fit.sizes[1]) +
                      " customers all have the same features; ask for fewer segments (--k)");
  }
  record_split(run, node, members, fit);
  if (run.control.on_split) {
    SplitReport report;
    report.split = split;
    report.node = node;
    for (int c = 0; c < 2; ++c) {
      report.sizes[c] = fit.sizes[c];
      report.inertias[c] = fit.inertias[c];
    }
    report.iterations = fit.fit.model.iterations;
    report.seconds = stopwatch.elapsed();
    run.control.on_split(report);
  }
}

}  // namespace

std::uint64_t bisect_seed(std::uint64_t seed, int split) {
  return keyed_hash(seed, RandomStream::bisect_split, static_cast<std::uint64_t>(split));
}

BisectingOutcome fit_bisecting(const RankRows& rows, const Seeding& seeding,
                               const BisectingSettings& settings, const BisectingControl& control) {
  Bisection run{rows, seeding, settings, control, {}, {}};
  run.node_of_row.assign(static_cast<std::size_t>(rows.rows().size()), 0);
  SplitTree& tree = run.outcome.tree;
  tree.strategy = settings.strategy;
  tree.d = rows.d();
  add_root(rows, tree);
  run.outcome.model.converged = true;
  for (int split = 0; split + 1 < settings.k; ++split) bisect_once(run, split);
  run.outcome.model.centroids = tree.number_leaves();
  for (std::int64_t leaf : tree.leaves()) run.outcome.model.inertia += tree.inertia[leaf];
  return std::move(run.outcome);
}

}  // namespace microseg::distributed
