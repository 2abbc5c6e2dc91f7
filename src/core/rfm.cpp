#include "microseg/core/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace microseg {

namespace {

// Adds `value` to `sum` on the grid 1/grid; false when it or the sum leaves the range.
template <class Sum>
bool add_on_grid(Sum& sum, double value, double max_abs, double grid) {
  if (!(std::fabs(value) < max_abs)) return false;
  // value · grid is exact (a power of two), and below max_abs it cannot overflow.
  const auto term = static_cast<Sum>(value * grid);
  return !__builtin_add_overflow(sum, term, &sum);
}

}  // namespace

void CustomerActivity::add(std::int32_t day, double amount, double quantity) {
  ++transactions;
  first_day = std::min(first_day, day);
  last_day = std::max(last_day, day);
  if (!add_on_grid(money, amount, max_abs_money_term, 0x1p64) ||
      !add_on_grid(units, quantity, max_abs_units_term, 0x1p32)) {
    overflowed = 1;
  }
}

void CustomerActivity::merge(const CustomerActivity& other) {
  transactions += other.transactions;
  first_day = std::min(first_day, other.first_day);
  last_day = std::max(last_day, other.last_day);
  overflowed |= other.overflowed;
  if (__builtin_add_overflow(money, other.money, &money)) overflowed = 1;
  if (__builtin_add_overflow(units, other.units, &units)) overflowed = 1;
}

double CustomerActivity::money_total() const {
  return std::ldexp(static_cast<double>(money), -money_grid_exponent);
}

double CustomerActivity::units_total() const {
  return std::ldexp(static_cast<double>(units), -units_grid_exponent);
}

std::optional<std::pair<std::string, std::string>> merge_by_id(
    std::vector<CustomerActivityRecord>& records, std::vector<std::string>& keys) {
  const bool with_keys = !keys.empty();
  // Sorting (id, index) pairs keeps the comparisons in contiguous memory.
  std::vector<std::pair<std::int64_t, std::size_t>> by_id(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) by_id[i] = {records[i].id, i};
  std::sort(by_id.begin(), by_id.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return with_keys ? keys[a.second] < keys[b.second] : a.second < b.second;
  });
  std::vector<std::size_t> order(records.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = by_id[i].second;
  std::optional<std::pair<std::string, std::string>> collision;
  std::vector<CustomerActivityRecord> merged;
  merged.reserve(records.size());
  std::vector<std::string> merged_keys;
  for (std::size_t i : order) {
    if (!merged.empty() && merged.back().id == records[i].id) {
      if (with_keys && merged_keys.back() != keys[i] && !collision) {
        collision.emplace(merged_keys.back(), keys[i]);
      }
      merged.back().activity.merge(records[i].activity);
      continue;
    }
    merged.push_back(records[i]);
    if (with_keys) merged_keys.push_back(std::move(keys[i]));
  }
  records.swap(merged);
  keys.swap(merged_keys);
  return collision;
}

RfmFeatures rfm_features(const CustomerActivity& activity, std::int32_t as_of_day) {
  RfmFeatures features;
  features.frequency = activity.transactions;
  features.recency_days = std::int64_t{as_of_day} - activity.last_day;
  features.tenure_days = std::int64_t{as_of_day} - activity.first_day;
  features.monetary_total = activity.money_total();
  features.monetary_mean = features.monetary_total / static_cast<double>(activity.transactions);
  features.units = activity.units_total();
  features.mean_interpurchase_days =
      activity.transactions > 1
          ? static_cast<double>(std::int64_t{activity.last_day} - activity.first_day) /
                static_cast<double>(activity.transactions - 1)
          : std::nan("");
  return features;
}

std::array<std::int64_t, quintile_threshold_count> quintile_threshold_ranks(std::int64_t n) {
  std::array<std::int64_t, quintile_threshold_count> ranks{};
  for (int s = 1; s <= quintile_threshold_count; ++s) ranks[s - 1] = (s * n + 4) / 5;
  return ranks;
}

int quintile_score(double value, const QuintileThresholds& thresholds) {
  int score = 1;
  for (double threshold : thresholds) score += threshold < value ? 1 : 0;
  return score;
}

QuintileThresholds quintile_thresholds(std::vector<double> values) {
  QuintileThresholds thresholds;
  thresholds.fill(std::numeric_limits<double>::infinity());
  if (values.empty()) return thresholds;
  std::sort(values.begin(), values.end());
  const auto ranks = quintile_threshold_ranks(static_cast<std::int64_t>(values.size()));
  for (int s = 0; s < quintile_threshold_count; ++s) {
    thresholds[s] = values[static_cast<std::size_t>(ranks[s] - 1)];
  }
  return thresholds;
}

std::uint64_t ordered_key(double value) {
  if (value == 0) value = 0;  // −0 → +0
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  // Negative numbers: flip every bit (larger magnitude sorts lower); positive: set the sign bit.
  return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

double from_ordered_key(std::uint64_t key) {
  const std::uint64_t bits = (key >> 63) != 0 ? key & ~(std::uint64_t{1} << 63) : ~key;
  double value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

const std::vector<std::string>& rfm_segment_names() {
  static const std::vector<std::string> names{"Champions",
                                              "Loyal customers",
                                              "Potential loyalists",
                                              "New customers",
                                              "Promising",
                                              "Need attention",
                                              "About to sleep",
                                              "At risk",
                                              "Can't lose them",
                                              "Hibernating",
                                              "Lost"};
  return names;
}

RfmSegment rfm_segment(int r, int f, int m) {
  const int fm = f + m;
  if (r >= 4 && fm >= 8) return RfmSegment::champions;
  if (r == 5 && f == 1) return RfmSegment::new_customers;
  if (r == 4 && f == 1) return RfmSegment::promising;
  if (r >= 3 && f >= 2 && fm >= 6) return RfmSegment::loyal_customers;
  if (r >= 4) return RfmSegment::potential_loyalists;
  if (r == 3 && fm >= 4) return RfmSegment::need_attention;
  if (r == 3) return RfmSegment::about_to_sleep;
  if (r <= 1 && fm >= 8) return RfmSegment::cant_lose_them;
  if (fm >= 6) return RfmSegment::at_risk;
  if (r == 2) return RfmSegment::hibernating;
  return RfmSegment::lost;
}

std::array<double, 3> rfm_scored_values(const RfmFeatures& features) {
  return {-static_cast<double>(features.recency_days), static_cast<double>(features.frequency),
          features.monetary_total};
}

void score_customer(CustomerRfm& customer, const std::array<QuintileThresholds, 3>& thresholds) {
  const std::array<double, 3> values = rfm_scored_values(customer.features);
  customer.r_score = quintile_score(values[0], thresholds[0]);
  customer.f_score = quintile_score(values[1], thresholds[1]);
  customer.m_score = quintile_score(values[2], thresholds[2]);
  customer.segment =
      static_cast<std::int32_t>(rfm_segment(customer.r_score, customer.f_score, customer.m_score));
}

}  // namespace microseg
