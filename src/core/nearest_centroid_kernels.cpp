#include "nearest_centroid_kernels.hpp"

#include <immintrin.h>

#include <cmath>
#include <limits>

namespace microseg::kernels {
namespace {

constexpr int kLanes = 16;  // centroids per block; AssignmentCentroids pads k to a multiple

// Per-lane minima to one answer: the smallest value, then the lowest index holding it.
inline void reduce_lanes(const float* values, const std::int32_t* indices, std::int32_t& nearest,
                         float& value) {
  int best = indices[0];
  float best_value = values[0];
  for (int l = 1; l < kLanes; ++l) {
    if (values[l] < best_value || (values[l] == best_value && indices[l] < best)) {
      best_value = values[l];
      best = indices[l];
    }
  }
  nearest = best;
  value = best_value;
}

}  // namespace

// Portable: the same lane arithmetic with std::fma (a single rounding, like the vector FMAs).
void nearest_centroid_portable(const float* rows, std::int64_t n, int d,
                               const AssignmentCentroids& centroids, std::int32_t* nearest,
                               float* partial_distance) {
  const int k = centroids.k(), k_padded = centroids.k_padded();
  const float* minus_two_c = centroids.minus_two_transposed();
  const float* norms = centroids.squared_norms();
  for (std::int64_t i = 0; i < n; ++i) {
    const float* x = rows + i * d;
    int best = 0;
    float best_value = std::numeric_limits<float>::infinity();
    for (int block = 0; block < k_padded; block += kLanes) {
      float acc[kLanes];
      for (int l = 0; l < kLanes; ++l) acc[l] = norms[block + l];
      for (int j = 0; j < d; ++j) {
        const float* column = minus_two_c + static_cast<std::size_t>(j) * k_padded + block;
        for (int l = 0; l < kLanes; ++l) acc[l] = std::fma(x[j], column[l], acc[l]);
      }
      for (int l = 0; l < kLanes && block + l < k; ++l) {
        if (acc[l] < best_value || block + l == 0) {
          best_value = acc[l];
          best = block + l;
        }
      }
    }
    nearest[i] = best;
    partial_distance[i] = best_value;
  }
}

// AVX2: 4 rows × 16 lanes (two ymm) per tile, a running minimum per lane across blocks.
__attribute__((target("avx2,fma"))) void nearest_centroid_avx2(const float* rows, std::int64_t n,
                                                               int d,
                                                               const AssignmentCentroids& centroids,
                                                               std::int32_t* nearest,
                                                               float* partial_distance) {
  constexpr int R = 4;
  const int k_padded = centroids.k_padded();
  const float* minus_two_c = centroids.minus_two_transposed();
  const float* norms = centroids.squared_norms();
  const __m256i lane_offsets = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (std::int64_t i0 = 0; i0 < n; i0 += R) {
    const int rows_here = static_cast<int>(std::min<std::int64_t>(R, n - i0));
    const float* x[R];
    for (int r = 0; r < R; ++r) x[r] = rows + (i0 + (r < rows_here ? r : 0)) * d;
    __m256 best_value[R][2];
    __m256i best_index[R][2];
    for (int r = 0; r < R; ++r) {
      for (int h = 0; h < 2; ++h) {
        best_value[r][h] = _mm256_set1_ps(std::numeric_limits<float>::infinity());
        best_index[r][h] = _mm256_set1_epi32(0);
      }
    }
    for (int block = 0; block < k_padded; block += kLanes) {
      __m256 acc[R][2];
      const __m256 norm0 = _mm256_loadu_ps(norms + block);
      const __m256 norm1 = _mm256_loadu_ps(norms + block + 8);
      for (int r = 0; r < R; ++r) {
        acc[r][0] = norm0;
        acc[r][1] = norm1;
      }
      const float* column = minus_two_c + block;
      for (int j = 0; j < d; ++j, column += k_padded) {
        const __m256 c0 = _mm256_loadu_ps(column);
        const __m256 c1 = _mm256_loadu_ps(column + 8);
        for (int r = 0; r < R; ++r) {
          const __m256 xj = _mm256_broadcast_ss(x[r] + j);
          acc[r][0] = _mm256_fmadd_ps(xj, c0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(xj, c1, acc[r][1]);
        }
      }
      for (int h = 0; h < 2; ++h) {
        const __m256i index = _mm256_add_epi32(lane_offsets, _mm256_set1_epi32(block + 8 * h));
        for (int r = 0; r < R; ++r) {
          // Strictly less: an equal value in a later block keeps the earlier (lower) index.
          const __m256 less = _mm256_cmp_ps(acc[r][h], best_value[r][h], _CMP_LT_OQ);
          best_value[r][h] = _mm256_blendv_ps(best_value[r][h], acc[r][h], less);
          best_index[r][h] = _mm256_castps_si256(_mm256_blendv_ps(
              _mm256_castsi256_ps(best_index[r][h]), _mm256_castsi256_ps(index), less));
        }
      }
    }
    for (int r = 0; r < rows_here; ++r) {
      alignas(32) float values[16];
      alignas(32) std::int32_t indices[16];
      _mm256_store_ps(values, best_value[r][0]);
      _mm256_store_ps(values + 8, best_value[r][1]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(indices), best_index[r][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(indices + 8), best_index[r][1]);
      reduce_lanes(values, indices, nearest[i0 + r], partial_distance[i0 + r]);
    }
  }
}

// AVX-512: 8 rows × 32 lanes (two zmm) per tile: 16 independent FMA chains, two centroid loads
// and eight broadcasts per step of j.
__attribute__((target("avx512f"))) void nearest_centroid_avx512(
    const float* rows, std::int64_t n, int d, const AssignmentCentroids& centroids,
    std::int32_t* nearest, float* partial_distance) {
  constexpr int R = 8;
  const int k_padded = centroids.k_padded();
  const float* minus_two_c = centroids.minus_two_transposed();
  const float* norms = centroids.squared_norms();
  const __m512i lane_offsets =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (std::int64_t i0 = 0; i0 < n; i0 += R) {
    const int rows_here = static_cast<int>(std::min<std::int64_t>(R, n - i0));
    const float* x[R];
    for (int r = 0; r < R; ++r) x[r] = rows + (i0 + (r < rows_here ? r : 0)) * d;
    __m512 best_value[R];
    __m512i best_index[R];
    for (int r = 0; r < R; ++r) {
      best_value[r] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
      best_index[r] = _mm512_set1_epi32(0);
    }
    int block = 0;
    for (; block + 2 * kLanes <= k_padded; block += 2 * kLanes) {
      __m512 acc0[R], acc1[R];
      const __m512 norm0 = _mm512_loadu_ps(norms + block);
      const __m512 norm1 = _mm512_loadu_ps(norms + block + kLanes);
      for (int r = 0; r < R; ++r) {
        acc0[r] = norm0;
        acc1[r] = norm1;
      }
      const float* column = minus_two_c + block;
      for (int j = 0; j < d; ++j, column += k_padded) {
        const __m512 c0 = _mm512_loadu_ps(column);
        const __m512 c1 = _mm512_loadu_ps(column + kLanes);
        for (int r = 0; r < R; ++r) {
          const __m512 xj = _mm512_set1_ps(x[r][j]);
          acc0[r] = _mm512_fmadd_ps(xj, c0, acc0[r]);
          acc1[r] = _mm512_fmadd_ps(xj, c1, acc1[r]);
        }
      }
      const __m512i index0 = _mm512_add_epi32(lane_offsets, _mm512_set1_epi32(block));
      const __m512i index1 = _mm512_add_epi32(index0, _mm512_set1_epi32(kLanes));
      for (int r = 0; r < R; ++r) {
        // Block order, strictly less: ties keep the lower index.
        __mmask16 less = _mm512_cmp_ps_mask(acc0[r], best_value[r], _CMP_LT_OQ);
        best_value[r] = _mm512_mask_blend_ps(less, best_value[r], acc0[r]);
        best_index[r] = _mm512_mask_blend_epi32(less, best_index[r], index0);
        less = _mm512_cmp_ps_mask(acc1[r], best_value[r], _CMP_LT_OQ);
        best_value[r] = _mm512_mask_blend_ps(less, best_value[r], acc1[r]);
        best_index[r] = _mm512_mask_blend_epi32(less, best_index[r], index1);
      }
    }
    if (block < k_padded) {  // one last block of 16 lanes
      __m512 acc[R];
      const __m512 norm = _mm512_loadu_ps(norms + block);
      for (int r = 0; r < R; ++r) acc[r] = norm;
      const float* column = minus_two_c + block;
      for (int j = 0; j < d; ++j, column += k_padded) {
        const __m512 c = _mm512_loadu_ps(column);
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r][j]), c, acc[r]);
      }
      const __m512i index = _mm512_add_epi32(lane_offsets, _mm512_set1_epi32(block));
      for (int r = 0; r < R; ++r) {
        const __mmask16 less = _mm512_cmp_ps_mask(acc[r], best_value[r], _CMP_LT_OQ);
        best_value[r] = _mm512_mask_blend_ps(less, best_value[r], acc[r]);
        best_index[r] = _mm512_mask_blend_epi32(less, best_index[r], index);
      }
    }
    for (int r = 0; r < rows_here; ++r) {
      // The minimum value, then the lowest index among the lanes that hold it. (A plain loop:
      // GCC 12's _mm512_reduce_min_ps trips -Wmaybe-uninitialized in its own header.)
      alignas(64) float values[kLanes];
      alignas(64) std::int32_t indices[kLanes];
      _mm512_store_ps(values, best_value[r]);
      _mm512_store_si512(indices, best_index[r]);
      reduce_lanes(values, indices, nearest[i0 + r], partial_distance[i0 + r]);
    }
  }
}

}  // namespace microseg::kernels
