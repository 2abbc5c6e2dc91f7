#include <catch2/catch.hpp>
#include <vector>

#include "microseg/core/split_tree.hpp"

using namespace microseg;

namespace {

// Root (0) split into 1 and 2, then node 1 into 3 and 4: leaves 3, 4, 2 depth first.
SplitTree two_splits(BisectStrategy strategy, std::vector<std::int64_t> sizes,
                     std::vector<double> inertias) {
  SplitTree tree;
  tree.strategy = strategy;
  tree.d = 1;
  const std::vector<std::int64_t> parents{-1, 0, 0, 1, 1};
  for (std::size_t node = 0; node < parents.size(); ++node) {
    const double center = static_cast<double>(node);
    tree.add_node(parents[node], sizes[node], inertias[node], &center);
  }
  return tree;
}

}  // namespace

TEST_CASE("a split tree lists its leaves depth first, first child before second") {
  SplitTree tree = two_splits(BisectStrategy::largest_size, {10, 6, 4, 3, 3}, {9, 5, 1, 2, 2});
  CHECK(tree.nodes() == 5);
  CHECK(tree.children == std::vector<std::int64_t>{1, 2, 3, 4, -1, -1, -1, -1, -1, -1});
  CHECK(tree.leaves() == std::vector<std::int64_t>{3, 4, 2});
  const CentroidMatrix centers = tree.number_leaves();
  CHECK(tree.segment == std::vector<std::int32_t>{-1, -1, 2, 0, 1});
  REQUIRE(centers.rows() == 3);
  CHECK(centers(0, 0) == 3.0);
  CHECK(centers(1, 0) == 4.0);
  CHECK(centers(2, 0) == 2.0);
}

TEST_CASE("the strategy picks the largest leaf, ties to the first depth first (scikit-learn)") {
  // Sizes 3, 3, 4: the largest is node 2; inertias 2, 2, 1: a tie between 3 and 4 goes to 3.
  CHECK(
      two_splits(BisectStrategy::largest_size, {10, 6, 4, 3, 3}, {9, 5, 1, 2, 2}).leaf_to_split() ==
      2);
  CHECK(two_splits(BisectStrategy::largest_inertia, {10, 6, 4, 3, 3}, {9, 5, 1, 2, 2})
            .leaf_to_split() == 3);
  CHECK(
      two_splits(BisectStrategy::largest_size, {10, 6, 4, 3, 4}, {9, 5, 1, 2, 2}).leaf_to_split() ==
      4);  // node 4 comes before node 2 depth first
}

TEST_CASE("method and strategy names read back and bad ones name the valid values") {
  CHECK(parse_fit_method("bisecting") == FitMethod::bisecting);
  CHECK(to_string(parse_fit_method("kmeans")) == "kmeans");
  CHECK(to_string(parse_bisect_strategy("largest-size")) == "largest-size");
  CHECK(to_string(BisectStrategy::largest_inertia) == "largest-inertia");
  CHECK_THROWS_WITH(parse_fit_method("ward"), Catch::Contains("kmeans, bisecting"));
  CHECK_THROWS_WITH(parse_bisect_strategy("biggest_inertia"),
                    Catch::Contains("largest-inertia, largest-size"));
}
