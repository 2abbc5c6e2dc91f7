#include "microseg/distributed/small_segments.hpp"

#include "microseg/core/assignment.hpp"

namespace microseg::distributed {

std::vector<std::int64_t> nearest_centroid_sizes(const RankRows& rows,
                                                 const CentroidMatrix& centroids) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(centroids.rows()), 0);
  for (std::int32_t s : nearest_two(rows.features(), centroids).nearest) ++sizes[s];
  rows.comm().sum_in_place(sizes);
  return sizes;
}

SmallSegmentMerges merge_small_segments(const RankRows& rows, const CentroidMatrix& centroids,
                                        std::int64_t minimum) {
  SmallSegmentMerges result;
  result.centroids = centroids;
  result.sizes = nearest_centroid_sizes(rows, result.centroids);
  while (const auto merge = next_small_segment_merge(result.sizes, result.centroids, minimum)) {
    result.centroids = merge_centroids(result.centroids, result.sizes, *merge);
    result.merges.push_back(*merge);
    result.sizes = nearest_centroid_sizes(rows, result.centroids);
  }
  return result;
}

}  // namespace microseg::distributed
