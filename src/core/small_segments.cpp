#include "microseg/core/small_segments.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace microseg {
namespace {

// Plain loops rather than Eigen expressions on row blocks: the same arithmetic on every
// machine, and no AVX-512 reduction code for GCC 12 to warn about.
double squared_distance_between(const CentroidMatrix& centroids, int a, int b) {
  double sum = 0;
  for (Eigen::Index j = 0; j < centroids.cols(); ++j) {
    const double difference = centroids(a, j) - centroids(b, j);
    sum += difference * difference;
  }
  return sum;
}

}  // namespace

std::int64_t MinimumSegmentSize::customers_for(std::int64_t customers) const {
  switch (kind) {
    case Kind::none:
      return 0;
    case Kind::count:
      return static_cast<std::int64_t>(value);
    case Kind::share:
      // A share of the base, rounded up: "at least 2%" must not admit 1.99%.
      return static_cast<std::int64_t>(std::ceil(value * static_cast<double>(customers) - 1e-9));
  }
  return 0;
}

std::string MinimumSegmentSize::text() const {
  if (kind == Kind::none) return "";
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

MinimumSegmentSize parse_minimum_segment_size(const std::string& text) {
  const auto invalid = [&] {
    return InputError("option --min-segment-size: invalid value '" + text +
                      "' (expected a count of customers such as 500, or a share such as 0.02 or "
                      "2%)");
  };
  MinimumSegmentSize minimum;
  if (text.empty()) return minimum;
  const bool percent = text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  double parsed = 0;
  std::size_t used = 0;
  try {
    parsed = std::stod(number, &used);
  } catch (const std::logic_error&) {
    throw invalid();
  }
  if (used != number.size() || !std::isfinite(parsed) || parsed < 0) throw invalid();
  if (percent) {
    if (parsed >= 100) throw invalid();
    minimum.kind = MinimumSegmentSize::Kind::share;
    minimum.value = parsed / 100;
  } else if (parsed < 1 && number.find_first_of(".eE") != std::string::npos) {
    minimum.kind = MinimumSegmentSize::Kind::share;
    minimum.value = parsed;
  } else {
    if (parsed != std::floor(parsed) || parsed > 9e15) throw invalid();
    minimum.kind = MinimumSegmentSize::Kind::count;
    minimum.value = parsed;
  }
  return minimum;
}

std::optional<SegmentMerge> next_small_segment_merge(const std::vector<std::int64_t>& sizes,
                                                     const CentroidMatrix& centroids,
                                                     std::int64_t minimum) {
  const auto k = static_cast<int>(sizes.size());
  if (centroids.rows() != k) {
    throw std::invalid_argument("next_small_segment_merge: one size per centroid expected");
  }
  if (k < 2) return std::nullopt;
  int smallest = -1;
  for (int s = 0; s < k; ++s) {
    if (sizes[s] < minimum && (smallest < 0 || sizes[s] < sizes[smallest])) smallest = s;
  }
  if (smallest < 0) return std::nullopt;
  int nearest = -1;
  double nearest_distance = std::numeric_limits<double>::infinity();
  for (int s = 0; s < k; ++s) {
    if (s == smallest) continue;
    const double distance = squared_distance_between(centroids, s, smallest);
    if (nearest < 0 || distance < nearest_distance) {
      nearest = s;
      nearest_distance = distance;
    }
  }
  return SegmentMerge{smallest, nearest};
}

CentroidMatrix merge_centroids(const CentroidMatrix& centroids,
                               const std::vector<std::int64_t>& sizes, SegmentMerge merge) {
  const auto k = static_cast<int>(centroids.rows());
  if (static_cast<int>(sizes.size()) != k || merge.absorbed < 0 || merge.absorbed >= k ||
      merge.into < 0 || merge.into >= k || merge.absorbed == merge.into) {
    throw std::invalid_argument("merge_centroids: invalid merge of segment " +
                                std::to_string(merge.absorbed) + " into " +
                                std::to_string(merge.into) + " of " + std::to_string(k));
  }
  const double a = static_cast<double>(sizes[merge.absorbed]);
  const double b = static_cast<double>(sizes[merge.into]);
  CentroidMatrix merged(k - 1, centroids.cols());
  for (int s = 0, row = 0; s < k; ++s) {
    if (s == merge.absorbed) continue;
    if (s == merge.into && a + b > 0) {
      merged.row(row) =
          (a * centroids.row(merge.absorbed) + b * centroids.row(merge.into)) / (a + b);
    } else {
      merged.row(row) = centroids.row(s);
    }
    ++row;
  }
  return merged;
}

}  // namespace microseg
