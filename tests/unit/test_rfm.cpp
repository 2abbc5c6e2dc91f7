#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "microseg/core/rfm.hpp"

using namespace microseg;

namespace {

// 1 + ⌊5·L/n⌋ with L = number of values strictly smaller: the definition the thresholds encode.
int score_by_counting(double value, const std::vector<double>& all) {
  const auto smaller = std::count_if(all.begin(), all.end(), [&](double x) { return x < value; });
  return 1 + static_cast<int>(5 * smaller / static_cast<std::int64_t>(all.size()));
}

}  // namespace

TEST_CASE("CustomerActivity sums money exactly whatever the order and grouping", "[rfm]") {
  std::mt19937_64 engine(7);
  std::uniform_int_distribution<int> cents(-5000, 500000);
  std::vector<double> amounts;
  for (int i = 0; i < 2000; ++i) amounts.push_back(cents(engine) / 100.0);
  CustomerActivity forward, backward, halves_a, halves_b;
  for (std::size_t i = 0; i < amounts.size(); ++i)
    forward.add(100 + static_cast<int>(i % 7), amounts[i]);
  for (std::size_t i = amounts.size(); i-- > 0;)
    backward.add(100 + static_cast<int>(i % 7), amounts[i]);
  for (std::size_t i = 0; i < amounts.size(); ++i) {
    (i % 3 == 0 ? halves_a : halves_b).add(100 + static_cast<int>(i % 7), amounts[i]);
  }
  halves_b.merge(halves_a);
  CHECK(forward.money == backward.money);
  CHECK(forward.money == halves_b.money);
  CHECK(forward.transactions == 2000);
  CHECK(halves_b.transactions == 2000);
  CHECK(forward.first_day == 100);
  CHECK(forward.last_day == 106);
  // Every amount ≥ 2^-12 lies on the grid, so the total is the exact sum rounded once.
  long long total_cents = 0;
  for (double a : amounts) total_cents += std::llround(a * 100);
  CHECK(forward.money_total() == Approx(total_cents / 100.0).epsilon(1e-15));
}

TEST_CASE("CustomerActivity flags amounts and totals beyond the fixed-point range", "[rfm]") {
  CustomerActivity too_large;
  too_large.add(0, 1e19);
  CHECK(too_large.overflowed != 0);
  CustomerActivity growing;
  for (int i = 0; i < 4; ++i) growing.add(0, 4e18);  // each in range, the sum is not
  CHECK(growing.overflowed != 0);
  CustomerActivity fine;
  fine.add(0, 1e15);
  fine.add(0, -1e15);
  CHECK(fine.overflowed == 0);
  CHECK(fine.money_total() == 0.0);
}

TEST_CASE("rfm_features follows the documented definitions", "[rfm]") {
  CustomerActivity activity;
  activity.add(10, 20.0);
  activity.add(40, 5.5);
  activity.add(40, 4.5);
  const RfmFeatures f = rfm_features(activity, 50);
  CHECK(f.recency_days == 10);
  CHECK(f.frequency == 3);
  CHECK(f.monetary_total == 30.0);
  CHECK(f.monetary_mean == 10.0);
  CHECK(f.tenure_days == 40);
  CHECK(f.mean_interpurchase_days == 15.0);  // gaps 30 and 0

  CustomerActivity once;
  once.add(49, 3.0);
  const RfmFeatures g = rfm_features(once, 50);
  CHECK(std::isnan(g.mean_interpurchase_days));
  CHECK(g.recency_days == 1);
  CHECK(g.tenure_days == 1);
}

TEST_CASE("merge_by_id sorts, merges parts of one customer and reports key collisions", "[rfm]") {
  std::vector<CustomerActivityRecord> records(4);
  records[0].id = 9;
  records[0].activity.add(1, 1.0);
  records[1].id = 3;
  records[1].activity.add(2, 2.0);
  records[2].id = 9;
  records[2].activity.add(5, 4.0);
  records[3].id = 3;
  records[3].activity.add(0, 8.0);
  std::vector<std::string> no_keys;
  CHECK_FALSE(merge_by_id(records, no_keys));
  REQUIRE(records.size() == 2);
  CHECK(records[0].id == 3);
  CHECK(records[0].activity.money_total() == 10.0);
  CHECK(records[0].activity.first_day == 0);
  CHECK(records[1].id == 9);
  CHECK(records[1].activity.last_day == 5);

  std::vector<CustomerActivityRecord> keyed(3);
  keyed[0].id = keyed[1].id = keyed[2].id = 5;
  std::vector<std::string> keys{"b", "a", "b"};
  const auto collision = merge_by_id(keyed, keys);
  REQUIRE(collision);
  CHECK(collision->first == "a");
  CHECK(collision->second == "b");
}

