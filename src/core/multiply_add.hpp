#pragma once
// a·b + c with one rounding when the hardware has FMA, otherwise two — but the same choice for
// every caller, lane and row, so the scalar and vector code of a kernel, and the kernels that
// must agree step for step (assignment, seeding, quality), cannot disagree.
#include <cmath>

namespace microseg::detail {

inline float multiply_add(float a, float b, float c) {
#if defined(FP_FAST_FMAF) || defined(__FP_FAST_FMAF)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

inline double multiply_add(double a, double b, double c) {
#if defined(FP_FAST_FMA) || defined(__FP_FAST_FMA)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

}  // namespace microseg::detail
