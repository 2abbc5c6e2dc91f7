#pragma once
/// \file What a marketer reads about a segment besides its statistics: a one-line description
/// from its most distinctive features, its value, an RFM quintile summary, and a priority that
/// combines value, size and growth.
///
/// Rows follow the model's segments (centroid rows), like SegmentProfiles.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/profile.hpp"

namespace microseg {

/// Features whose |lift| reaches this many population σ are named in a description.
inline constexpr double description_min_abs_lift = 0.5;
/// At most this many features are named.
inline constexpr int description_max_features = 3;

/// "monetary +2.1σ, recency_days −1.3σ, app_share +0.8σ": the features of largest |lift| (ties to
/// the earlier feature), at most description_max_features of them with |lift| ≥
/// description_min_abs_lift; "close to the population average" when none qualifies.
std::string describe_segment(const double* lift, const std::vector<std::string>& feature_names);

/// describe_segment for every segment of `profiles`.
std::vector<std::string> describe_segments(const SegmentProfiles& profiles,
                                           const std::vector<std::string>& feature_names);

/// Per-segment totals of a value column (for example monetary), in its own units.
struct SegmentValue {
  std::string feature;
  std::vector<double> total, mean;  ///< Σ value and Σ value / size
  std::vector<double> share;        ///< total / Σ total (NaN when Σ total ≤ 0)
};

/// The columns an RFM summary reads, in the order recency, frequency, monetary.
using RfmColumns = std::array<std::string, 3>;

/// The recency, frequency and monetary columns among `names`: the first of (recency,
/// recency_days), (frequency) and (monetary, monetary_total) present; nullopt unless all three are.
std::optional<RfmColumns> find_rfm_columns(const std::vector<std::string>& names);

/// Per segment, how its customers score in quintiles of recency, frequency and monetary over all
/// customers (core/rfm.hpp: score 1–5, 5 the most recent, most frequent, highest spend).
struct RfmQuintileSummary {
  RfmColumns columns;
  std::vector<double> thresholds;      ///< 3 × 4: the order statistics bounding the quintiles
  std::vector<double> score_mean;      ///< k × 3: mean R, F and M score
  std::vector<double> quintile_share;  ///< k × 3 × 5: share of the segment scoring 1 … 5
  /// k × 11: share of the segment in each named RFM segment (core/rfm.hpp rfm_segment of the
  /// customer's three scores), in RfmSegment code order.
  std::vector<double> segment_share;
};

/// The named RFM segment (code) holding the largest share of segment `s` (ties to the lower
/// code).
int dominant_rfm_segment(const RfmQuintileSummary& rfm, int s);

/// "mostly Champions (62%)": the dominant named RFM segment of segment `s` and its share.
std::string rfm_dominant_text(const RfmQuintileSummary& rfm, int s);

/// "R4.6 F4.8 M4.9": the mean scores of segment `s`, one decimal.
std::string rfm_summary_text(const RfmQuintileSummary& rfm, int s);

/// Weights of the priority score (docs/file-format.md): base = value_weight · value share +
/// size_weight · size share (size share alone without a value feature), times
/// 1 + clamp(growth, −growth_limit, +growth_limit), times 100.
inline constexpr double priority_value_weight = 0.7;
inline constexpr double priority_size_weight = 0.3;
inline constexpr double priority_growth_limit = 0.5;

/// Growth against the previous run and the priority of each segment.
struct SegmentPriority {
  std::vector<double> growth;        ///< (size − previous size) / previous size; NaN: no history
  std::vector<double> value_growth;  ///< the same for total value; NaN when either is unknown
  std::vector<double> priority;      ///< see priority_value_weight
  std::vector<std::int32_t> rank;    ///< 1 for the highest priority (ties to the lower id)
};

/// The history of each segment of this run in the previous run (NaN where a segment has none:
/// a first run, or an id new in this run).
struct SegmentHistory {
  std::vector<double> previous_size;
  std::vector<double> previous_value_total;
};

/// The history of this run's segments from the previous run's sizes and value totals (value
/// totals empty when unknown): `previous_row` holds per segment its matched previous row or -1.
SegmentHistory segment_history(const std::vector<int>& previous_row,
                               const std::vector<std::int64_t>& previous_sizes,
                               const std::vector<double>& previous_value_total);

/// Priority from sizes, optional value totals and optional history. The growth term uses value
/// growth where it is known, size growth otherwise, and 0 for a segment without history.
/// Throws std::invalid_argument when lengths differ.
SegmentPriority prioritise_segments(const std::vector<std::int64_t>& ids,
                                    const std::vector<std::int64_t>& sizes,
                                    const SegmentValue* value, const SegmentHistory* history);

/// What segments.h5 and profiles.csv add to SegmentProfiles for marketers.
struct ActionableProfiles {
  std::vector<std::string> description;
  std::optional<SegmentValue> value;
  std::optional<RfmQuintileSummary> rfm;
  SegmentPriority priority;
  std::int64_t min_segment_size = 0;    ///< in customers; 0 when no minimum was set
  std::vector<std::int8_t> undersized;  ///< per segment: size < min_segment_size
};

}  // namespace microseg
