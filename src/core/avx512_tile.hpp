#pragma once
// The AVX-512 tile every distance kernel runs on, shared by the plain kernels
// (nearest_centroid_kernels.cpp) and the pruned step's group evaluation (pruned_assignment.cpp):
// 32 rows in lanes (an in-register 16 × 16 transpose puts one row per lane) against blocks of
// packed centroids. Only for functions compiled with target("avx512f").
#include <immintrin.h>

#include <algorithm>

namespace microseg::detail {

// Full-mask forms of the shuffles: the unmasked intrinsics pass _mm512_undefined_ps() through,
// which GCC 12 reports as -Wmaybe-uninitialized.
constexpr __mmask16 kAllLanes16 = 0xFFFF;
__attribute__((target("avx512f"))) inline __m512 unpack_low(__m512 a, __m512 b) {
  return _mm512_mask_unpacklo_ps(a, kAllLanes16, a, b);
}
__attribute__((target("avx512f"))) inline __m512 unpack_high(__m512 a, __m512 b) {
  return _mm512_mask_unpackhi_ps(a, kAllLanes16, a, b);
}
template <int Imm>
__attribute__((target("avx512f"))) inline __m512 shuffle_quarters(__m512 a, __m512 b) {
  return _mm512_mask_shuffle_f32x4(a, kAllLanes16, a, b, Imm);
}

/// On entry a[i] holds row i (16 floats); on return a[j] holds column j of the 16 rows.
__attribute__((target("avx512f"))) inline void transpose_16x16(__m512 a[16]) {
  __m512 b[16];
  for (int i = 0; i < 8; ++i) {
    b[2 * i] = unpack_low(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = unpack_high(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    a[4 * i] = _mm512_shuffle_ps(b[4 * i], b[4 * i + 2], 0x44);
    a[4 * i + 1] = _mm512_shuffle_ps(b[4 * i], b[4 * i + 2], 0xEE);
    a[4 * i + 2] = _mm512_shuffle_ps(b[4 * i + 1], b[4 * i + 3], 0x44);
    a[4 * i + 3] = _mm512_shuffle_ps(b[4 * i + 1], b[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 2; ++i) {
    for (int q = 0; q < 4; ++q) {
      b[8 * i + q] = shuffle_quarters<0x88>(a[8 * i + q], a[8 * i + 4 + q]);
      b[8 * i + 4 + q] = shuffle_quarters<0xDD>(a[8 * i + q], a[8 * i + 4 + q]);
    }
  }
  for (int q = 0; q < 8; ++q) {
    a[q] = shuffle_quarters<0x88>(b[q], b[8 + q]);
    a[8 + q] = shuffle_quarters<0xDD>(b[q], b[8 + q]);
  }
}

/// Rows per tile: two registers of 16 lanes per feature.
constexpr int kTileRows = 32;

/// Columns [jb, jb + 16) ∩ [0, d) of the 16 rows row[half · 16 ..], transposed into
/// x_by_column[j · kTileRows + half · 16 + r].
__attribute__((target("avx512f"))) inline void transpose_into_tile(const float* const* row, int d,
                                                                   int half, int jb,
                                                                   float* x_by_column) {
  const int columns = std::min(16, d - jb);
  const __mmask16 mask = static_cast<__mmask16>((1u << columns) - 1);
  __m512 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_maskz_loadu_ps(mask, row[half * 16 + i] + jb);
  transpose_16x16(a);
  for (int j = 0; j < columns; ++j) {
    _mm512_store_ps(x_by_column + (jb + j) * kTileRows + half * 16, a[j]);
  }
}

/// The kernel values of the tile's 32 rows against B packed centroids (coefficients[j · B + c]
/// is −2 c_j of the block's centroid c): acc[h][c] = start[c] + Σ_j x_j · coefficients[j · B + c]
/// for the rows in lanes of half h, one FMA per feature in feature order, so every kernel that
/// uses it computes the same float values bit for bit.
template <int B>
__attribute__((target("avx512f"), always_inline)) inline void tile_kernel_values(
    const float* x_by_column, int d, const float* coefficients, const float* start,
    __m512 (&acc)[2][B]) {
  for (int c = 0; c < B; ++c) acc[0][c] = acc[1][c] = _mm512_set1_ps(start[c]);
  for (int j = 0; j < d; ++j, coefficients += B) {
    const __m512 x0 = _mm512_load_ps(x_by_column + j * kTileRows);
    const __m512 x1 = _mm512_load_ps(x_by_column + j * kTileRows + 16);
    for (int c = 0; c < B; ++c) {
      const __m512 cj = _mm512_set1_ps(coefficients[c]);
      acc[0][c] = _mm512_fmadd_ps(x0, cj, acc[0][c]);
      acc[1][c] = _mm512_fmadd_ps(x1, cj, acc[1][c]);
    }
  }
}

}  // namespace microseg::detail
