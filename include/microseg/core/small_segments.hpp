#pragma once
/// \file Segment sufficiency: the smallest segment a campaign can use, and the merge of smaller
/// segments into their nearest neighbour.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {

/// A minimum segment size, as a count of customers or as a share of all customers.
struct MinimumSegmentSize {
  enum class Kind { none, count, share };
  Kind kind = Kind::none;
  double value = 0;  ///< customers (count) or a share in (0, 1)

  /// The minimum in customers for a base of `customers` (a share rounds up; 0 for none).
  std::int64_t customers_for(std::int64_t customers) const;
  /// As the option reads: "500", "0.02" or "" for none.
  std::string text() const;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& kind& value;
  }
};

/// Parses --min-segment-size: a whole number of customers ("500"), or a share written as a
/// fraction below 1 ("0.02") or a percentage ("2%"). Throws InputError naming the option.
MinimumSegmentSize parse_minimum_segment_size(const std::string& text);

/// One merge: segment `absorbed` goes into segment `into` (indices into the current centroids).
struct SegmentMerge {
  int absorbed = 0;
  int into = 0;
};

/// The next merge, if any: the smallest segment below `minimum` customers (ties to the lowest
/// index) into the segment whose centroid is nearest to its own (ties to the lowest index).
/// Nothing when every segment is large enough or only one is left.
std::optional<SegmentMerge> next_small_segment_merge(const std::vector<std::int64_t>& sizes,
                                                     const CentroidMatrix& centroids,
                                                     std::int64_t minimum);

/// The centroids after `merge`: row `into` becomes the size-weighted mean of the two rows and
/// row `absorbed` is removed (later rows move up by one).
CentroidMatrix merge_centroids(const CentroidMatrix& centroids,
                               const std::vector<std::int64_t>& sizes, SegmentMerge merge);

}  // namespace microseg
