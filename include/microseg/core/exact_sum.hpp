#pragma once
/// \file Exact, order-independent sums.
///
/// Every sum that crosses rows (and so ranks and threads) is accumulated in fixed point: each
/// term is rounded once to the grid 2^-exponent, then added as an integer. Integer addition is
/// associative, so the total is the same bit for bit whatever the order, the rank count or the
/// thread count. The grid is chosen from a bound on |term| and on the number of terms, so the
/// total cannot overflow and the rounding error is below bound · terms · 2^-100 for ExactSum.
#include <cmath>
#include <cstdint>
#include <vector>

namespace microseg {

__extension__ typedef __int128 ExactSum;

/// A fixed-point grid for ExactSum (128-bit) accumulation.
class FixedPointFormat {
 public:
  FixedPointFormat() = default;
  /// A grid on which `max_terms` terms of magnitude at most `max_abs_term` sum without overflow.
  static FixedPointFormat for_bound(double max_abs_term, std::int64_t max_terms);

  ExactSum to_fixed(double term) const {
    return static_cast<ExactSum>(std::ldexp(term, exponent_));
  }
  double to_double(ExactSum total) const {
    return std::ldexp(static_cast<double>(total), -exponent_);
  }
  int exponent() const { return exponent_; }

 private:
  explicit FixedPointFormat(int exponent) : exponent_(exponent) {}
  int exponent_ = 0;
};

/// A fixed-point grid for the 64-bit sums of the Lloyd kernel: cheap enough for the hot loop,
/// with 2^-62 · max_terms resolution relative to the bound.
class FixedPointFormat64 {
 public:
  FixedPointFormat64() = default;
  static FixedPointFormat64 for_bound(double max_abs_term, std::int64_t max_terms);

  std::int64_t to_fixed(double term) const { return static_cast<std::int64_t>(term * scale_); }
  double to_double(std::int64_t total) const { return static_cast<double>(total) / scale_; }
  double scale() const { return scale_; }

 private:
  explicit FixedPointFormat64(double scale) : scale_(scale) {}
  double scale_ = 1.0;  // a power of two, so term * scale_ is exact
};

}  // namespace microseg
