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

void FloatExactSum::add(const float* terms, std::size_t count) {
  // Four sets of bins, one per term in turn: runs of equal exponents (the usual case) would
  // otherwise wait on the previous addition to the same bin.
  constexpr int kSets = 4, kBins = 2 * kExponents;
  std::vector<std::int64_t> sets(static_cast<std::size_t>(kSets) * kBins, 0);
  std::size_t i = 0;
  for (; i + kSets <= count; i += kSets) {
    for (int s = 0; s < kSets; ++s) {
      std::uint32_t bits;
      std::memcpy(&bits, terms + i + s, sizeof bits);
      sets[static_cast<std::size_t>(s) * kBins + bin_of(bits)] += significand_of(bits);
    }
  }
  for (; i < count; ++i) add(terms[i]);
  for (int s = 0; s < kSets; ++s) {
    for (int b = 0; b < kBins; ++b) bins[b] += sets[static_cast<std::size_t>(s) * kBins + b];
  }
}

double FloatExactSum::total() const {
  double total = 0;
  for (int sign = 0; sign < 2; ++sign) {
    if (bins[sign * kExponents + 255] != 0) return std::numeric_limits<double>::quiet_NaN();
  }
  // Smallest exponents first, each exponent's two signs netted as integers first (exact, so
  // equal and opposite terms cancel before any rounding); a term with biased exponent E >= 1 is
  // significand · 2^(E-150), a subnormal one significand · 2^-149.
  for (int exponent = 0; exponent < 255; ++exponent) {
    const std::int64_t net = bins[exponent] - bins[kExponents + exponent];
    if (net != 0) total += std::ldexp(static_cast<double>(net), std::max(exponent, 1) - 150);
  }
  return total;
}

std::vector<FixedPointFormat> formats_for_bounds(const std::vector<double>& bounds,
                                                 std::int64_t max_terms) {
  std::vector<FixedPointFormat> formats;
  formats.reserve(bounds.size());
  for (double bound : bounds) formats.push_back(FixedPointFormat::for_bound(bound, max_terms));
  return formats;
}

}  // namespace microseg
