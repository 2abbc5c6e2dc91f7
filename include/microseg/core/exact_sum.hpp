#pragma once
/// \file Exact, order-independent sums.
///
/// Every sum that crosses rows (and so ranks and threads) is accumulated in fixed point: each
/// term is rounded once to the grid 2^-exponent, then added as an integer. Integer addition is
/// associative, so the total is the same bit for bit whatever the order, the rank count or the
/// thread count. The grid is chosen from a bound on |term| and on the number of terms, so the
/// total cannot overflow and the rounding error is below bound · terms · 2^-100 for ExactSum.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace microseg {

__extension__ typedef __int128 ExactSum;

/// A fixed-point grid for ExactSum (128-bit) accumulation.
class FixedPointFormat {
 public:
  FixedPointFormat() = default;
  /// A grid on which `max_terms` terms of magnitude at most `max_abs_term` sum without overflow.
  static FixedPointFormat for_bound(double max_abs_term, std::int64_t max_terms);

  /// The term times 2^exponent, truncated towards zero: static_cast<ExactSum>(ldexp(term,
  /// exponent)), computed from the bits of the double because the library conversion to a
  /// 128-bit integer is a slow call and this runs once per value in every pass.
  ExactSum to_fixed(double term) const {
    std::uint64_t bits;
    std::memcpy(&bits, &term, sizeof bits);
    const int biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
    if (biased_exponent == 0) return 0;  // zero or subnormal: below the grid for any exponent
    const std::uint64_t mantissa =
        (bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1} << 52);
    const int shift = biased_exponent - 1075 + exponent_;  // term = mantissa · 2^(biased − 1075)
    ExactSum magnitude = 0;
    if (shift >= 0) {
      magnitude = static_cast<ExactSum>(mantissa) << shift;  // shift < 73 for in-bound terms
    } else if (shift > -64) {
      magnitude = static_cast<ExactSum>(mantissa >> -shift);
    }
    return (bits >> 63) ? -magnitude : magnitude;
  }
  double to_double(ExactSum total) const {
    return std::ldexp(static_cast<double>(total), -exponent_);
  }
  int exponent() const { return exponent_; }

 private:
  explicit FixedPointFormat(int exponent) : exponent_(exponent) {}
  int exponent_ = 0;
};

/// One grid per bound, each for `max_terms` terms (a grid per column of a sum over rows).
std::vector<FixedPointFormat> formats_for_bounds(const std::vector<double>& bounds,
                                                 std::int64_t max_terms);

/// A fixed-point grid for the 64-bit sums of the Lloyd kernel: cheap enough for the hot loop,
/// with 2^-62 · max_terms resolution relative to the bound.
class FixedPointFormat64 {
 public:
  FixedPointFormat64() = default;
  static FixedPointFormat64 for_bound(double max_abs_term, std::int64_t max_terms);

  std::int64_t to_fixed(double term) const { return static_cast<std::int64_t>(term * scale_); }
  /// to_fixed(x · w) for float x and w: their product is exact in double (two 24-bit
  /// significands), so a weighted term is rounded once, on the grid, wherever it is computed.
  std::int64_t to_fixed_product(float x, float w) const {
    return to_fixed(static_cast<double>(x) * static_cast<double>(w));
  }
  double to_double(std::int64_t total) const { return static_cast<double>(total) / scale_; }
  double scale() const { return scale_; }

 private:
  explicit FixedPointFormat64(double scale) : scale_(scale) {}
  double scale_ = 1.0;  // a power of two, so term * scale_ is exact
};

/// The exact sum of float terms without a grid or a bound: one integer sum of the 24-bit
/// significands per binary exponent and sign. Adding a term is a few integer operations, bins
/// from different ranks or threads add exactly (sum the `bins` vectors element-wise), and
/// total() is a fixed function of the bins, so equal bins give the same double everywhere.
/// Exact for fewer than 2^39 terms; a NaN or infinite term makes the total NaN.
class FloatExactSum {
 public:
  static constexpr int kExponents = 256;
  /// bins[sign · 256 + biased exponent] = Σ significands of the terms with that sign and exponent
  std::vector<std::int64_t> bins = std::vector<std::int64_t>(2 * kExponents, 0);

  void add(float term) {
    std::uint32_t bits;
    std::memcpy(&bits, &term, sizeof bits);
    bins[bin_of(bits)] += significand_of(bits);
  }
  /// The same as add() for each term, faster for many.
  void add(const float* terms, std::size_t count);
  double total() const;

  static int bin_of(std::uint32_t bits) { return static_cast<int>(bits >> 23); }
  static std::int64_t significand_of(std::uint32_t bits) {
    const std::uint32_t fraction = bits & 0x7fffffu;
    return ((bits >> 23) & 0xffu) != 0 ? (fraction | 0x800000u) : fraction;  // subnormal: no 1
  }
};

}  // namespace microseg
