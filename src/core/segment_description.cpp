#include "microseg/core/segment_description.hpp"

#include "microseg/core/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace microseg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One decimal with a typographic minus ("−1.3"), as marketers read it in reports.
std::string signed_one_decimal(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", std::abs(x));
  const bool negative = x < 0 && std::string(buffer) != "0.0";
  return std::string(negative ? "\u2212" : "+") + buffer;
}

std::optional<std::string> first_present(const std::vector<std::string>& names,
                                         std::initializer_list<const char*> candidates) {
  for (const char* candidate : candidates) {
    if (std::find(names.begin(), names.end(), candidate) != names.end()) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::string describe_segment(const double* lift, const std::vector<std::string>& feature_names) {
  std::vector<int> order(feature_names.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal |lift| keeps feature order, so the text is the same on every run.
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return std::abs(lift[a]) > std::abs(lift[b]); });
  std::string text;
  int named = 0;
  for (int j : order) {
    if (named == description_max_features || !(std::abs(lift[j]) >= description_min_abs_lift)) {
      break;
    }
    text += (named ? ", " : "") + feature_names[j] + " " + signed_one_decimal(lift[j]) + "\u03c3";
    ++named;
  }
  return named ? text : "close to the population average";
}

std::vector<std::string> describe_segments(const SegmentProfiles& profiles,
                                           const std::vector<std::string>& feature_names) {
  if (feature_names.size() != static_cast<std::size_t>(profiles.d) ||
      profiles.lift.size() != static_cast<std::size_t>(profiles.k) * profiles.d) {
    throw std::invalid_argument("describe_segments: lift does not match the feature names");
  }
  std::vector<std::string> descriptions;
  for (int s = 0; s < profiles.k; ++s) {
    descriptions.push_back(describe_segment(
        profiles.lift.data() + static_cast<std::size_t>(s) * profiles.d, feature_names));
  }
  return descriptions;
}

std::optional<RfmColumns> find_rfm_columns(const std::vector<std::string>& names) {
  const auto recency = first_present(names, {"recency", "recency_days"});
  const auto frequency = first_present(names, {"frequency"});
  const auto monetary = first_present(names, {"monetary", "monetary_total"});
  if (!recency || !frequency || !monetary) return std::nullopt;
  return RfmColumns{*recency, *frequency, *monetary};
}

std::string rfm_summary_text(const RfmQuintileSummary& rfm, int s) {
  static const char* const letters[] = {"R", "F", "M"};
  std::string text;
  for (int c = 0; c < 3; ++c) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%s%.1f", letters[c],
                  rfm.score_mean.at(static_cast<std::size_t>(s) * 3 + c));
    text += (c ? " " : "") + std::string(buffer);
  }
  return text;
}

int dominant_rfm_segment(const RfmQuintileSummary& rfm, int s) {
  int best = 0;
  for (int code = 1; code < rfm_segment_count; ++code) {
    const auto at = static_cast<std::size_t>(s) * rfm_segment_count;
    if (rfm.segment_share.at(at + code) > rfm.segment_share.at(at + best)) best = code;
  }
  return best;
}

std::string rfm_dominant_text(const RfmQuintileSummary& rfm, int s) {
  const int code = dominant_rfm_segment(rfm, s);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, " (%.0f%%)",
                100 * rfm.segment_share.at(static_cast<std::size_t>(s) * rfm_segment_count + code));
  return "mostly " + rfm_segment_names()[code] + buffer;
}

SegmentHistory segment_history(const std::vector<int>& previous_row,
                               const std::vector<std::int64_t>& previous_sizes,
                               const std::vector<double>& previous_value_total) {
  SegmentHistory history;
  for (int p : previous_row) {
    const bool matched = p >= 0 && static_cast<std::size_t>(p) < previous_sizes.size();
    history.previous_size.push_back(matched ? static_cast<double>(previous_sizes[p]) : kNaN);
    history.previous_value_total.push_back(matched && static_cast<std::size_t>(p) <
                                                          previous_value_total.size()
                                               ? previous_value_total[p]
                                               : kNaN);
  }
  return history;
}

SegmentPriority prioritise_segments(const std::vector<std::int64_t>& ids,
                                    const std::vector<std::int64_t>& sizes,
                                    const SegmentValue* value, const SegmentHistory* history) {
  const std::size_t k = sizes.size();
  if (ids.size() != k || (value && (value->total.size() != k || value->share.size() != k)) ||
      (history &&
       (history->previous_size.size() != k || history->previous_value_total.size() != k))) {
    throw std::invalid_argument("prioritise_segments: one id, size, value and history per segment");
  }
  const double customers =
      static_cast<double>(std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}));
  bool value_shares = value != nullptr;
  for (std::size_t s = 0; value_shares && s < k; ++s) value_shares = std::isfinite(value->share[s]);

  SegmentPriority result;
  result.growth.assign(k, kNaN);
  result.value_growth.assign(k, kNaN);
  result.priority.resize(k);
  for (std::size_t s = 0; s < k; ++s) {
    if (history && history->previous_size[s] > 0) {
      result.growth[s] =
          (static_cast<double>(sizes[s]) - history->previous_size[s]) / history->previous_size[s];
    }
    if (history && value && history->previous_value_total[s] > 0) {
      result.value_growth[s] =
          (value->total[s] - history->previous_value_total[s]) / history->previous_value_total[s];
    }
    const double size_share = customers > 0 ? static_cast<double>(sizes[s]) / customers : 0;
    const double base =
        value_shares ? priority_value_weight * value->share[s] + priority_size_weight * size_share
                     : size_share;
    double growth = std::isfinite(result.value_growth[s]) ? result.value_growth[s]
                    : std::isfinite(result.growth[s])     ? result.growth[s]
                                                          : 0.0;
    growth = std::clamp(growth, -priority_growth_limit, priority_growth_limit);
    result.priority[s] = 100 * base * (1 + growth);
  }
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (result.priority[a] != result.priority[b]) return result.priority[a] > result.priority[b];
    return ids[a] < ids[b];
  });
  result.rank.resize(k);
  for (std::size_t r = 0; r < k; ++r) result.rank[order[r]] = static_cast<std::int32_t>(r + 1);
  return result;
}

}  // namespace microseg
