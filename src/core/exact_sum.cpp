#include "microseg/core/exact_sum.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace microseg {
namespace {

// The smallest e with n <= 2^e (n >= 1).
int ceil_log2(std::int64_t n) {
  int e = 0;
  while (e < 63 && (std::int64_t{1} << e) < n) ++e;
  return e;
}

// The exponent e with max_terms * max_abs_term * 2^e < 2^headroom_bits, or 0 when the bound says
// nothing (zero or NaN). frexp gives max_abs_term < 2^bound_exponent, so the strict inequality
// holds; truncation towards zero in to_fixed can only shrink a term.
int exponent_for_bound(double max_abs_term, std::int64_t max_terms, int headroom_bits) {
  double bound = std::fabs(max_abs_term);
  if (std::isnan(bound) || bound == 0.0) return 0;
  if (std::isinf(bound)) bound = std::numeric_limits<double>::max();
  int bound_exponent = 0;
  std::frexp(bound, &bound_exponent);
  return headroom_bits - bound_exponent - ceil_log2(std::max<std::int64_t>(max_terms, 1));
}

}  // namespace

FixedPointFormat FixedPointFormat::for_bound(double max_abs_term, std::int64_t max_terms) {
  // In-bound terms stay below 2^125 for any exponent; the clamp only keeps 2^exponent itself a
  // finite, non-zero double (it bites for bounds below 2^-898, costing resolution, not safety).
  return FixedPointFormat(
      std::clamp(exponent_for_bound(max_abs_term, max_terms, 125), -1074, 1023));
}

FixedPointFormat64 FixedPointFormat64::for_bound(double max_abs_term, std::int64_t max_terms) {
  // scale_ must be a normal double: 2^-1022 .. 2^1023.
  const int exponent = std::clamp(exponent_for_bound(max_abs_term, max_terms, 62), -1022, 1023);
  return FixedPointFormat64(std::ldexp(1.0, exponent));
}

}  // namespace microseg
