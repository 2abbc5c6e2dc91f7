#pragma once
/// \file Stable segment ids across runs: the optimal one-to-one matching of a new run's
/// segments to a previous run's (Hungarian algorithm on centroid distances), and the ids that
/// follow from it.
///
/// A run's segments are the rows of its centroid matrix; each row carries a stable id. Matched
/// rows keep the previous id, unmatched new rows get fresh ids from a counter that only grows,
/// and unmatched previous ids are retired for good, so an id never names two different segments.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// The assignment of rows to columns that minimises the total cost (Kuhn–Munkres with
/// potentials, O(min² · max)). `cost` is rows × cols, row-major, finite. Returns for each row the
/// column it is matched to, or -1 when rows > cols leaves it unmatched; min(rows, cols) pairs are
/// matched. Deterministic: the same costs give the same matching. Throws std::invalid_argument
/// on a size mismatch or a non-finite cost.
std::vector<int> minimum_cost_assignment(const std::vector<double>& cost, int rows, int cols);

/// The stable ids of a run's segments and the state the next run continues from.
struct SegmentIdentity {
  std::vector<std::int64_t> ids;          ///< per centroid row, its stable id
  std::int64_t next_id = 0;               ///< fresh ids start here; it never decreases
  std::vector<std::int64_t> retired_ids;  ///< every id retired so far, ascending

  /// The ids of a first run: 0 … k−1, next id k, none retired.
  static SegmentIdentity first_run(int k);
  /// Row of `id`, or -1.
  int row_of(std::int64_t id) const;
};

/// The outcome of matching a new run's segments to the previous run's.
struct SegmentMatch {
  SegmentIdentity identity;               ///< of the new run
  std::vector<int> previous_row;          ///< per new row: the matched previous row, or -1
  std::vector<double> drift;              ///< per new row: distance to it (NaN when unmatched)
  std::vector<std::int64_t> fresh_ids;    ///< ids given to unmatched new rows, ascending
  std::vector<std::int64_t> retired_now;  ///< previous ids left unmatched, ascending
  /// Previous ids whose optimal partner lay beyond the cut-off (also in retired_now), ascending.
  std::vector<std::int64_t> too_far;
  double max_distance = 0;  ///< the cut-off applied (+inf: none)
};

/// The default cut-off of a match, as a multiple of the previous run's root-mean-square
/// distance of a customer to its centroid (sqrt(inertia / customers)): a new centroid farther
/// than this from its partner lies where the old segment had hardly any customers.
inline constexpr double default_match_spread_multiple = 2.0;

/// The --match-max-distance option: a multiple of the previous run's customer spread
/// ("2x", the default), an absolute distance in the previous run's scaled space ("1.5"), or
/// none ("none": every optimal pair is kept).
struct MatchCutoff {
  enum class Kind { spread_multiple, absolute, none };
  Kind kind = Kind::spread_multiple;
  double value = default_match_spread_multiple;

  /// The cut-off for a previous run whose customers lie at root-mean-square distance `spread`
  /// from their centroids (+inf for none).
  double distance_for(double spread) const;
  /// As the option reads: "2x", "1.5" or "none".
  std::string text() const;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& kind& value;
  }
};

/// Parses --match-max-distance ("" gives the default). Throws InputError naming the option.
MatchCutoff parse_match_cutoff(const std::string& text);

/// Matches the rows of `current` to the rows of `previous` (both in the previous run's scaled
/// space, same columns) by minimum total Euclidean distance. A matched pair farther apart than
/// `max_distance` is broken: the new row counts as a new segment and the previous id is retired.
/// Unmatched new rows get fresh ids previous_identity.next_id, next_id + 1, … in row order.
/// Throws std::invalid_argument when the shapes or the identity do not fit, or max_distance is
/// NaN or negative.
SegmentMatch match_segments(const CentroidMatrix& previous,
                            const SegmentIdentity& previous_identity, const CentroidMatrix& current,
                            double max_distance = std::numeric_limits<double>::infinity());

/// Which rows may be paired in match_segments_in_groups: a previous row and a current row are
/// candidates when their groups are equal. Groups are 0, 1, …; -1 puts a previous row in none.
struct MatchGroups {
  std::vector<int> previous;  ///< per previous row
  std::vector<int> current;   ///< per current row
};

/// As match_segments, with the optimal matching made inside each group (a two-level run's
/// micro-segments inside their macro segment): rows of different groups are never paired, a
/// previous row in no group is retired. With every row in group 0 it is match_segments.
SegmentMatch match_segments_in_groups(
    const CentroidMatrix& previous, const SegmentIdentity& previous_identity,
    const CentroidMatrix& current, const MatchGroups& groups,
    double max_distance = std::numeric_limits<double>::infinity());

/// The group of each previous segment for match_segments_in_groups: the one that holds most of
/// its customers now, from `counts` (previous_k × groups, row-major: customers of previous
/// segment p now in group g), ties to the group of lower id (`group_ids`, one per group); a
/// previous segment none of whose customers is in this run takes `fallback[p]` (-1: none).
/// Throws std::invalid_argument when the sizes do not fit.
std::vector<int> candidate_groups(const std::vector<std::int64_t>& counts, int previous_k,
                                  const std::vector<std::int64_t>& group_ids,
                                  const std::vector<int>& fallback);

/// The rows of the `k` largest segments by `sizes` (ties to the lower row), ascending: the
/// previous segments a warm start with fewer segments than the previous run starts from.
std::vector<int> largest_segment_rows(const std::vector<std::int64_t>& sizes, int k);

/// Maps centroids from the scaled space of `from` to the scaled space of `to` (same columns):
/// back to original units through `from` (inverse scaling, then expm1 where log1p), then forward
/// through `to` (log1p where flagged, then scaling). Throws InputError naming the feature when a
/// value cannot go through `to`'s log1p (original value ≤ −1).
CentroidMatrix rescale_centroids(const CentroidMatrix& centroids, const ScalingModel& from,
                                 const ScalingModel& to,
                                 const std::vector<std::string>& feature_names);

}  // namespace microseg
