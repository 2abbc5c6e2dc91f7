#pragma once
/// \file Bisecting k-means' choices and its split tree: which fit a run makes, which segment a
/// bisecting run splits next, and the tree of splits it records (docs/file-format.md, /tree).
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {

/// The fit of `segment`: flat k-means, or bisecting k-means (split one segment in two with a
/// 2-means until k segments exist).
enum class FitMethod { kmeans, bisecting };
FitMethod parse_fit_method(const std::string& text);  ///< throws InputError
std::string to_string(FitMethod method);

/// Which leaf bisecting k-means splits next: scikit-learn's bisecting_strategy
/// 'biggest_inertia' (the default there too) and 'largest_cluster'.
enum class BisectStrategy { largest_inertia, largest_size };
BisectStrategy parse_bisect_strategy(const std::string& text);  ///< throws InputError
std::string to_string(BisectStrategy strategy);

/// The tree a bisecting fit grows. Node 0 is the root (every customer); split s makes nodes
/// 2s + 1 and 2s + 2, the children of split_node[s]. Per-node vectors are indexed by node id.
struct SplitTree {
  BisectStrategy strategy = BisectStrategy::largest_inertia;
  int d = 0;
  std::vector<std::int64_t> parent;      ///< −1 for the root
  std::vector<std::int64_t> children;    ///< two per node (row-major nodes × 2); −1 for a leaf
  std::vector<std::int64_t> size;        ///< customers in the node when it was made
  std::vector<double> inertia;           ///< Σ squared distance of its customers to `center`
  std::vector<double> center;            ///< d per node, scaled space
  std::vector<std::int64_t> split_node;  ///< per split, in order: the node split
  std::vector<double> initial_centers;   ///< per split: its 2-means' two seeds (2 × d)
  std::vector<std::int64_t> split_iterations;  ///< per split: its 2-means' Lloyd iterations
  std::vector<std::int32_t> segment;  ///< per node: the segment row a leaf became; −1 otherwise

  std::int64_t nodes() const { return static_cast<std::int64_t>(parent.size()); }
  /// Adds a node as a leaf and returns its id.
  std::int64_t add_node(std::int64_t parent_node, std::int64_t node_size, double node_inertia,
                        const double* node_center);
  bool is_leaf(std::int64_t node) const { return children[2 * node] < 0; }
  /// The leaves, first child before second, depth first (scikit-learn's iter_leaves order).
  std::vector<std::int64_t> leaves() const;
  /// The leaf the strategy splits next: largest inertia or size, ties to the first in leaves().
  std::int64_t leaf_to_split() const;
  /// Numbers the leaves 0 … leaves − 1 in leaves() order (`segment`) and returns their centres
  /// in that order: the model's centroids.
  CentroidMatrix number_leaves();
};

}  // namespace microseg
