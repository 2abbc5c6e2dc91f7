#pragma once
/// \file RFM (recency, frequency, monetary) features of customers from their transactions, the
/// quintile scores and the named RFM segments.
///
/// Everything here is exact or integer, so the features of a customer do not depend on how
/// their transactions were split across ranks or in which order they were added:
/// - money is summed in 128-bit fixed point on the grid 2^-64 (CustomerActivity), on which every
///   double of magnitude at least 2^-12 lies exactly, so the total is the exact sum rounded once;
/// - quintile scores come from counts of customers with a worse value (quintile_score), whose
///   thresholds are order statistics that a distributed bisection finds exactly.
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "microseg/core/exact_sum.hpp"

namespace microseg {

/// The fixed-point grid of money sums: a term is stored as round-toward-zero(value · 2^64).
inline constexpr int money_grid_exponent = 64;
/// Amounts (after multiplying by the quantity) must stay below this magnitude (2^62).
inline constexpr double max_abs_money_term = 4611686018427387904.0;
/// The grid of quantity sums: a quantity is stored as round-toward-zero(value · 2^32), so
/// quantities and their sum per customer must stay below 2^31 in magnitude.
inline constexpr int units_grid_exponent = 32;
inline constexpr double max_abs_units_term = 2147483648.0;

/// What one customer's counted transactions add up to. Merging is exact and commutative.
struct CustomerActivity {
  // Laid out so that an integer-keyed slot (key + activity) stays one 64-byte cache line.
  ExactSum money = 0;      ///< Σ amount on the grid 2^-money_grid_exponent
  std::int64_t units = 0;  ///< Σ quantity on the grid 2^-units_grid_exponent (0 without one)
  std::int64_t transactions = 0;
  std::int32_t first_day = std::numeric_limits<std::int32_t>::max();  ///< days since 1970-01-01
  std::int32_t last_day = std::numeric_limits<std::int32_t>::min();
  /// Set when a term or the running total left the fixed-point range; the total is then void.
  std::int32_t overflowed = 0;

  /// Adds one transaction on `day` worth `amount` of `units` items (both finite).
  void add(std::int32_t day, double amount, double units = 0);
  /// Adds another part of the same customer's transactions.
  void merge(const CustomerActivity& other);
  /// The exact money total rounded once to double.
  double money_total() const;
  /// The exact quantity total rounded once to double.
  double units_total() const;
};

/// A customer's activity under its int64 id, as ranks exchange it.
struct CustomerActivityRecord {
  std::int64_t id = 0;
  CustomerActivity activity;
};

/// Sorts `records` by id and merges records of the same id. `keys` is empty, or holds each
/// record's external key (kept parallel to `records`); two different keys under one id are a
/// hash collision, returned as the pair of keys (the first such pair in id order).
std::optional<std::pair<std::string, std::string>> merge_by_id(
    std::vector<CustomerActivityRecord>& records, std::vector<std::string>& keys);

/// The RFM features of one customer as of a date (all day counts are whole days).
struct RfmFeatures {
  std::int64_t recency_days = 0;  ///< as-of date − last purchase date
  std::int64_t frequency = 0;     ///< number of counted transaction rows
  double monetary_total = 0;
  double monetary_mean = 0;      ///< monetary_total / frequency
  double units = 0;              ///< Σ quantity (with a quantity column)
  std::int64_t tenure_days = 0;  ///< as-of date − first purchase date
  /// (last − first purchase) / (frequency − 1): the mean gap between consecutive purchases
  /// (rows on one day are gaps of 0). NaN for a customer with one transaction.
  double mean_interpurchase_days = 0;
};

/// The features of `activity` (at least one transaction, none after `as_of_day`).
RfmFeatures rfm_features(const CustomerActivity& activity, std::int32_t as_of_day);

/// Number of quintile thresholds (scores run from 1 to 5).
inline constexpr int quintile_threshold_count = 4;
using QuintileThresholds = std::array<double, quintile_threshold_count>;

/// The 1-based ranks t_s = ⌈s·n/5⌉ (s = 1..4) of the order statistics that bound the scores of
/// n ≥ 1 values.
std::array<std::int64_t, quintile_threshold_count> quintile_threshold_ranks(std::int64_t n);

/// The quintile score 1–5 of `value` (larger is better) given the thresholds x_(t_s), the t_s-th
/// smallest of all n values: score = 1 + #{s : x_(t_s) < value}. This equals 1 + ⌊5·L/n⌋ where L
/// is the number of values strictly smaller than `value`, so equal values share a score.
int quintile_score(double value, const QuintileThresholds& thresholds);

/// Serial reference: the thresholds of all `values` (one process). Empty input gives +∞.
QuintileThresholds quintile_thresholds(std::vector<double> values);

/// An unsigned key whose order is the order of the (non-NaN) doubles; −0 and +0 share a key.
std::uint64_t ordered_key(double value);
/// The double whose ordered_key is `key`.
double from_ordered_key(std::uint64_t key);

/// The named RFM segments, in code order (the code stored in rfm_segment).
enum class RfmSegment : std::int32_t {
  champions,
  loyal_customers,
  potential_loyalists,
  new_customers,
  promising,
  need_attention,
  about_to_sleep,
  at_risk,
  cant_lose_them,
  hibernating,
  lost,
};
inline constexpr int rfm_segment_count = 11;

/// The display names of the segments, indexed by code.
const std::vector<std::string>& rfm_segment_names();

/// The segment of scores r, f, m (each 1–5); the first matching rule wins (docs/file-format.md):
///  1. Champions            R 4–5, F+M ≥ 8
///  2. New customers        R 5, F 1
///  3. Promising            R 4, F 1
///  4. Loyal customers      R 3–5, F ≥ 2, F+M ≥ 6
///  5. Potential loyalists  R 4–5
///  6. Need attention       R 3, F+M ≥ 4
///  7. About to sleep       R 3
///  8. Can't lose them      R 1, F+M ≥ 8
///  9. At risk              R 1–2, F+M ≥ 6
/// 10. Hibernating          R 2
/// 11. Lost                 R 1
RfmSegment rfm_segment(int r, int f, int m);

/// One output row of `microseg ingest transactions`.
struct CustomerRfm {
  std::int64_t id = 0;
  RfmFeatures features;
  std::int32_t r_score = 0, f_score = 0, m_score = 0;
  std::int32_t segment = 0;  ///< RfmSegment code
};

/// The three values scored, larger is better: −recency_days, frequency, monetary_total.
std::array<double, 3> rfm_scored_values(const RfmFeatures& features);

/// Scores and segments `customer` from its features and the thresholds of the three values.
void score_customer(CustomerRfm& customer, const std::array<QuintileThresholds, 3>& thresholds);

}  // namespace microseg
