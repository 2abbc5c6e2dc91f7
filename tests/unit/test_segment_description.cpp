#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "microseg/core/segment_description.hpp"

using namespace microseg;

namespace {
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
}

TEST_CASE("a description names the three features of largest lift with signs") {
  const std::vector<std::string> names{"age", "monetary", "recency", "app_share", "region"};
  const double lift[] = {0.2, 2.14, -1.26, 0.81, -0.79};
  CHECK(describe_segment(lift, names) ==
        "monetary +2.1\u03c3, recency \u22121.3\u03c3, app_share +0.8\u03c3");
}

TEST_CASE("a description leaves out small lifts and keeps feature order on ties") {
  const std::vector<std::string> names{"a", "b", "c"};
  const double small[] = {0.49, -0.3, 0.0};
  CHECK(describe_segment(small, names) == "close to the population average");
  const double tied[] = {0.5, -0.5, 0.7};
  CHECK(describe_segment(tied, names) == "c +0.7\u03c3, a +0.5\u03c3, b \u22120.5\u03c3");
}

TEST_CASE("describe_segments takes one row of lift per segment") {
  SegmentProfiles profiles;
  profiles.k = 2;
  profiles.d = 2;
  profiles.lift = {1.0, 0.0, 0.0, -3.0};
  CHECK(describe_segments(profiles, {"x", "y"}) ==
        std::vector<std::string>{"x +1.0\u03c3", "y \u22123.0\u03c3"});
  CHECK_THROWS_AS(describe_segments(profiles, {"x"}), std::invalid_argument);
}

TEST_CASE("RFM columns are found by their usual names") {
  CHECK(find_rfm_columns({"age", "recency_days", "frequency", "monetary"}) ==
        RfmColumns{"recency_days", "frequency", "monetary"});
  CHECK(find_rfm_columns({"monetary_total", "recency", "frequency"}) ==
        RfmColumns{"recency", "frequency", "monetary_total"});
  CHECK_FALSE(find_rfm_columns({"recency_days", "monetary"}).has_value());
}

TEST_CASE("the RFM summary text rounds the mean scores") {
  RfmQuintileSummary rfm;
  rfm.score_mean = {4.64, 4.75, 1.0, 2.0, 3.05, 4.96};
  CHECK(rfm_summary_text(rfm, 0) == "R4.6 F4.8 M1.0");
  CHECK(rfm_summary_text(rfm, 1) == "R2.0 F3.0 M5.0");
}

TEST_CASE("priority combines value share, size share and clamped growth") {
  SegmentValue value;
  value.feature = "monetary";
  value.total = {600.0, 300.0, 100.0};
  value.share = {0.6, 0.3, 0.1};
  value.mean = {6.0, 1.5, 0.5};
  const std::vector<std::int64_t> sizes{100, 200, 200}, ids{5, 3, 8};
  SECTION("first run: no growth term") {
    const SegmentPriority p = prioritise_segments(ids, sizes, &value, nullptr);
    CHECK(p.priority[0] == Approx(100 * (0.7 * 0.6 + 0.3 * 0.2)));
    CHECK(p.priority[1] == Approx(100 * (0.7 * 0.3 + 0.3 * 0.4)));
    CHECK(p.priority[2] == Approx(100 * (0.7 * 0.1 + 0.3 * 0.4)));
    CHECK(p.rank == std::vector<std::int32_t>{1, 2, 3});
    CHECK(std::isnan(p.growth[0]));
    CHECK(std::isnan(p.value_growth[0]));
  }
  SECTION("growth against the previous run, value growth first, clamped at ±50%") {
    const SegmentHistory history{{50.0, 200.0, nan_value}, {200.0, 400.0, nan_value}};
    const SegmentPriority p = prioritise_segments(ids, sizes, &value, &history);
    CHECK(p.growth[0] == Approx(1.0));
    CHECK(p.value_growth[0] == Approx(2.0));
    CHECK(p.value_growth[1] == Approx(-0.25));
    CHECK(std::isnan(p.growth[2]));
    CHECK(p.priority[0] == Approx(100 * (0.7 * 0.6 + 0.3 * 0.2) * 1.5));
    CHECK(p.priority[1] == Approx(100 * (0.7 * 0.3 + 0.3 * 0.4) * 0.75));
    CHECK(p.priority[2] == Approx(100 * (0.7 * 0.1 + 0.3 * 0.4)));
  }
  SECTION("without a value feature size share and size growth decide; ties go to the lower id") {
    const SegmentHistory history{{100.0, 400.0, 200.0}, {nan_value, nan_value, nan_value}};
    const SegmentPriority p = prioritise_segments(ids, sizes, nullptr, &history);
    CHECK(p.priority[0] == Approx(100 * 0.2));
    CHECK(p.priority[1] == Approx(100 * 0.4 * 0.5));
    CHECK(p.priority[2] == Approx(100 * 0.4));
    // Ids 5 and 3 tie at 20: id 3 ranks first.
    CHECK(p.rank == std::vector<std::int32_t>{3, 2, 1});
    const SegmentPriority tied = prioritise_segments({9, 4}, {10, 10}, nullptr, nullptr);
    CHECK(tied.rank == std::vector<std::int32_t>{2, 1});
  }
}

TEST_CASE("a segment's history comes from its matched previous segment") {
  const SegmentHistory history = segment_history({2, -1, 0}, {10, 20, 30}, {1.0, 2.0, 3.0});
  CHECK(history.previous_size[0] == 30.0);
  CHECK(std::isnan(history.previous_size[1]));
  CHECK(history.previous_value_total[2] == 1.0);
  const SegmentHistory sizes_only = segment_history({1}, {10, 20}, {});
  CHECK(sizes_only.previous_size[0] == 20.0);
  CHECK(std::isnan(sizes_only.previous_value_total[0]));
}