TEST_CASE("quintile thresholds reproduce 1 + floor(5 L / n), ties sharing a score", "[rfm]") {
  std::mt19937_64 engine(3);
  for (int n : {1, 2, 3, 4, 5, 6, 7, 10, 11, 99, 1000}) {
    for (int distinct : {1, 2, 3, 7, 1000}) {
      std::uniform_int_distribution<int> pick(0, distinct - 1);
      std::vector<double> values(static_cast<std::size_t>(n));
      for (double& v : values) v = pick(engine) * 0.5 - 3;
      const QuintileThresholds thresholds = quintile_thresholds(values);
      for (double v : values) {
        INFO("n " << n << " distinct " << distinct << " value " << v);
        CHECK(quintile_score(v, thresholds) == score_by_counting(v, values));
      }
    }
  }
}

TEST_CASE("quintile scores of distinct values split n = 10 into pairs", "[rfm]") {
  std::vector<double> values{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  const QuintileThresholds thresholds = quintile_thresholds(values);
  CHECK(quintile_score(1, thresholds) == 1);
  CHECK(quintile_score(2, thresholds) == 1);
  CHECK(quintile_score(3, thresholds) == 2);
  CHECK(quintile_score(6, thresholds) == 3);
  CHECK(quintile_score(9, thresholds) == 5);
  CHECK(quintile_score(10, thresholds) == 5);
}

TEST_CASE("ordered_key orders doubles like <, and round-trips", "[rfm]") {
  const std::vector<double> sorted{
      -std::numeric_limits<double>::infinity(), -1e300, -2.5, -1e-300, 0.0, 1e-300, 1.0, 2.0, 1e300,
      std::numeric_limits<double>::infinity()};
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) {
    CHECK(ordered_key(sorted[i]) < ordered_key(sorted[i + 1]));
  }
  for (double v : sorted) CHECK(from_ordered_key(ordered_key(v)) == v);
  CHECK(ordered_key(-0.0) == ordered_key(0.0));
}

TEST_CASE("every score triple has exactly one segment and every segment is reachable", "[rfm]") {
  std::set<int> reached;
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        const int code = static_cast<int>(rfm_segment(r, f, m));
        CHECK(code >= 0);
        CHECK(code < rfm_segment_count);
        reached.insert(code);
      }
    }
  }
  CHECK(static_cast<int>(reached.size()) == rfm_segment_count);
  CHECK(rfm_segment_names().size() == static_cast<std::size_t>(rfm_segment_count));
}

TEST_CASE("segment rules: a few hand-checked triples", "[rfm]") {
  CHECK(rfm_segment(5, 5, 5) == RfmSegment::champions);
  CHECK(rfm_segment(4, 4, 4) == RfmSegment::champions);
  CHECK(rfm_segment(5, 1, 5) == RfmSegment::new_customers);
  CHECK(rfm_segment(4, 1, 1) == RfmSegment::promising);
  CHECK(rfm_segment(3, 3, 3) == RfmSegment::loyal_customers);
  CHECK(rfm_segment(5, 2, 2) == RfmSegment::potential_loyalists);
  CHECK(rfm_segment(3, 1, 5) == RfmSegment::need_attention);
  CHECK(rfm_segment(3, 2, 2) == RfmSegment::need_attention);
  CHECK(rfm_segment(3, 1, 1) == RfmSegment::about_to_sleep);
  CHECK(rfm_segment(1, 5, 5) == RfmSegment::cant_lose_them);
  CHECK(rfm_segment(1, 4, 3) == RfmSegment::at_risk);
  CHECK(rfm_segment(2, 5, 5) == RfmSegment::at_risk);
  CHECK(rfm_segment(2, 2, 2) == RfmSegment::hibernating);
  CHECK(rfm_segment(1, 2, 3) == RfmSegment::lost);
  CHECK(rfm_segment_names()[static_cast<int>(RfmSegment::cant_lose_them)] == "Can't lose them");
}

TEST_CASE("CustomerActivity counts units exactly, in any grouping, and flags too many", "[rfm]") {
  CustomerActivity whole, part_a, part_b;
  const double quantities[] = {1, 2.5, 3, 0.125, 7};
  for (int i = 0; i < 5; ++i) {
    whole.add(10 + i, 9.99, quantities[i]);
    (i % 2 == 0 ? part_a : part_b).add(10 + i, 9.99, quantities[i]);
  }
  part_b.merge(part_a);
  CHECK(whole.units_total() == 13.625);
  CHECK(part_b.units == whole.units);
  CHECK(rfm_features(whole, 20).units == 13.625);
  CustomerActivity too_many;
  too_many.add(0, 1.0, 3e9);  // beyond ±2^31
  CHECK(too_many.overflowed != 0);
}
