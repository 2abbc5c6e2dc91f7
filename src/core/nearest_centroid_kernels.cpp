#include "nearest_centroid_kernels.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "avx512_tile.hpp"

namespace microseg::kernels {
namespace {

constexpr int kLanes = 16;  // centroids per block; AssignmentCentroids pads k to a multiple
constexpr int kMaxFloatScaleColumns = 1024;  // accumulate_fixed_avx512's float path, on the stack

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
void nearest_centroid_portable(const RowBlock& block, const AssignmentCentroids& centroids,
                               std::int32_t* nearest, float* partial_distance) {
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
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
__attribute__((target("avx2,fma"))) void nearest_centroid_avx2(const RowBlock& block,
                                                               const AssignmentCentroids& centroids,
                                                               std::int32_t* nearest,
                                                               float* partial_distance) {
  constexpr int R = 4;
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
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

// AVX-512: the lanes are rows. A tile of 32 rows (two zmm of lanes) is transposed into
// x_j vectors once, then every block of 8 centroids runs 16 independent FMA chains (2 row
// vectors × 8 centroids, −2c_j broadcast from the packed layout). Each lane's running minimum
// and index are a row's answer, so the argmin needs no reduction across lanes and its state
// (four registers) never leaves the register file.
namespace {

using detail::kTileRows;

// The 32 rows of the tile at `tile` (rows past `rows_here` repeat its first row) transposed
// into x_by_column. Contiguous rows are addressed directly: going through
// detail::transpose_into_tile's row pointers measured 5-10 % slower in this kernel.
__attribute__((target("avx512f"))) inline void load_tile(const float* tile, int d, int rows_here,
                                                         float* x_by_column) {
  for (int half = 0; half < 2; ++half) {
    for (int jb = 0; jb < d; jb += 16) {
      const int columns = std::min(16, d - jb);
      const __mmask16 mask = static_cast<__mmask16>((1u << columns) - 1);
      __m512 a[16];
      for (int i = 0; i < 16; ++i) {
        const int row = half * 16 + i < rows_here ? half * 16 + i : 0;
        a[i] = _mm512_maskz_loadu_ps(mask, tile + static_cast<std::ptrdiff_t>(row) * d + jb);
      }
      detail::transpose_16x16(a);
      for (int j = 0; j < columns; ++j) {
        _mm512_store_ps(x_by_column + (jb + j) * kTileRows + half * 16, a[j]);
      }
    }
  }
}

// The tiles, with x_by_column (d × 32 floats, 64-byte aligned) given. Instantiated on a local
// array for d ≤ kLocalColumns: measured 12 % faster at d = 24 than the same code on a heap
// buffer (the cause was not pinned down; __restrict on the heap pointer did not help).
template <bool LocalBuffer>
__attribute__((target("avx512f"), always_inline)) inline void nearest_in_tiles(
    const RowBlock& block, const AssignmentCentroids& centroids, std::int32_t* nearest,
    float* partial_distance, float* x_by_column) {
  constexpr int B = AssignmentCentroids::kPackedBlock;
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
  const int k_padded = centroids.k_padded();
  const float* packed = centroids.minus_two_packed();
  const float* norms = centroids.squared_norms();
  for (std::int64_t i0 = 0; i0 < n; i0 += kTileRows) {
    const int rows_here = static_cast<int>(std::min<std::int64_t>(kTileRows, n - i0));
    const float* tile = rows + i0 * d;
    load_tile(tile, d, rows_here, x_by_column);
    __m512 best_value[2];
    __m512i best_index[2];
    for (int h = 0; h < 2; ++h) {
      best_value[h] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
      best_index[h] = _mm512_setzero_si512();
    }
    // k_padded is a multiple of B; padding centroids have +inf norms and never win.
    for (int block = 0; block < k_padded; block += B) {
      __m512 acc[2][B];
      detail::tile_kernel_values<B>(x_by_column, d, packed + static_cast<std::size_t>(block) * d,
                                    norms + block, acc);
      for (int c = 0; c < B; ++c) {
        // Centroid order, strictly less: ties keep the lower index.
        const __m512i index = _mm512_set1_epi32(block + c);
        for (int h = 0; h < 2; ++h) {
          const __mmask16 less = _mm512_cmp_ps_mask(acc[h][c], best_value[h], _CMP_LT_OQ);
          best_value[h] = _mm512_mask_mov_ps(best_value[h], less, acc[h][c]);
          best_index[h] = _mm512_mask_mov_epi32(best_index[h], less, index);
        }
      }
    }
    if (rows_here == kTileRows) {
      for (int h = 0; h < 2; ++h) {
        _mm512_storeu_si512(nearest + i0 + 16 * h, best_index[h]);
        _mm512_storeu_ps(partial_distance + i0 + 16 * h, best_value[h]);
      }
    } else {
      alignas(64) std::int32_t indices[kTileRows];
      alignas(64) float values[kTileRows];
      for (int h = 0; h < 2; ++h) {
        _mm512_store_si512(indices + 16 * h, best_index[h]);
        _mm512_store_ps(values + 16 * h, best_value[h]);
      }
      for (int r = 0; r < rows_here; ++r) {
        nearest[i0 + r] = indices[r];
        partial_distance[i0 + r] = values[r];
      }
    }
  }
}

constexpr int kLocalColumns = 64;

}  // namespace

__attribute__((target("avx512f"))) void nearest_centroid_avx512(
    const RowBlock& block, const AssignmentCentroids& centroids, std::int32_t* nearest,
    float* partial_distance) {
  const RowBlock rows = block;  // read before the allocation, see nearest_two_avx512
  if (rows.d <= kLocalColumns) {
    alignas(64) float x_by_column[kLocalColumns * kTileRows];
    nearest_in_tiles<true>(rows, centroids, nearest, partial_distance, x_by_column);
    return;
  }
  struct alignas(64) Lanes {
    float value[16];
  };
  std::vector<Lanes> x_storage(2 * static_cast<std::size_t>(rows.d));  // d × 32 floats, aligned
  nearest_in_tiles<false>(rows, centroids, nearest, partial_distance, x_storage.data()->value);
}

namespace {

// Nearest two with the same tile: per lane a running first (value, index) and second (value,
// index), updated over the centroids in index order exactly as nearest_two's scalar scan.
template <bool LocalBuffer>
__attribute__((target("avx512f"), always_inline)) inline void nearest_two_in_tiles(
    const RowBlock& block, const AssignmentCentroids& centroids, std::int32_t* first,
    std::int32_t* second, float* x_by_column) {
  constexpr int B = AssignmentCentroids::kPackedBlock;
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
  const int k = centroids.k(), k_padded = centroids.k_padded();
  const float* packed = centroids.minus_two_packed();
  const float* norms = centroids.squared_norms();
  const __m512i none = _mm512_set1_epi32(-1);
  for (std::int64_t i0 = 0; i0 < n; i0 += kTileRows) {
    const int rows_here = static_cast<int>(std::min<std::int64_t>(kTileRows, n - i0));
    const float* tile = rows + i0 * d;
    load_tile(tile, d, rows_here, x_by_column);
    __m512 first_value[2], second_value[2];
    __m512i first_index[2], second_index[2];
    for (int h = 0; h < 2; ++h) {
      first_value[h] = second_value[h] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
      first_index[h] = second_index[h] = none;
    }
    for (int block = 0; block < k_padded; block += B) {
      __m512 acc[2][B];
      detail::tile_kernel_values<B>(x_by_column, d, packed + static_cast<std::size_t>(block) * d,
                                    norms + block, acc);
      for (int c = 0; c < B && block + c < k; ++c) {
        const __m512i index = _mm512_set1_epi32(block + c);
        for (int h = 0; h < 2; ++h) {
          // Centroid 0 takes the first place unconditionally (first_index is still −1).
          const __mmask16 less = _mm512_cmp_ps_mask(acc[h][c], first_value[h], _CMP_LT_OQ) |
                                 _mm512_cmpeq_epi32_mask(first_index[h], none);
          const __mmask16 takes_second =
              static_cast<__mmask16>(~less) &
              (_mm512_cmp_ps_mask(acc[h][c], second_value[h], _CMP_LT_OQ) |
               _mm512_cmpeq_epi32_mask(second_index[h], none));
          second_value[h] = _mm512_mask_mov_ps(
              _mm512_mask_mov_ps(second_value[h], takes_second, acc[h][c]), less, first_value[h]);
          second_index[h] = _mm512_mask_mov_epi32(
              _mm512_mask_mov_epi32(second_index[h], takes_second, index), less, first_index[h]);
          first_value[h] = _mm512_mask_mov_ps(first_value[h], less, acc[h][c]);
          first_index[h] = _mm512_mask_mov_epi32(first_index[h], less, index);
        }
      }
    }
    alignas(64) std::int32_t firsts[kTileRows], seconds[kTileRows];
    for (int h = 0; h < 2; ++h) {
      _mm512_store_si512(firsts + 16 * h, first_index[h]);
      _mm512_store_si512(seconds + 16 * h, second_index[h]);
    }
    std::copy(firsts, firsts + rows_here, first + i0);
    std::copy(seconds, seconds + rows_here, second + i0);
  }
}

}  // namespace

__attribute__((target("avx512f"))) void nearest_two_avx512(const RowBlock& block,
                                                           const AssignmentCentroids& centroids,
                                                           std::int32_t* first,
                                                           std::int32_t* second) {
  // A copy read before the buffer's allocation: with the fields read after it, GCC 12 stored the
  // tile's 16 accumulators to the stack on every feature when d > 64.
  const RowBlock rows = block;
  if (rows.d <= kLocalColumns) {
    alignas(64) float x_by_column[kLocalColumns * kTileRows];
    nearest_two_in_tiles<true>(rows, centroids, first, second, x_by_column);
    return;
  }
  struct alignas(64) Lanes {
    float value[16];
  };
  std::vector<Lanes> x_storage(2 * static_cast<std::size_t>(rows.d));
  nearest_two_in_tiles<false>(rows, centroids, first, second, x_storage.data()->value);
}

void accumulate_fixed_portable(const RowBlock& block, const std::int32_t* labels,
                               const double* scales, LloydSums& out) {
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
  std::int64_t* sums = out.sums.data();
  std::int64_t* counts = out.counts.data();
  for (std::int64_t i = 0; i < n; ++i) {
    const float* x = rows + i * d;
    std::int64_t* segment = sums + static_cast<std::size_t>(labels[i]) * d;
    for (int j = 0; j < d; ++j) {
      segment[j] += static_cast<std::int64_t>(static_cast<double>(x[j]) * scales[j]);
    }
    ++counts[labels[i]];
  }
}

void accumulate_fixed_weighted(const RowBlock& block, const std::int32_t* labels,
                               const float* weights, const double* scales, double weight_scale,
                               LloydSums& out) {
  const float* rows = block.rows;
  const int d = block.d;
  std::int64_t* sums = out.sums.data();
  for (std::int64_t i = 0; i < block.n; ++i) {
    const float* x = rows + i * d;
    const double w = weights[i];
    std::int64_t* segment = sums + static_cast<std::size_t>(labels[i]) * d;
    // (x · w) · 2^e: the product of two floats is exact in double, the scale a power of two.
    for (int j = 0; j < d; ++j) {
      segment[j] += static_cast<std::int64_t>(static_cast<double>(x[j]) * w * scales[j]);
    }
    out.weights[labels[i]] += static_cast<std::int64_t>(w * weight_scale);
    ++out.counts[labels[i]];
  }
}

// Eight features at a time: x · 2^e in float (exact: e is a power-of-two scale, and the bounds
// keep the product far from float overflow) truncated straight to int64 by vcvttps2qq, which
// gives the scalar cast's result, 2^63 pattern out of range included. Full groups use unmasked
// loads and stores (masked stores are slow on some AVX-512 cores); only the last group is
// masked. `float_scales` are the scales as floats, or null when one is outside float's range.
__attribute__((target("avx512f,avx512vl,avx512dq"))) void accumulate_fixed_avx512(
    const RowBlock& block, const std::int32_t* labels, const double* scales, LloydSums& out) {
  const float* rows = block.rows;
  const std::int64_t n = block.n;
  const int d = block.d;
  std::int64_t* sums = out.sums.data();
  std::int64_t* counts = out.counts.data();
  float float_scales[kMaxFloatScaleColumns];
  bool as_float = d <= kMaxFloatScaleColumns;
  for (int j = 0; j < d && as_float; ++j) {
    as_float = scales[j] >= 0x1p-126 && scales[j] <= 0x1p126;
    float_scales[j] = static_cast<float>(scales[j]);
  }
  const int full = d / 8 * 8;
  const __mmask8 tail = static_cast<__mmask8>((1u << (d - full)) - 1);
  if (as_float) {
    for (std::int64_t i = 0; i < n; ++i) {
      const float* x = rows + i * d;
      std::int64_t* segment = sums + static_cast<std::size_t>(labels[i]) * d;
      for (int j = 0; j < full; j += 8) {
        const __m512i fixed = _mm512_cvttps_epi64(
            _mm256_mul_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(float_scales + j)));
        _mm512_storeu_si512(segment + j, _mm512_add_epi64(_mm512_loadu_si512(segment + j), fixed));
      }
      if (tail) {
        const __m512i fixed =
            _mm512_cvttps_epi64(_mm256_mul_ps(_mm256_maskz_loadu_ps(tail, x + full),
                                              _mm256_maskz_loadu_ps(tail, float_scales + full)));
        const __m512i total =
            _mm512_add_epi64(_mm512_maskz_loadu_epi64(tail, segment + full), fixed);
        _mm512_mask_storeu_epi64(segment + full, tail, total);
      }
      ++counts[labels[i]];
    }
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const float* x = rows + i * d;
    std::int64_t* segment = sums + static_cast<std::size_t>(labels[i]) * d;
    for (int j = 0; j < d; j += 8) {
      const __mmask8 mask = static_cast<__mmask8>(d - j >= 8 ? 0xFF : (1u << (d - j)) - 1);
      const __m512d value = _mm512_maskz_cvtps_pd(mask, _mm256_maskz_loadu_ps(mask, x + j));
      const __m512i fixed =
          _mm512_cvttpd_epi64(_mm512_mul_pd(value, _mm512_maskz_loadu_pd(mask, scales + j)));
      const __m512i total = _mm512_add_epi64(_mm512_maskz_loadu_epi64(mask, segment + j), fixed);
      _mm512_mask_storeu_epi64(segment + j, mask, total);
    }
    ++counts[labels[i]];
  }
}

}  // namespace microseg::kernels
