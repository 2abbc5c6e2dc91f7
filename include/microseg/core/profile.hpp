#pragma once
/// \file Segment profiles in the features' original units.
#include <cstdint>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Local sums for k segments plus one extra group (index k) for the whole population. With
/// sample weights (`weights` non-null in the accumulate calls) the sums and deviations are
/// weighted (Σ w·x, Σ w·(x − mean)²) and `weights` holds Σ w per group on `weight_format`.
struct ProfileSums {
  ProfileSums(int k, int d);
  /// Weighted sums: Σ w per group on `format` (which bounds the total weight's terms).
  ProfileSums(int k, int d, const FixedPointFormat& format);
  int k, d;
  std::vector<std::int64_t> counts;        ///< k + 1
  std::vector<ExactSum> sums, deviations;  ///< (k + 1) × d
  std::vector<double> min, max;            ///< (k + 1) × d
  std::vector<ExactSum> weights;           ///< k + 1 with sample weights; empty otherwise
  FixedPointFormat weight_format;
  bool weighted() const { return !weights.empty(); }
};

/// First pass: counts, sums, min and max of the values in original units (as read, after
/// one-hot, missing values and clipping, before log1p and scaling). formats: one grid per
/// feature bounding |x| (|w·x| with weights). `weights` (one per row) only for weighted sums;
/// min and max are over every customer whatever the weight.
void accumulate_profile_sums(const FeatureMatrix& values, const std::vector<std::int32_t>& labels,
                             const std::vector<FixedPointFormat>& formats, ProfileSums& sums,
                             const std::vector<float>* weights = nullptr);

/// Second pass: Σ (x − group mean)² per group and feature (Σ w·(x − mean)² with weights).
/// formats bound one (weighted) squared deviation.
void accumulate_profile_deviations(const FeatureMatrix& values,
                                   const std::vector<std::int32_t>& labels,
                                   const std::vector<double>& group_means,
                                   const std::vector<FixedPointFormat>& formats, ProfileSums& sums,
                                   const std::vector<float>* weights = nullptr);

/// What a marketer reads about each segment (k × d matrices row-major, original units). With
/// sample weights, share, mean, std and lift (and the population's) are weighted; size stays the
/// count of customers.
struct SegmentProfiles {
  int k = 0, d = 0;
  std::vector<std::int64_t> size;
  std::vector<double> share;
  std::vector<double> mean, std, min, max;
  /// The 5th and 95th percentiles of each segment's values (numpy's 'linear' rule over the
  /// customers, unweighted): what the shared profiles show instead of min and max, which are
  /// single customers' values. Filled by distributed::profile_segments; empty otherwise.
  std::vector<double> p05, p95;
  std::vector<double> lift;  ///< (segment mean − population mean) / population std (0 if std 0)
  std::vector<double> population_mean, population_std;
  std::vector<double> weight;  ///< Σ sample weight per segment; empty without weights
  double total_weight = 0;     ///< Σ sample weight over every customer; 0 without weights
};

/// Profiles from global sums (after both passes were reduced across ranks).
SegmentProfiles profiles_from_sums(const ProfileSums& global_sums,
                                   const std::vector<FixedPointFormat>& sum_formats,
                                   const std::vector<FixedPointFormat>& deviation_formats);

}  // namespace microseg
