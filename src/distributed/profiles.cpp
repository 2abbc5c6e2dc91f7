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
  const std::size_t per_list = 2 * count;  // the lower and upper order statistic per level
  const auto members = rows_by_segment(labels, k);
  std::vector<double> result(segments * d * count, std::nan(""));
  // Features go in blocks whose keys take at most about 32 MB per rank beside the rows: every
  // block costs 32 allreduces, and on a loaded machine their latency, not the counting, is the
  // cost (one feature at a time measured 6x slower at 2M x 24, docs/benchmarks.md).
  const double most_rows = std::max(1.0, comm.max(static_cast<double>(values.rows())));
  const std::size_t block = std::clamp<std::size_t>(static_cast<std::size_t>(8e6 / most_rows), 1,
                                                    std::max<std::size_t>(d, 1));
  for (std::size_t first = 0; first < d; first += block) {
    const std::size_t width = std::min(block, d - first), lists = segments * width;
    std::vector<std::vector<std::uint32_t>> keys(lists);
    std::vector<std::int64_t> sizes(lists);
    // Lists (segment, feature) sort independently; dynamic scheduling evens out their sizes.
#pragma omp parallel for schedule(dynamic)
    for (std::int64_t list = 0; list < static_cast<std::int64_t>(lists); ++list) {
      const auto j = static_cast<Eigen::Index>(first + static_cast<std::size_t>(list) % width);
      std::vector<std::uint32_t>& sorted = keys[static_cast<std::size_t>(list)];
      for (Eigen::Index i : members[static_cast<std::size_t>(list) / width]) {
        const float x = values(i, j);
        if (!std::isnan(x)) sorted.push_back(ordered_key32(x));
      }
      sort_keys(sorted);
      sizes[static_cast<std::size_t>(list)] = static_cast<std::int64_t>(sorted.size());
    }
    comm.sum_in_place(sizes);
    std::vector<std::uint32_t> low(lists * per_list, 0), high(lists * per_list, ~std::uint32_t{0});
    std::vector<std::int64_t> target(lists * per_list, 0);
    std::vector<QuantilePosition> positions(lists * count);
    for (std::size_t list = 0; list < lists; ++list) {
      for (std::size_t l = 0; l < count; ++l) {
        const QuantilePosition at = quantile_position(sizes[list], levels[l]);
        positions[list * count + l] = at;
        const std::size_t i = list * per_list + 2 * l;
        target[i] = at.lower + 1;
        target[i + 1] = at.upper + 1;
        if (sizes[list] == 0) low[i] = high[i], low[i + 1] = high[i + 1];
      }
    }
    low = smallest_keys_reaching(comm, keys, per_list, std::move(low), std::move(high), target);
    for (std::size_t list = 0; list < lists; ++list) {
      if (sizes[list] == 0) continue;
      const std::size_t s = list / width, j = first + list % width;
      for (std::size_t l = 0; l < count; ++l) {
        const std::size_t i = list * per_list + 2 * l;
        result[(s * d + j) * count + l] =
            interpolate_quantile(from_ordered_key32(low[i]), from_ordered_key32(low[i + 1]),
                                 positions[list * count + l].fraction);
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
