#include "microseg/core/profile.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace microseg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_inputs(const FeatureMatrix& values, const std::vector<std::int32_t>& labels,
                  const std::vector<FixedPointFormat>& formats, const ProfileSums& sums,
                  const char* caller) {
  const std::size_t d = static_cast<std::size_t>(values.cols());
  if (labels.size() != static_cast<std::size_t>(values.rows()) ||
      static_cast<std::size_t>(sums.d) != d || formats.size() != d) {
    throw std::invalid_argument(std::string(caller) +
                                ": labels, formats and sums do not match the rows");
  }
  for (std::int32_t label : labels) {
    if (label < 0 || label >= sums.k) {
      throw std::invalid_argument(std::string(caller) + ": label " + std::to_string(label) +
                                  " out of range for " + std::to_string(sums.k) + " segments");
    }
  }
}

void check_weights(const std::vector<std::int32_t>& labels, const ProfileSums& sums,
                   const std::vector<float>* weights, const char* caller) {
  if (weights ? (weights->size() != labels.size() || !sums.weighted()) : sums.weighted()) {
    throw std::invalid_argument(std::string(caller) +
                                ": weighted sums need one weight per row, and only they");
  }
}

}  // namespace

ProfileSums::ProfileSums(int k_, int d_, const FixedPointFormat& format) : ProfileSums(k_, d_) {
  weights.assign(static_cast<std::size_t>(k_) + 1, 0);
  weight_format = format;
}

ProfileSums::ProfileSums(int k_, int d_)
    : k(k_),
      d(d_),
      counts(static_cast<std::size_t>(k_) + 1, 0),
      sums((static_cast<std::size_t>(k_) + 1) * d_, 0),
      deviations((static_cast<std::size_t>(k_) + 1) * d_, 0),
      min((static_cast<std::size_t>(k_) + 1) * d_, std::numeric_limits<double>::infinity()),
      max((static_cast<std::size_t>(k_) + 1) * d_, -std::numeric_limits<double>::infinity()) {}

void accumulate_profile_sums(const FeatureMatrix& values, const std::vector<std::int32_t>& labels,
                             const std::vector<FixedPointFormat>& formats, ProfileSums& sums,
                             const std::vector<float>* weights) {
  check_inputs(values, labels, formats, sums, "accumulate_profile_sums");
  check_weights(labels, sums, weights, "accumulate_profile_sums");
  const int k = sums.k, d = sums.d;
  // This call's rows by segment first; the population row is then their fold, which is exact
  // (integer sums, min and max), so each value is converted and added once, not twice.
  const std::size_t cells = static_cast<std::size_t>(k) * d;
  std::vector<ExactSum> segment_sums(cells, 0);
  std::vector<double> segment_min(cells, std::numeric_limits<double>::infinity());
  std::vector<double> segment_max(cells, -std::numeric_limits<double>::infinity());
  std::vector<std::int64_t> segment_counts(k, 0);
  std::vector<ExactSum> segment_weights(weights ? k : 0, 0);
  for (Eigen::Index i = 0; i < values.rows(); ++i) {
    const std::size_t segment = static_cast<std::size_t>(labels[i]) * d;
    // The weighted term x·w of float values is exact in double, so rounded once on its grid.
    const double w = weights ? (*weights)[static_cast<std::size_t>(i)] : 1.0;
    for (int j = 0; j < d; ++j) {
      const double x = values(i, j);
      segment_sums[segment + j] += formats[j].to_fixed(weights ? x * w : x);
      segment_min[segment + j] = std::min(segment_min[segment + j], x);
      segment_max[segment + j] = std::max(segment_max[segment + j], x);
    }
    ++segment_counts[labels[i]];
    if (weights) segment_weights[labels[i]] += sums.weight_format.to_fixed(w);
  }
  const std::size_t population = cells;
  for (int s = 0; s < k; ++s) {
    for (int j = 0; j < d; ++j) {
      const std::size_t cell = static_cast<std::size_t>(s) * d + j;
      for (std::size_t at : {cell, population + j}) {
        sums.sums[at] += segment_sums[cell];
        sums.min[at] = std::min(sums.min[at], segment_min[cell]);
        sums.max[at] = std::max(sums.max[at], segment_max[cell]);
      }
    }
    sums.counts[s] += segment_counts[s];
    sums.counts[k] += segment_counts[s];
    if (weights) {
      sums.weights[s] += segment_weights[s];
      sums.weights[k] += segment_weights[s];
    }
  }
}

