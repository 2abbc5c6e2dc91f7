#pragma once
// The nearest-centroid kernels behind assign_and_accumulate: one per instruction set, all with
// the same per-lane arithmetic (acc = fma(x_j, −2·c_j, acc) for j = 0..d−1, from acc = ‖c‖²), so
// every variant gives the same labels and values bit for bit.
#include <cstdint>

#include "microseg/core/assignment.hpp"

namespace microseg::kernels {

/// The rows a kernel walks over: rows [0, n) of a row-major n × d block.
struct RowBlock {
  const float* rows;
  std::int64_t n;
  int d;
};

/// For every row of the block: the index of the nearest centroid (tie → lowest) and its partial
/// distance ‖c‖² − 2x·c.
using NearestCentroidKernel = void (*)(const RowBlock& block, const AssignmentCentroids& centroids,
                                       std::int32_t* nearest, float* partial_distance);

void nearest_centroid_portable(const RowBlock&, const AssignmentCentroids&, std::int32_t*, float*);
void nearest_centroid_avx2(const RowBlock&, const AssignmentCentroids&, std::int32_t*, float*);
void nearest_centroid_avx512(const RowBlock&, const AssignmentCentroids&, std::int32_t*, float*);

/// Adds every row of the block to the fixed-point sums of its label:
/// sums.sums[label · d + j] += trunc(x_j · scales[j]) (scales are powers of two, so the product
/// is exact and the result is FixedPointFormat64::to_fixed's), and sums.counts[label] += 1.
using FixedPointAccumulator = void (*)(const RowBlock& block, const std::int32_t* labels,
                                       const double* scales, LloydSums& sums);

void accumulate_fixed_portable(const RowBlock&, const std::int32_t*, const double*, LloydSums&);
void accumulate_fixed_avx512(const RowBlock&, const std::int32_t*, const double*, LloydSums&);

/// The same with sample weights (one per row of the block): sums.sums[label · d + j] +=
/// FixedPointFormat64::to_fixed_product(x_j, w) on scales[j], sums.weights[label] += w on
/// weight_scale, sums.counts[label] += 1.
void accumulate_fixed_weighted(const RowBlock& block, const std::int32_t* labels,
                               const float* weights, const double* scales, double weight_scale,
                               LloydSums& sums);

/// For every row of the block: the nearest and second-nearest centroid by the kernel values, in
/// the order of nearest_two's scalar scan (c = 0 first; a strictly smaller value takes the first
/// place and pushes the old first to second; otherwise the value takes the second place if it is
/// strictly smaller than the second's or no second exists yet); second is −1 when k = 1.
void nearest_two_avx512(const RowBlock& block, const AssignmentCentroids& centroids,
                        std::int32_t* first, std::int32_t* second);

}  // namespace microseg::kernels
