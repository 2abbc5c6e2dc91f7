#include "microseg/distributed/profiles.hpp"

#include <algorithm>
#include <cmath>

#include "microseg/core/scaling.hpp"

namespace microseg::distributed {

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
  return profiles_from_sums(sums, sum_formats, deviation_formats);
}

}  // namespace microseg::distributed
