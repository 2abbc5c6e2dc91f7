#pragma once
/// \file Segment profiles in the features' original units.
#include <cstdint>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Local sums for k segments plus one extra group (index k) for the whole population.
struct ProfileSums {
  ProfileSums(int k, int d);
  int k, d;
  std::vector<std::int64_t> counts;        ///< k + 1
  std::vector<ExactSum> sums, deviations;  ///< (k + 1) × d
  std::vector<double> min, max;            ///< (k + 1) × d
};

/// First pass: counts, sums, min and max of the values in original units (as read, after
/// one-hot, missing values and clipping, before log1p and scaling). formats: one grid per
/// feature bounding |x|.
void accumulate_profile_sums(const FeatureMatrix& values, const std::vector<std::int32_t>& labels,
                             const std::vector<FixedPointFormat>& formats, ProfileSums& sums);

/// Second pass: Σ (x − group mean)² per group and feature. formats bound one squared deviation.
void accumulate_profile_deviations(const FeatureMatrix& values,
                                   const std::vector<std::int32_t>& labels,
                                   const std::vector<double>& group_means,
                                   const std::vector<FixedPointFormat>& formats, ProfileSums& sums);

/// What a marketer reads about each segment (k × d matrices row-major, original units).
struct SegmentProfiles {
  int k = 0, d = 0;
  std::vector<std::int64_t> size;
  std::vector<double> share;
  std::vector<double> mean, std, min, max;
  std::vector<double> lift;  ///< (segment mean − population mean) / population std (0 if std 0)
  std::vector<double> population_mean, population_std;
};

/// Profiles from global sums (after both passes were reduced across ranks).
SegmentProfiles profiles_from_sums(const ProfileSums& global_sums,
                                   const std::vector<FixedPointFormat>& sum_formats,
                                   const std::vector<FixedPointFormat>& deviation_formats);

}  // namespace microseg
