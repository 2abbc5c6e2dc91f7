#pragma once
/// \file Feature transforms: optional log1p per feature, then z-score, min-max, robust (median and
/// interquartile range) or no scaling.
///
/// Statistics are fitted across ranks by the distributed layer from the local pieces below;
/// this file only holds the per-rank arithmetic.
#include <cmath>
#include <string>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

enum class ScaleKind { zscore, minmax, none, robust };
ScaleKind parse_scale_kind(const std::string& text);  ///< throws InputError
std::string to_string(ScaleKind kind);

/// Global per-feature statistics of the (log1p-transformed) features.
struct FeatureStatistics {
  std::int64_t count = 0;
  std::vector<double> mean, std, min, max;  ///< std is the population standard deviation
  /// Exact quantiles (numpy's 'linear' rule); filled only for robust scaling.
  std::vector<double> median, lower_quartile, upper_quartile;
};

/// The fitted transform: scaled = (t - offset) / scale, where t = log1p(x) if log1p else x.
struct ScalingModel {
  ScaleKind kind = ScaleKind::zscore;
  std::vector<char> log1p;  ///< per feature (char, not bool, so it serialises plainly)
  std::vector<double> offset, scale;

  /// Builds the model from statistics; a zero-variance (or zero-range, or zero-IQR) feature gets
  /// scale 1. Robust: offset = median, scale = upper − lower quartile.
  static ScalingModel from_statistics(ScaleKind kind, std::vector<char> log1p,
                                      const FeatureStatistics& stats);
  /// True when scaled values equal the values before log1p and scaling bit for bit (no log1p,
  /// offset 0 and scale 1 in every feature: --scale none without weights).
  bool is_identity() const {
    for (std::size_t j = 0; j < scale.size(); ++j) {
      if ((j < log1p.size() && log1p[j] != 0) || offset[j] != 0.0 || scale[j] != 1.0) return false;
    }
    return true;
  }
  /// The original value of a scaled one (feature < scale.size(); inline: it runs per value in
  /// the profile passes).
  double inverse(std::size_t feature, double scaled) const {
    const double transformed = scaled * scale[feature] + offset[feature];
    return feature < log1p.size() && log1p[feature] != 0 ? std::expm1(transformed) : transformed;
  }
};

/// Applies log1p in place to the flagged columns. Throws InputError naming the feature and the
/// customer id of the first value <= -1 (log1p undefined there).
void apply_log1p(FeatureMatrix& features, const std::vector<char>& log1p,
                 const std::vector<std::string>& names, const std::vector<std::int64_t>& ids);

/// Per-feature local min and max (+inf/-inf on a rank with no rows).
void local_min_max(const FeatureMatrix& features, std::vector<double>& min,
                   std::vector<double>& max);

/// Per-feature local sums of the columns on the given grids.
std::vector<ExactSum> local_column_sums(const FeatureMatrix& features,
                                        const std::vector<FixedPointFormat>& formats);

/// Per-feature local sums of (x - mean)^2 on the given grids.
std::vector<ExactSum> local_squared_deviations(const FeatureMatrix& features,
                                               const std::vector<double>& mean,
                                               const std::vector<FixedPointFormat>& formats);

/// Per-feature local sums of w·x (sample weights, one per row; each product exact in double)
/// on the given grids.
std::vector<ExactSum> local_weighted_column_sums(const FeatureMatrix& features,
                                                 const std::vector<float>& weights,
                                                 const std::vector<FixedPointFormat>& formats);

/// Per-feature local sums of w·(x − mean)² on the given grids.
std::vector<ExactSum> local_weighted_squared_deviations(
    const FeatureMatrix& features, const std::vector<float>& weights,
    const std::vector<double>& mean, const std::vector<FixedPointFormat>& formats);

/// Centroids (k × d, scaled space) mapped back through the model, into original units.
CentroidMatrix centroids_in_original_units(const CentroidMatrix& scaled, const ScalingModel& model);

/// Applies the model in place (features must already be log1p-transformed where flagged).
void apply_scaling(FeatureMatrix& features, const ScalingModel& model);

}  // namespace microseg
