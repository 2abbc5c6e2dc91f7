#pragma once
/// \file Segment sufficiency across ranks: segment sizes under the final (nearest-centroid)
/// assignment, and the merge of segments below a minimum size into their nearest segment.
#include <cstdint>
#include <vector>

#include "microseg/core/small_segments.hpp"
#include "microseg/distributed/rank_rows.hpp"

namespace microseg::distributed {

/// Customers nearest to each centroid, over all ranks, with the final assignment's rule
/// (core nearest_two: double precision, ties to the lowest index).
std::vector<std::int64_t> nearest_centroid_sizes(const RankRows& rows,
                                                 const CentroidMatrix& centroids);

/// The model after merging small segments.
struct SmallSegmentMerges {
  CentroidMatrix centroids;
  std::vector<SegmentMerge> merges;  ///< in the order made; indices as they were at that step
  std::vector<std::int64_t> sizes;   ///< of the remaining segments under the final assignment
};

/// Repeatedly merges the smallest segment below `minimum` customers into the segment with the
/// nearest centroid (core next_small_segment_merge), re-counting after every merge, until every
/// segment has at least `minimum` customers or one segment is left. Every rank makes the same
/// choices.
SmallSegmentMerges merge_small_segments(const RankRows& rows, const CentroidMatrix& centroids,
                                        std::int64_t minimum);

}  // namespace microseg::distributed
