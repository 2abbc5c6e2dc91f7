#pragma once
// The in-register 16 × 16 float transpose that turns 16 rows of a tile into 16 columns (one row
// per lane), shared by the plain kernel (nearest_centroid_kernels.cpp) and the pruned step
// (pruned_assignment.cpp). Only for functions compiled with target("avx512f").
#include <immintrin.h>

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

}  // namespace microseg::detail
