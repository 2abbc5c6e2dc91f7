#include "microseg/core/split_tree.hpp"

namespace microseg {

FitMethod parse_fit_method(const std::string& text) {
  if (text == "kmeans") return FitMethod::kmeans;
  if (text == "bisecting") return FitMethod::bisecting;
  throw InputError("unknown method '" + text + "'; valid values are kmeans, bisecting");
}

std::string to_string(FitMethod method) {
  return method == FitMethod::bisecting ? "bisecting" : "kmeans";
}

BisectStrategy parse_bisect_strategy(const std::string& text) {
  if (text == "largest-inertia") return BisectStrategy::largest_inertia;
  if (text == "largest-size") return BisectStrategy::largest_size;
  throw InputError("unknown bisecting strategy '" + text +
                   "'; valid values are largest-inertia, largest-size");
}

std::string to_string(BisectStrategy strategy) {
  return strategy == BisectStrategy::largest_size ? "largest-size" : "largest-inertia";
}

std::int64_t SplitTree::add_node(std::int64_t parent_node, std::int64_t node_size,
                                 double node_inertia, const double* node_center) {
  const std::int64_t id = nodes();
  parent.push_back(parent_node);
  children.insert(children.end(), {-1, -1});
  size.push_back(node_size);
  inertia.push_back(node_inertia);
  center.insert(center.end(), node_center, node_center + d);
  segment.push_back(-1);
  if (parent_node >= 0) {
    std::int64_t* slots = &children[static_cast<std::size_t>(2 * parent_node)];
    slots[slots[0] < 0 ? 0 : 1] = id;
  }
  return id;
}

std::vector<std::int64_t> SplitTree::leaves() const {
  std::vector<std::int64_t> found, pending;
  if (nodes() > 0) pending.push_back(0);
  while (!pending.empty()) {
    const std::int64_t node = pending.back();
    pending.pop_back();
    if (is_leaf(node)) {
      found.push_back(node);
    } else {
      pending.push_back(children[2 * node + 1]);  // second child after the first
      pending.push_back(children[2 * node]);
    }
  }
  return found;
}

std::int64_t SplitTree::leaf_to_split() const {
  std::int64_t best = -1;
  for (std::int64_t leaf : leaves()) {
    const bool larger = strategy == BisectStrategy::largest_size
                            ? best < 0 || size[leaf] > size[best]
                            : best < 0 || inertia[leaf] > inertia[best];
    if (larger) best = leaf;
  }
  return best;
}

CentroidMatrix SplitTree::number_leaves() {
  const std::vector<std::int64_t> order = leaves();
  CentroidMatrix centers(static_cast<Eigen::Index>(order.size()), d);
  for (std::size_t s = 0; s < order.size(); ++s) {
    segment[static_cast<std::size_t>(order[s])] = static_cast<std::int32_t>(s);
    for (int j = 0; j < d; ++j) {
      centers(static_cast<Eigen::Index>(s), j) = center[static_cast<std::size_t>(order[s] * d + j)];
    }
  }
  return centers;
}

}  // namespace microseg
