#pragma once
/// \file Bisecting k-means across ranks (scikit-learn's and Spark's BisectingKMeans): start with
/// one segment of every customer, then repeatedly pick a leaf by the strategy and split it with
/// a 2-means (fit_kmeans) over that leaf's rows, until k leaves exist. Each split sees its leaf
/// as a table of its own in global row order (RankRows::subset, on the ranks that hold the rows)
/// and draws with a seed keyed by the split number, so the tree is the same for any rank count.
#include <cstdint>
#include <functional>

#include "microseg/core/split_tree.hpp"
#include "microseg/distributed/kmeans_fit.hpp"

namespace microseg::distributed {

struct BisectingSettings {
  int k = 8;  ///< leaves to reach
  BisectStrategy strategy = BisectStrategy::largest_inertia;
  /// Each split's 2-means: Lloyd's settings (k is set to 2), the run's seed (split s draws with
  /// bisect_seed(seed, s)) and the restarts per split (scikit-learn's n_init).
  FitSettings split;
};

/// What one split did, for a line of progress.
struct SplitReport {
  int split = 0;
  std::int64_t node = 0;  ///< the node split
  std::int64_t sizes[2] = {0, 0};
  double inertias[2] = {0, 0};
  int iterations = 0;
  double seconds = 0;
};

struct BisectingControl {
  std::function<void(int split, int restart, const IterationReport&)> on_iteration;
  std::function<void(const SplitReport&)> on_split;
  /// This rank's wish to stop; agreed after every iteration, then FitInterrupted is thrown.
  std::function<bool()> stop_requested;
};

struct BisectingOutcome {
  SplitTree tree;
  /// The leaves' centres in segment order (SplitTree::number_leaves); iterations summed over the
  /// splits, converged when every split converged, inertia the leaves' summed inertia.
  LloydOutcome model;
  double seconds_init = 0, seconds_iterate = 0;  ///< summed over splits
};

/// The seed of split `split`'s 2-means (its restarts derive from it as a fit's do).
std::uint64_t bisect_seed(std::uint64_t seed, int split);

/// Collective: the bisecting fit. Fails on every rank (AgreedError) when the chosen leaf cannot
/// be split in two (all its customers identical).
BisectingOutcome fit_bisecting(const RankRows& rows, const Seeding& seeding,
                               const BisectingSettings& settings,
                               const BisectingControl& control = {});

}  // namespace microseg::distributed
