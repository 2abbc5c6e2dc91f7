#pragma once
/// \file Per-rank pieces of the segment quality metrics and the formulas that combine them.
///
/// Calinski–Harabasz and Davies–Bouldin follow scikit-learn's definitions exactly (segment
/// means taken from the labels); the simplified silhouette uses the model's centroids; the exact
/// silhouette is computed on a uniform sample, on the sample alone, as
/// sklearn.metrics.silhouette_score(sample_size=...) does.
#include <cstdint>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Local sums over rows given their labels and the label means (segment means).
struct DispersionSums {
  explicit DispersionSums(int k) : distance_sums(k, 0) {}
  std::vector<ExactSum> distance_sums;  ///< per segment: Σ ‖x − mean_l‖
  ExactSum squared_distance_sum = 0;    ///< Σ ‖x − mean_l‖² (within-segment dispersion)
};

/// Adds the rows to `sums`. distance_format bounds one distance, squared_format one square.
void accumulate_dispersion(const FeatureMatrix& features, const std::vector<std::int32_t>& labels,
                           const CentroidMatrix& segment_means,
                           const FixedPointFormat& distance_format,
                           const FixedPointFormat& squared_format, DispersionSums& sums);

/// The grids of weighted dispersion sums: `distance` bounds one w·distance, `squared` one
/// w·squared distance.
struct DispersionGrids {
  FixedPointFormat distance, squared;
};

/// accumulate_dispersion with sample weights (one per row): Σ w‖x − mean_l‖ per segment and
/// Σ w‖x − mean_l‖², each term the double product rounded once onto its grid.
void accumulate_weighted_dispersion(const FeatureMatrix& features,
                                    const std::vector<float>& weights,
                                    const std::vector<std::int32_t>& labels,
                                    const CentroidMatrix& segment_means,
                                    const DispersionGrids& grids, DispersionSums& sums);

/// sklearn.metrics.calinski_harabasz_score from global pieces (1.0 when k = 1, as sklearn
/// would refuse; callers report it only for k >= 2).
double calinski_harabasz(std::int64_t n, const std::vector<std::int64_t>& counts,
                         const CentroidMatrix& segment_means,
                         const std::vector<double>& overall_mean, double within_dispersion);

/// The same with sample weights: segment sizes are their total weights, n the total weight
/// and the means and dispersion weighted, so integer weights give the score of the table with
/// each customer repeated w times. Segments of weight 0 do not count towards k.
double weighted_calinski_harabasz(double total_weight, const std::vector<double>& segment_weights,
                                  const CentroidMatrix& segment_means,
                                  const std::vector<double>& overall_mean,
                                  double within_dispersion);

/// sklearn.metrics.davies_bouldin_score from global pieces.
double davies_bouldin(const CentroidMatrix& segment_means,
                      const std::vector<double>& mean_distance_to_mean);

/// Simplified silhouette of one row: (b − a) / max(a, b) with a, b the distances to the nearest
/// and second-nearest centroid (0 when k = 1 or a = b = 0).
double simplified_silhouette(double nearest_distance, double second_distance);

/// For every row a of `targets`, adds the Euclidean distance to every row b of `others` into
/// sums[a * k + others_labels[b]] (the distance of a row to itself is 0 and adds nothing).
void accumulate_pairwise_distance_sums(const FeatureMatrix& targets, const FeatureMatrix& others,
                                       const std::vector<std::int32_t>& others_labels, int k,
                                       const FixedPointFormat& format, std::vector<ExactSum>& sums);

/// Silhouette of each target row from its per-segment distance sums and the sample's segment
/// sizes (0 for a row alone in its segment, as scikit-learn does).
std::vector<double> silhouette_from_distance_sums(const std::vector<ExactSum>& sums,
                                                  const std::vector<std::int32_t>& target_labels,
                                                  const std::vector<std::int64_t>& sample_sizes,
                                                  const FixedPointFormat& format);

/// The rows a silhouette is measured against: every rank holds the same sample.
struct SilhouetteSample {
  const FeatureMatrix& rows;
  const std::vector<std::int32_t>& labels;
  const std::vector<std::int64_t>& segment_sizes;  ///< of the sample, per segment
  FixedPointFormat format;                         ///< bounds one distance
};

/// The exact silhouette of each target row against the sample (scikit-learn's formula), in
/// target order; the distance sums run in sample order, so a row's value does not depend on
/// which rank holds it. Bounded memory: targets are scored in chunks.
std::vector<double> silhouettes_against_sample(const SilhouetteSample& sample,
                                               const FeatureMatrix& targets,
                                               const std::vector<std::int32_t>& target_labels);

}  // namespace microseg
