#include <catch2/catch.hpp>
#include <vector>

#include "microseg/core/small_segments.hpp"

using namespace microseg;
using Kind = MinimumSegmentSize::Kind;

TEST_CASE("a minimum segment size reads as a count or a share") {
  CHECK(parse_minimum_segment_size("").kind == Kind::none);
  const MinimumSegmentSize count = parse_minimum_segment_size("500");
  CHECK(count.kind == Kind::count);
  CHECK(count.customers_for(10'000) == 500);
  const MinimumSegmentSize share = parse_minimum_segment_size("0.02");
  CHECK(share.kind == Kind::share);
  CHECK(share.customers_for(1000) == 20);  // 0.02 · 1000 is 20.000000000000004 in doubles
  CHECK(share.customers_for(1001) == 21);  // rounded up: 20.02 customers is not enough
  const MinimumSegmentSize percent = parse_minimum_segment_size("2.5%");
  CHECK(percent.kind == Kind::share);
  CHECK(percent.value == Approx(0.025));
  CHECK(parse_minimum_segment_size("1e3").customers_for(5) == 1000);
  for (const char* bad : {"-1", "ten", "150%", "12.5", "5 %", "0.5x"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_minimum_segment_size(bad),
                      Catch::Contains("--min-segment-size") && Catch::Contains(bad));
  }
}

TEST_CASE("the smallest undersized segment merges into the nearest centroid") {
  CentroidMatrix centroids(4, 2);
  centroids << 0, 0, 10, 0, 0.5, 0.5, 9, 1;
  SECTION("smallest first, nearest by centroid") {
    const auto merge = next_small_segment_merge({100, 3, 5, 80}, centroids, 10);
    REQUIRE(merge.has_value());
    CHECK(merge->absorbed == 1);
    CHECK(merge->into == 3);
  }
  SECTION("ties go to the lowest index") {
    const auto merge = next_small_segment_merge({100, 5, 5, 80}, centroids, 10);
    REQUIRE(merge.has_value());
    CHECK(merge->absorbed == 1);
  }
  SECTION("nothing to do") {
    CHECK_FALSE(next_small_segment_merge({100, 50, 50, 80}, centroids, 10).has_value());
    CentroidMatrix one(1, 2);
    one << 1, 2;
    CHECK_FALSE(next_small_segment_merge({1}, one, 10).has_value());
  }
}

TEST_CASE("a merged centroid is the size-weighted mean of the two") {
  CentroidMatrix centroids(3, 2);
  centroids << 0, 0, 10, 0, 1, 4;
  const CentroidMatrix merged = merge_centroids(centroids, {30, 10, 10}, SegmentMerge{2, 0});
  REQUIRE(merged.rows() == 2);
  CHECK(merged(0, 0) == Approx(0.25));
  CHECK(merged(0, 1) == Approx(1.0));
  CHECK(merged(1, 0) == 10);
  CHECK_THROWS_AS(merge_centroids(centroids, {1, 1, 1}, SegmentMerge{1, 1}), std::invalid_argument);
}
