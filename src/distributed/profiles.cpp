#include "microseg/distributed/profiles.hpp"

#include <algorithm>
#include <cmath>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/distributed/order_statistics.hpp"

namespace microseg::distributed {
namespace {

// This rank's rows of each segment, in row order (a counting sort of the labels).
std::vector<std::vector<Eigen::Index>> rows_by_segment(const std::vector<std::int32_t>& labels,
                                                       int k) {
  std::vector<std::vector<Eigen::Index>> rows(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= 0 && labels[i] < k) rows[labels[i]].push_back(static_cast<Eigen::Index>(i));
  }
  return rows;
}

}  // namespace

std::vector<double> segment_quantiles(const Communicator& comm, const FeatureMatrix& values,
                                      const std::vector<std::int32_t>& labels, int k,
                                      const std::vector<double>& levels) {
  const auto d = static_cast<std::size_t>(values.cols());
  const std::size_t segments = static_cast<std::size_t>(k), count = levels.size();
  const std::size_t per_segment = 2 * count;  // the lower and upper order statistic per level
  const auto members = rows_by_segment(labels, k);
  std::vector<double> result(segments * d * count, std::nan(""));
  std::vector<std::vector<std::uint32_t>> keys(segments);
  for (std::size_t j = 0; j < d; ++j) {
    std::vector<std::int64_t> sizes(segments);
    // Segments sort independently; dynamic scheduling evens out their sizes.
#pragma omp parallel for schedule(dynamic)
    for (int s = 0; s < k; ++s) {
      std::vector<std::uint32_t>& list = keys[s];
      list.clear();
      for (Eigen::Index i : members[s]) {
        const float x = values(i, static_cast<Eigen::Index>(j));
        if (!std::isnan(x)) list.push_back(ordered_key32(x));
      }
      std::sort(list.begin(), list.end());
      sizes[s] = static_cast<std::int64_t>(list.size());
    }
    comm.sum_in_place(sizes);
    std::vector<std::uint32_t> low(segments * per_segment, 0),
        high(segments * per_segment, ~std::uint32_t{0});
    std::vector<std::int64_t> target(segments * per_segment, 0);
    std::vector<QuantilePosition> positions(segments * count);
    for (std::size_t s = 0; s < segments; ++s) {
      for (std::size_t l = 0; l < count; ++l) {
        const QuantilePosition at = quantile_position(sizes[s], levels[l]);
        positions[s * count + l] = at;
        const std::size_t i = s * per_segment + 2 * l;
        target[i] = at.lower + 1;
        target[i + 1] = at.upper + 1;
        if (sizes[s] == 0) low[i] = high[i], low[i + 1] = high[i + 1];
      }
    }
    low = smallest_keys_reaching(comm, keys, per_segment, std::move(low), std::move(high), target);
    for (std::size_t s = 0; s < segments; ++s) {
      if (sizes[s] == 0) continue;
      for (std::size_t l = 0; l < count; ++l) {
        const std::size_t i = s * per_segment + 2 * l;
        result[(s * d + j) * count + l] =
            interpolate_quantile(from_ordered_key32(low[i]), from_ordered_key32(low[i + 1]),
                                 positions[s * count + l].fraction);
      }
    }
  }
  return result;
}

SegmentProfiles profile_segments(const Communicator& comm, const FeatureMatrix& original,
                                 const std::vector<std::int32_t>& labels, int k,
                                 const std::vector<float>* weights) {
  const int d = static_cast<int>(original.cols());
  const std::int64_t n = comm.sum(static_cast<std::int64_t>(original.rows()));
  std::vector<double> lo, hi;
  local_min_max(original, lo, hi);
  comm.min_in_place(lo);
  comm.max_in_place(hi);
  // Weighted terms are at most the largest weight times the unweighted bound.
  double weight_bound = 1;
  if (weights) {
    weight_bound = 0;
    for (float w : *weights) weight_bound = std::max(weight_bound, static_cast<double>(w));
    weight_bound = comm.max(weight_bound);
  }
  // A mean, rounded once, can lie a hair outside [lo, hi]: small margins keep every term on its
  // grid.
  std::vector<double> bounds(d), deviation_bounds(d);
  for (int j = 0; j < d; ++j) {
    bounds[j] = std::max(std::abs(lo[j]), std::abs(hi[j])) * (1 + 1e-5) * weight_bound + 1e-30;
    deviation_bounds[j] = (hi[j] - lo[j]) * (hi[j] - lo[j]) * (1 + 1e-4) * weight_bound + 1e-30;
  }
  const auto sum_formats = formats_for_bounds(bounds, n);
  const auto deviation_formats = formats_for_bounds(deviation_bounds, n);
  ProfileSums sums =
      weights ? ProfileSums(k, d, FixedPointFormat::for_bound(weight_bound, n)) : ProfileSums(k, d);
  accumulate_profile_sums(original, labels, sum_formats, sums, weights);
  comm.sum_in_place(sums.counts);
  comm.sum_in_place(sums.sums);
  comm.min_in_place(sums.min);
  comm.max_in_place(sums.max);
  if (weights) comm.sum_in_place(sums.weights);
  std::vector<double> group_means(static_cast<std::size_t>(k + 1) * d, 0.0);
  for (int g = 0; g <= k; ++g) {
    const double size = weights ? sums.weight_format.to_double(sums.weights[g])
                                : static_cast<double>(sums.counts[g]);
    if (size == 0) continue;
    for (int j = 0; j < d; ++j) {
      const std::size_t at = static_cast<std::size_t>(g) * d + j;
      group_means[at] = sum_formats[j].to_double(sums.sums[at]) / size;
    }
  }
  accumulate_profile_deviations(original, labels, group_means, deviation_formats, sums, weights);
  comm.sum_in_place(sums.deviations);
  SegmentProfiles profiles = profiles_from_sums(sums, sum_formats, deviation_formats);
  const std::vector<double> percentiles =
      segment_quantiles(comm, original, labels, k, {0.05, 0.95});
  profiles.p05.resize(percentiles.size() / 2);
  profiles.p95.resize(percentiles.size() / 2);
  for (std::size_t at = 0; at < profiles.p05.size(); ++at) {
    profiles.p05[at] = percentiles[2 * at];
    profiles.p95[at] = percentiles[2 * at + 1];
  }
  return profiles;
}

}  // namespace microseg::distributed