void accumulate_profile_deviations(const FeatureMatrix& values,
                                   const std::vector<std::int32_t>& labels,
                                   const std::vector<double>& group_means,
                                   const std::vector<FixedPointFormat>& formats, ProfileSums& sums,
                                   const std::vector<float>* weights) {
  check_inputs(values, labels, formats, sums, "accumulate_profile_deviations");
  check_weights(labels, sums, weights, "accumulate_profile_deviations");
  if (group_means.size() != sums.sums.size()) {
    throw std::invalid_argument("accumulate_profile_deviations: (k + 1) x d group means expected");
  }
  const int d = sums.d;
  const std::size_t population = static_cast<std::size_t>(sums.k) * d;
  for (Eigen::Index i = 0; i < values.rows(); ++i) {
    const std::size_t segment = static_cast<std::size_t>(labels[i]) * d;
    const double w = weights ? (*weights)[static_cast<std::size_t>(i)] : 1.0;
    for (int j = 0; j < d; ++j) {
      const double x = values(i, j);
      for (std::size_t at : {segment + j, population + j}) {
        const double deviation = x - group_means[at];
        const double squared = deviation * deviation;
        sums.deviations[at] += formats[j].to_fixed(weights ? squared * w : squared);
      }
    }
  }
}

SegmentProfiles profiles_from_sums(const ProfileSums& global_sums,
                                   const std::vector<FixedPointFormat>& sum_formats,
                                   const std::vector<FixedPointFormat>& deviation_formats) {
  const int k = global_sums.k, d = global_sums.d;
  if (sum_formats.size() != static_cast<std::size_t>(d) ||
      deviation_formats.size() != static_cast<std::size_t>(d)) {
    throw std::invalid_argument("profiles_from_sums: one format per feature expected");
  }
  const std::size_t cells = static_cast<std::size_t>(k) * d;
  SegmentProfiles profiles;
  profiles.k = k;
  profiles.d = d;
  profiles.size.assign(global_sums.counts.begin(), global_sums.counts.begin() + k);
  profiles.share.resize(k);
  profiles.mean.assign(cells, kNaN);
  profiles.std.assign(cells, kNaN);
  profiles.min.assign(cells, kNaN);
  profiles.max.assign(cells, kNaN);
  profiles.lift.assign(cells, kNaN);
  profiles.population_mean.assign(d, kNaN);
  profiles.population_std.assign(d, kNaN);

  // Group g's size: its customers, or with sample weights its total weight.
  std::vector<double> group_size(static_cast<std::size_t>(k) + 1);
  for (int g = 0; g <= k; ++g) {
    group_size[g] = global_sums.weighted()
                        ? global_sums.weight_format.to_double(global_sums.weights[g])
                        : static_cast<double>(global_sums.counts[g]);
  }
  if (global_sums.weighted()) {
    profiles.weight.assign(group_size.begin(), group_size.begin() + k);
    profiles.total_weight = group_size[k];
  }
  // Group g's mean and population std of feature j; NaN for an empty group.
  auto mean_of = [&](int g, int j) {
    const std::size_t at = static_cast<std::size_t>(g) * d + j;
    return sum_formats[j].to_double(global_sums.sums[at]) / group_size[g];
  };
  auto std_of = [&](int g, int j) {
    const std::size_t at = static_cast<std::size_t>(g) * d + j;
    return std::sqrt(deviation_formats[j].to_double(global_sums.deviations[at]) / group_size[g]);
  };

  const double total = group_size[k];
  if (total > 0) {
    for (int j = 0; j < d; ++j) {
      profiles.population_mean[j] = mean_of(k, j);
      profiles.population_std[j] = std_of(k, j);
    }
  }
  for (int c = 0; c < k; ++c) {
    profiles.share[c] = total > 0 ? group_size[c] / total : kNaN;
    if (global_sums.counts[c] == 0) continue;
    for (int j = 0; j < d; ++j) {
      const std::size_t at = static_cast<std::size_t>(c) * d + j;
      profiles.mean[at] = mean_of(c, j);
      profiles.std[at] = std_of(c, j);
      profiles.min[at] = global_sums.min[at];
      profiles.max[at] = global_sums.max[at];
      const double spread = profiles.population_std[j];
      profiles.lift[at] =
          spread == 0.0 ? 0.0 : (profiles.mean[at] - profiles.population_mean[j]) / spread;
    }
  }
  return profiles;
}

}  // namespace microseg
