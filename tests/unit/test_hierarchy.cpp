#include <catch2/catch.hpp>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "microseg/core/hierarchy.hpp"
#include "microseg/core/types.hpp"

using namespace microseg;

namespace {

int total(const std::vector<int>& shares) {
  return std::accumulate(shares.begin(), shares.end(), 0);
}

}  // namespace

TEST_CASE("share_out gives exact proportional shares when they are whole numbers", "[hierarchy]") {
  CHECK(share_out({1, 2, 3}, {100, 100, 100}, 12) == std::vector<int>{2, 4, 6});
  CHECK(share_out({5, 5}, {100, 100}, 10) == std::vector<int>{5, 5});
}

TEST_CASE("share_out hands the remainders to the largest fractions, ties to the lower part",
          "[hierarchy]") {
  // Targets 3.33.., 3.33.., 3.33..: one extra, to part 0.
  CHECK(share_out({1, 1, 1}, {100, 100, 100}, 10) == std::vector<int>{4, 3, 3});
  // Targets 1.4, 2.8, 5.6 (total 10): floors 1, 2, 5; the extras go to .8 then .6.
  CHECK(share_out({1, 2, 4}, {100, 100, 100}, 10) == std::vector<int>{1, 3, 6});
}

TEST_CASE("share_out gives every part at least one and no part more than its cap", "[hierarchy]") {
  // A part of weight 0 still gets one; a heavy part is capped at its customers.
  const std::vector<int> shares = share_out({0, 1, 1000}, {50, 50, 3}, 20);
  CHECK(total(shares) == 20);
  CHECK(shares[0] >= 1);
  CHECK(shares[2] == 3);
  for (std::size_t m = 0; m < shares.size(); ++m)
    CHECK(shares[m] <= std::vector<int>{50, 50, 3}[m]);
  // Every weight zero: equal shares.
  CHECK(share_out({0, 0, 0, 0}, {9, 9, 9, 9}, 8) == std::vector<int>{2, 2, 2, 2});
  // More parts at the floor of 1 than the proportions allow: taken back from the largest.
  const std::vector<int> tight = share_out({1, 1, 1, 1000}, {10, 10, 10, 10}, 5);
  CHECK(tight == std::vector<int>{1, 1, 1, 2});
}

TEST_CASE("share_out refuses a total it cannot share out", "[hierarchy]") {
  CHECK_THROWS_AS(share_out({1, 1}, {5, 5}, 1), std::invalid_argument);   // fewer than parts
  CHECK_THROWS_AS(share_out({1, 1}, {2, 2}, 5), std::invalid_argument);   // more than the caps
  CHECK_THROWS_AS(share_out({1, -1}, {5, 5}, 4), std::invalid_argument);  // a negative weight
  CHECK_THROWS_AS(share_out({1, 1}, {0, 5}, 3), std::invalid_argument);   // an empty part
}

TEST_CASE("SegmentHierarchy maps micro rows to their macro segment", "[hierarchy]") {
  const SegmentHierarchy hierarchy = SegmentHierarchy::from_counts({3, 1, 2});
  CHECK(hierarchy.macro_k() == 3);
  CHECK(hierarchy.micro_k() == 6);
  CHECK(hierarchy.first == std::vector<int>{0, 3, 4, 6});
  CHECK(hierarchy.macro_of_each() == std::vector<int>{0, 0, 0, 1, 2, 2});
  for (int micro = 0; micro < 6; ++micro) {
    CHECK(hierarchy.macro_of(micro) == hierarchy.macro_of_each()[static_cast<std::size_t>(micro)]);
  }
}

TEST_CASE("the micro-k rule is parsed by name", "[hierarchy]") {
  CHECK(parse_micro_budget_rule("inertia") == MicroBudgetRule::inertia);
  CHECK(parse_micro_budget_rule("proportional") == MicroBudgetRule::proportional);
  CHECK(parse_micro_budget_rule("sweep") == MicroBudgetRule::sweep);
  CHECK(to_string(MicroBudgetRule::sweep) == "sweep");
  CHECK_THROWS_AS(parse_micro_budget_rule("size"), InputError);
}
