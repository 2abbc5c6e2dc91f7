#pragma once
/// \file The assignment step of k-means over a rank's rows, and the sums a Lloyd update needs.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Centroids laid out for the assignment kernel: float, transposed (d × k_padded) and padded to
/// a whole number of SIMD lanes with centroids that can never win, so every lane of every row
/// runs the same instruction sequence and a row's result does not depend on its position.
class AssignmentCentroids {
 public:
  explicit AssignmentCentroids(const CentroidMatrix& centroids);
  int k() const { return k_; }
  int d() const { return d_; }
  int k_padded() const { return k_padded_; }
  const float* transposed() const { return transposed_.data(); }  ///< [j * k_padded + c]
  /// −2·c, same layout: the kernels compute fma(x_j, −2c_j, acc), which equals
  /// fma(−2x_j, c_j, acc) exactly, with x broadcast straight from memory.
  const float* minus_two_transposed() const { return minus_two_transposed_.data(); }
  const float* squared_norms() const { return squared_norms_.data(); }
  /// −2·c in blocks of kPackedBlock centroids, each block j-major: [(c / B) · d · B + j · B + c %
  /// B] with B = kPackedBlock, over the k_padded centroids, so a kernel stepping through j reads
  /// one block's coefficients contiguously.
  const float* minus_two_packed() const { return minus_two_packed_.data(); }
  static constexpr int kPackedBlock = 8;

 private:
  int k_ = 0, d_ = 0, k_padded_ = 0;
  std::vector<float> transposed_, minus_two_transposed_, minus_two_packed_, squared_norms_;
};

/// Instruction-set variants of the nearest-centroid kernel. All give identical labels and
/// values; the fastest the CPU supports is used unless MICROSEG_KERNEL names another.
enum class KernelIsa { portable, avx2, avx512 };
std::string to_string(KernelIsa isa);
/// The variants this CPU can run, slowest first.
std::vector<KernelIsa> supported_kernels();
/// The variant assign_and_accumulate uses: MICROSEG_KERNEL (portable|avx2|avx512) if set and
/// supported, else the fastest supported.
KernelIsa active_kernel();

/// Nearest centroid of every row (tie → lowest index) and its partial distance ‖c‖² − 2x·c,
/// with the given kernel variant.
void nearest_centroids(const FeatureMatrix& features, const AssignmentCentroids& centroids,
                       KernelIsa isa, std::vector<std::int32_t>& nearest,
                       std::vector<float>& partial_distances);

/// Per-segment sums for a Lloyd update, on per-feature 64-bit fixed-point grids. With sample
/// weights the sums are of w·x and `weights` holds Σ w per segment on its own grid.
struct LloydSums {
  LloydSums(int k, int d, bool weighted = false)
      : sums(static_cast<std::size_t>(k) * d, 0), counts(k, 0), weights(weighted ? k : 0, 0) {}
  std::vector<std::int64_t> sums;     ///< k × d, row-major
  std::vector<std::int64_t> counts;   ///< k: rows
  std::vector<std::int64_t> weights;  ///< k: Σ w on the weight grid; empty without weights
  std::int64_t reassigned = 0;        ///< rows whose label changed in this step
};

/// ‖x‖² of every row, in float, computed once per run.
std::vector<float> row_squared_norms(const FeatureMatrix& features);

/// What a Lloyd step walks over, held by reference: a rank's rows with what every step reuses.
struct LloydRows {
  const FeatureMatrix& features;
  const std::vector<float>& row_norms;             ///< ‖x‖² per row (row_squared_norms)
  const std::vector<FixedPointFormat64>& formats;  ///< one grid per feature for the sums
  /// Sample weights, one per row, or null when every row weighs 1 (a rank without rows of a
  /// weighted table passes its empty vector). With weights the sums are of w·x (`formats` must
  /// bound |w·x|) and of w on `weight_format`.
  const std::vector<float>* weights = nullptr;
  FixedPointFormat64 weight_format = {};
};

/// Assigns every row to its nearest centroid (tie → lowest index), writes the label and the
/// squared distance (‖x‖² + ‖c‖² − 2x·c, clamped at 0), and adds the row to its segment's sums.
/// Rows are split over the OpenMP threads in fixed chunks; each thread sums into its own
/// integer sums, so the result does not depend on the thread count.
void assign_and_accumulate(const LloydRows& rows, const AssignmentCentroids& centroids,
                           std::vector<std::int32_t>& labels, std::vector<float>& squared_distances,
                           LloydSums& sums);

/// The new centroids from global sums: the means, or with weights Σ w·x / Σ w. Rows of empty
/// segments (no rows, or a weight of 0) are left as in `previous`; the caller re-seeds them.
CentroidMatrix centroids_from_sums(const LloydSums& global_sums,
                                   const std::vector<FixedPointFormat64>& formats,
                                   const CentroidMatrix& previous,
                                   const FixedPointFormat64& weight_format = {});

/// Whether segment c of global sums is empty: no rows, or (with weights) a total weight of 0.
inline bool segment_is_empty(const LloydSums& global_sums, std::size_t c) {
  return global_sums.weights.empty() ? global_sums.counts[c] == 0 : global_sums.weights[c] == 0;
}

/// Σ_c ‖new_c − old_c‖², the shift that the convergence test compares with tol · mean variance.
double total_squared_shift(const CentroidMatrix& old_centroids,
                           const CentroidMatrix& new_centroids);

/// The nearest and second-nearest centroid of every row with their Euclidean distances computed
/// in double from the float row and the double centroid (second is -1 and +inf when k = 1).
struct NearestTwo {
  std::vector<std::int32_t> nearest, second;
  std::vector<double> nearest_distance, second_distance;
};
NearestTwo nearest_two(const FeatureMatrix& features, const CentroidMatrix& centroids);

/// Squared Euclidean distance in double between a float row and a double centre.
double squared_distance(const float* row, const double* center, int d);

}  // namespace microseg
