#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "microseg/core/segment_matching.hpp"

using namespace microseg;

namespace {

double total_cost(const std::vector<double>& cost, int cols, const std::vector<int>& match) {
  double total = 0;
  for (std::size_t r = 0; r < match.size(); ++r) {
    if (match[r] >= 0) total += cost[r * cols + match[r]];
  }
  return total;
}

// The cheapest matching of min(rows, cols) pairs by trying every injection.
double brute_force_minimum(const std::vector<double>& cost, int rows, int cols) {
  const int small = std::min(rows, cols), large = std::max(rows, cols);
  std::vector<int> picks(large);
  std::iota(picks.begin(), picks.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double total = 0;
    for (int i = 0; i < small; ++i) {
      total += rows <= cols ? cost[i * cols + picks[i]] : cost[picks[i] * cols + i];
    }
    best = std::min(best, total);
  } while (std::next_permutation(picks.begin(), picks.end()));
  return best;
}

CentroidMatrix matrix(std::initializer_list<std::initializer_list<double>> rows) {
  CentroidMatrix m(static_cast<Eigen::Index>(rows.size()),
                   static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index r = 0;
  for (const auto& row : rows) {
    Eigen::Index c = 0;
    for (double v : row) m(r, c++) = v;
    ++r;
  }
  return m;
}

}  // namespace

TEST_CASE("minimum cost assignment is optimal on random square and rectangular matrices") {
  std::mt19937_64 engine(17);
  std::uniform_real_distribution<double> uniform(0.0, 10.0);
  for (int rows = 1; rows <= 6; ++rows) {
    for (int cols = 1; cols <= 6; ++cols) {
      for (int trial = 0; trial < 5; ++trial) {
        std::vector<double> cost(static_cast<std::size_t>(rows * cols));
        for (double& c : cost) c = std::round(uniform(engine) * 4) / 4;  // ties happen
        const std::vector<int> match = minimum_cost_assignment(cost, rows, cols);
        INFO(rows << " x " << cols << " trial " << trial);
        REQUIRE(match.size() == static_cast<std::size_t>(rows));
        std::vector<int> used;
        for (int c : match) {
          if (c >= 0) used.push_back(c);
        }
        std::sort(used.begin(), used.end());
        CHECK(std::adjacent_find(used.begin(), used.end()) == used.end());
        CHECK(used.size() == static_cast<std::size_t>(std::min(rows, cols)));
        CHECK(total_cost(cost, cols, match) ==
              Approx(brute_force_minimum(cost, rows, cols)).margin(1e-9));
      }
    }
  }
}

TEST_CASE("minimum cost assignment rejects malformed costs") {
  CHECK_THROWS_AS(minimum_cost_assignment({1, 2, 3}, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(minimum_cost_assignment({1, std::nan(""), 3, 4}, 2, 2), std::invalid_argument);
  CHECK(minimum_cost_assignment({}, 0, 3).empty());
  CHECK(minimum_cost_assignment({}, 2, 0) == std::vector<int>{-1, -1});
}

TEST_CASE("matched segments keep their ids whatever the new order") {
  SegmentIdentity previous;
  previous.ids = {4, 9, 2};
  previous.next_id = 12;
  previous.retired_ids = {0, 1};
  const CentroidMatrix before = matrix({{0, 0}, {10, 0}, {0, 10}});
  const CentroidMatrix after = matrix({{0.5, 9.5}, {0.2, -0.1}, {9.7, 0.4}});
  const SegmentMatch match = match_segments(before, previous, after);
  CHECK(match.identity.ids == std::vector<std::int64_t>{2, 4, 9});
  CHECK(match.previous_row == std::vector<int>{2, 0, 1});
  CHECK(match.drift[0] == Approx(std::sqrt(0.5)));
  CHECK(match.identity.next_id == 12);
  CHECK(match.identity.retired_ids == std::vector<std::int64_t>{0, 1});
  CHECK(match.fresh_ids.empty());
  CHECK(match.retired_now.empty());
}

TEST_CASE("new segments get fresh ids and vanished ones are retired for good") {
  SegmentIdentity previous;
  previous.ids = {3, 5};
  previous.next_id = 7;
  previous.retired_ids = {1};
  const CentroidMatrix before = matrix({{0, 0}, {10, 10}});
  SECTION("more segments than before") {
    const CentroidMatrix after = matrix({{50, 50}, {10, 9}, {-40, 0}, {0, 1}});
    const SegmentMatch match = match_segments(before, previous, after);
    // Unmatched rows get the next ids in row order, never an id used before.
    CHECK(match.identity.ids == std::vector<std::int64_t>{7, 5, 8, 3});
    CHECK(match.fresh_ids == std::vector<std::int64_t>{7, 8});
    CHECK(match.identity.next_id == 9);
    CHECK(std::isnan(match.drift[0]));
    CHECK(match.drift[1] == Approx(1.0));
  }
  SECTION("fewer segments than before") {
    const CentroidMatrix after = matrix({{9, 11}});
    const SegmentMatch match = match_segments(before, previous, after);
    CHECK(match.identity.ids == std::vector<std::int64_t>{5});
    CHECK(match.retired_now == std::vector<std::int64_t>{3});
    CHECK(match.identity.retired_ids == std::vector<std::int64_t>{1, 3});
    CHECK(match.identity.next_id == 7);
  }
}

TEST_CASE("a match beyond the distance cut-off gives a fresh id and retires the old one") {
  SegmentIdentity previous;
  previous.ids = {3, 5, 6};
  previous.next_id = 7;
  previous.retired_ids = {1};
  const CentroidMatrix before = matrix({{0, 0}, {10, 10}, {20, 0}});
  // Same k; segment 5 vanished and a new one appeared far away. The optimal matching still pairs
  // them, at distance 50 − 10 = 40·√2.
  const CentroidMatrix after = matrix({{0.5, 0}, {50, 50}, {20, 1}});
  const SegmentMatch kept = match_segments(before, previous, after);
  CHECK(kept.identity.ids == std::vector<std::int64_t>{3, 5, 6});
  const SegmentMatch cut = match_segments(before, previous, after, 5.0);
  CHECK(cut.identity.ids == std::vector<std::int64_t>{3, 7, 6});
  CHECK(cut.fresh_ids == std::vector<std::int64_t>{7});
  CHECK(cut.retired_now == std::vector<std::int64_t>{5});
  CHECK(cut.too_far == std::vector<std::int64_t>{5});
  CHECK(cut.identity.retired_ids == std::vector<std::int64_t>{1, 5});
  CHECK(cut.identity.next_id == 8);
  CHECK(cut.previous_row == std::vector<int>{0, -1, 2});
  CHECK(std::isnan(cut.drift[1]));
  CHECK(cut.drift[2] == Approx(1.0));
  CHECK(cut.max_distance == 5.0);
  // A pair exactly at the cut-off is kept.
  CHECK(match_segments(before, previous, after, 1.0).identity.ids ==
        std::vector<std::int64_t>{3, 7, 6});
  CHECK_THROWS_AS(match_segments(before, previous, after, -1.0), std::invalid_argument);
}

TEST_CASE("the first run's ids are the row numbers") {
  const SegmentIdentity identity = SegmentIdentity::first_run(4);
  CHECK(identity.ids == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(identity.next_id == 4);
  CHECK(identity.retired_ids.empty());
  CHECK(identity.row_of(2) == 2);
  CHECK(identity.row_of(9) == -1);
}

TEST_CASE("centroids move between scaled spaces through original units") {
  ScalingModel from, to;
  from.kind = to.kind = ScaleKind::zscore;
  from.log1p = {1, 0};
  from.offset = {2.0, 10.0};
  from.scale = {0.5, 4.0};
  to.log1p = {1, 0};
  to.offset = {3.0, -2.0};
  to.scale = {2.0, 1.0};
  const CentroidMatrix scaled = matrix({{1.0, -0.5}, {0.0, 2.0}});
  const CentroidMatrix mapped = rescale_centroids(scaled, from, to, {"spend", "age"});
  for (Eigen::Index c = 0; c < 2; ++c) {
    // Same log1p on both sides: an affine map of the log values.
    const double log_spend = scaled(c, 0) * 0.5 + 2.0;
    CHECK(mapped(c, 0) == Approx((log_spend - 3.0) / 2.0).epsilon(1e-14));
    CHECK(mapped(c, 1) == Approx((scaled(c, 1) * 4.0 + 10.0 + 2.0) / 1.0).epsilon(1e-14));
  }
  const CentroidMatrix round_trip = rescale_centroids(scaled, from, from, {"spend", "age"});
  for (Eigen::Index c = 0; c < 2; ++c) {
    for (Eigen::Index j = 0; j < 2; ++j) CHECK(round_trip(c, j) == Approx(scaled(c, j)));
  }

  ScalingModel linear = from;
  linear.log1p = {0, 0};
  linear.offset = {-5.0, 0.0};
  linear.scale = {1.0, 1.0};
  const CentroidMatrix below = matrix({{-1.0, 0.0}});  // original spend −5 + −1 = −6
  CHECK_THROWS_WITH(rescale_centroids(below, linear, to, {"spend", "age"}),
                    Catch::Contains("spend") && Catch::Contains("log1p"));
}

TEST_CASE("a warm start with fewer segments keeps the largest, ties to the lower row") {
  CHECK(largest_segment_rows({5, 9, 7, 9, 1}, 3) == std::vector<int>{1, 2, 3});
  CHECK(largest_segment_rows({4, 4, 4}, 2) == std::vector<int>{0, 1});
  CHECK(largest_segment_rows({4, 4}, 5) == std::vector<int>{0, 1});
}

TEST_CASE("grouped matching pairs rows only inside their group") {
  SegmentIdentity previous_ids;
  previous_ids.ids = {10, 11, 12, 13};
  previous_ids.next_id = 20;
  const CentroidMatrix previous = matrix({{0, 0}, {1, 0}, {12, 0}, {11, 0}});
  // Current rows 0, 1 in group 0 and 2, 3 in group 1. Previous row 1 lies next to current row 0,
  // but its customers now sit in group 1, so its partner is found there.
  const CentroidMatrix current = matrix({{1, 0}, {0.2, 0}, {10, 0}, {11, 0}});
  const SegmentMatch match =
      match_segments_in_groups(previous, previous_ids, current, {{0, 1, 1, -1}, {0, 0, 1, 1}});
  CHECK(match.previous_row == std::vector<int>{-1, 0, 1, 2});
  CHECK(match.identity.ids == std::vector<std::int64_t>{20, 10, 11, 12});
  CHECK(match.fresh_ids == std::vector<std::int64_t>{20});
  CHECK(match.retired_now == std::vector<std::int64_t>{13});  // in no group
  CHECK(match.drift[1] == Approx(0.2));
  CHECK(match.drift[2] == Approx(9.0));
}

TEST_CASE("grouped matching with one group is the plain matching") {
  std::mt19937_64 engine(5);
  std::uniform_real_distribution<double> uniform(-3.0, 3.0);
  for (int trial = 0; trial < 20; ++trial) {
    const int kp = 2 + trial % 5, kc = 1 + trial % 6;
    CentroidMatrix previous(kp, 3), current(kc, 3);
    for (Eigen::Index i = 0; i < previous.size(); ++i) previous.data()[i] = uniform(engine);
    for (Eigen::Index i = 0; i < current.size(); ++i) current.data()[i] = uniform(engine);
    const SegmentIdentity ids = SegmentIdentity::first_run(kp);
    const SegmentMatch plain = match_segments(previous, ids, current, 2.5);
    const SegmentMatch grouped = match_segments_in_groups(
        previous, ids, current, {std::vector<int>(kp, 0), std::vector<int>(kc, 0)}, 2.5);
    CHECK(grouped.previous_row == plain.previous_row);
    CHECK(grouped.identity.ids == plain.identity.ids);
    CHECK(grouped.identity.retired_ids == plain.identity.retired_ids);
    CHECK(grouped.too_far == plain.too_far);
  }
  CHECK_THROWS(match_segments_in_groups(matrix({{0.0}}), SegmentIdentity::first_run(1),
                                        matrix({{0.0}}), {{0, 0}, {0}}));
}

TEST_CASE("a previous segment's group is where most of its customers are now") {
  // 3 previous segments × 2 groups (ids 7 and 4): the counts decide, ties go to the lower id,
  // and a segment none of whose customers is left takes its fallback.
  const std::vector<std::int64_t> counts{5, 9, 3, 3, 0, 0};
  CHECK(candidate_groups(counts, 3, {7, 4}, {0, 0, 0}) == std::vector<int>{1, 1, 0});
  CHECK(candidate_groups(counts, 3, {7, 4}, {-1, -1, -1}) == std::vector<int>{1, 1, -1});
  CHECK_THROWS(candidate_groups(counts, 2, {7, 4}, {0, 0}));
}
