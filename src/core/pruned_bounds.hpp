#pragma once
// The rounding-safe bound arithmetic of the pruned Lloyd step (docs/architecture.md, "Why the
// bounds are safe against rounding"): the kernel's rounding margin, a row's lower bound on the
// exact distance from a kernel value, and the largest float not above a double. Inline: these
// run once per row and group in the step's hot loops.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace microseg::pruned {

constexpr double kFloatUnitRoundoff = 0x1p-24;
// Relative slack on every bound computed in double: covers the few double roundings between a
// kernel value and the bound (each ≤ 2^-53 relative), with a wide margin.
constexpr double kDoubleSlack = 1e-12;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The largest float not above v (v ≥ 0 here; negative lower bounds become 0). For f > 0 the
// next float towards 0 is the bit pattern minus one (std::nextafter, without the library call).
inline float float_at_most(double v) {
  if (!(v > 0)) return 0.0f;
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    --bits;
    std::memcpy(&f, &bits, sizeof f);
  }
  return f;
}

// What every row's margins share in one step: the factors of the kernel's rounding bound that
// do not depend on the row (hoisted out of the row loop).
struct StepMargins {
  double gamma, centroid_norm, centroid_norm_squared;
};

inline double rounding_gamma(int d) {
  const double steps = d + 3.0;  // d FMA roundings, ‖c‖² in double then float, and slack
  return steps * kFloatUnitRoundoff / (1.0 - steps * kFloatUnitRoundoff);
}

inline StepMargins step_margins(int d, double max_centroid_norm) {
  return {rounding_gamma(d), max_centroid_norm, max_centroid_norm * max_centroid_norm};
}

// E = γ_{d+3}·(C² + 2XC), with the relative slack.
inline double rounding_bound(const StepMargins& step, double row_norm) {
  return step.gamma * (step.centroid_norm_squared + 2.0 * row_norm * step.centroid_norm) *
         (1.0 + kDoubleSlack);
}

// What a row's bounds need: ‖x‖² from above and below (its float is within 2u of the exact
// value of a double sum; 3u with slack), the kernel's rounding margin, and an absolute slack for
// the double arithmetic of the bounds.
struct RowMargins {
  double norm_high, norm_low, margin, slack;
  // A lower bound on the exact distance to a centroid whose kernel value is `value` (+inf stays
  // +inf: a group with no other centroid bounds nothing).
  float distance_at_least(float value) const {
    if (value == kInfinity) return kInfinity;
    const double squared = static_cast<double>(value) + norm_low - margin;
    return float_at_most(squared > 0 ? std::sqrt(squared) * (1 - kDoubleSlack) - slack : 0);
  }
};

inline RowMargins row_margins(float squared_norm, const StepMargins& step) {
  const double max_centroid_norm = step.centroid_norm;
  RowMargins m;
  m.norm_high = squared_norm * (1 + 3 * kFloatUnitRoundoff);
  m.norm_low = squared_norm * (1 - 3 * kFloatUnitRoundoff);
  const double norm = std::sqrt(m.norm_high);
  m.margin = rounding_bound(step, norm);
  m.slack = kDoubleSlack * (norm + max_centroid_norm);
  return m;
}

}  // namespace microseg::pruned
