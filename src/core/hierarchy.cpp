#include "microseg/core/hierarchy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "microseg/core/types.hpp"

namespace microseg {

MicroBudgetRule parse_micro_budget_rule(const std::string& text) {
  if (text == "proportional") return MicroBudgetRule::proportional;
  if (text == "inertia") return MicroBudgetRule::inertia;
  if (text == "sweep") return MicroBudgetRule::sweep;
  throw InputError("unknown micro-k rule '" + text + "' (expected proportional, inertia or sweep)");
}

std::string to_string(MicroBudgetRule rule) {
  switch (rule) {
    case MicroBudgetRule::proportional:
      return "proportional";
    case MicroBudgetRule::inertia:
      return "inertia";
    case MicroBudgetRule::sweep:
      return "sweep";
  }
  return "inertia";
}

std::vector<int> share_out(const std::vector<double>& weights,
                           const std::vector<std::int64_t>& caps, int total) {
  const std::size_t parts = weights.size();
  if (caps.size() != parts || parts == 0 || static_cast<std::int64_t>(parts) > total ||
      std::any_of(caps.begin(), caps.end(), [](std::int64_t c) { return c < 1; }) ||
      std::accumulate(caps.begin(), caps.end(), std::int64_t{0}) < total ||
      std::any_of(weights.begin(), weights.end(), [](double w) { return !(w >= 0); })) {
    throw std::invalid_argument("share_out: needs parts <= total <= the sum of caps >= 1 each");
  }
  double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> target(parts);
  for (std::size_t m = 0; m < parts; ++m) {
    target[m] = sum > 0 ? total * weights[m] / sum : static_cast<double>(total) / parts;
  }
  std::vector<int> share(parts);
  for (std::size_t m = 0; m < parts; ++m) {
    share[m] = static_cast<int>(
        std::clamp<double>(std::floor(target[m]), 1.0, static_cast<double>(caps[m])));
  }
  // Hand out (or take back) one at a time: to the part furthest below its target that has room,
  // or from the part furthest above it that keeps at least 1; ties to the lower part.
  for (int left = total - std::accumulate(share.begin(), share.end(), 0); left != 0;) {
    std::size_t chosen = parts;
    for (std::size_t m = 0; m < parts; ++m) {
      const bool room = left > 0 ? share[m] < caps[m] : share[m] > 1;
      if (!room) continue;
      const double gap = left > 0 ? target[m] - share[m] : share[m] - target[m];
      if (chosen == parts ||
          gap > (left > 0 ? target[chosen] - share[chosen] : share[chosen] - target[chosen])) {
        chosen = m;
      }
    }
    share[chosen] += left > 0 ? 1 : -1;
    left += left > 0 ? -1 : 1;
  }
  return share;
}

int SegmentHierarchy::macro_of(int micro) const {
  return static_cast<int>(std::upper_bound(first.begin(), first.end(), micro) - first.begin()) - 1;
}

std::vector<int> SegmentHierarchy::macro_of_each() const {
  std::vector<int> macro(static_cast<std::size_t>(micro_k()));
  for (int m = 0; m < macro_k(); ++m) {
    std::fill(macro.begin() + first[m], macro.begin() + first[m + 1], m);
  }
  return macro;
}

SegmentHierarchy SegmentHierarchy::from_counts(const std::vector<int>& micro_k) {
  SegmentHierarchy hierarchy;
  hierarchy.first.assign(1, 0);
  for (int count : micro_k) hierarchy.first.push_back(hierarchy.first.back() + count);
  return hierarchy;
}

}  // namespace microseg
