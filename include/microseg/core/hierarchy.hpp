#pragma once
/// \file Two-level segmentation: how a total number of micro-segments is shared out over the
/// macro segments, and the bookkeeping of which micro-segment belongs to which macro segment.
#include <cstdint>
#include <string>
#include <vector>

namespace microseg {

/// How `--k` micro-segments are shared out over the macro segments (`--micro-k-rule`).
enum class MicroBudgetRule {
  proportional,  ///< in proportion to each macro segment's customers
  inertia,       ///< in proportion to its within-segment inertia (squared distances to its centre)
  sweep,         ///< per macro segment, the sweep rule's k over a range around its inertia share
};
MicroBudgetRule parse_micro_budget_rule(const std::string& text);  ///< throws InputError
std::string to_string(MicroBudgetRule rule);

/// Shares `total` out over the parts in proportion to `weights` (largest remainders, ties to the
/// lower part), with every part getting at least 1 and at most its cap. Deterministic. Requires
/// parts ≤ total ≤ Σ caps and every cap ≥ 1; weights ≥ 0 (all zero: equal shares). Throws
/// std::invalid_argument otherwise.
std::vector<int> share_out(const std::vector<double>& weights,
                           const std::vector<std::int64_t>& caps, int total);

/// The micro-segments of a two-level model: macro segment m owns rows first[m] … first[m + 1] − 1
/// of the micro centroids.
struct SegmentHierarchy {
  std::vector<int> first;  ///< macro_k + 1 offsets into the micro rows
  int macro_k() const { return static_cast<int>(first.size()) - 1; }
  int micro_k() const { return first.empty() ? 0 : first.back(); }
  /// The macro segment of micro row `micro`.
  int macro_of(int micro) const;
  /// Per micro row, its macro segment.
  std::vector<int> macro_of_each() const;
  /// From the number of micro-segments of each macro segment.
  static SegmentHierarchy from_counts(const std::vector<int>& micro_k);
};

}  // namespace microseg
