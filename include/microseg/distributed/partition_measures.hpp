#pragma once
/// \file Measures of a partition of the customers that a sweep over k adds to assign_and_measure:
/// segment sizes, the contingency table of two partitions (for their adjusted Rand index), and the
/// exact silhouette on a sample stratified by segment. Every result is the same on every rank and
/// for any rank count.
#include <cstdint>
#include <vector>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Customers per segment (labels 0 .. k−1) over all ranks.
std::vector<std::int64_t> segment_sizes(const Communicator& comm,
                                        const std::vector<std::int32_t>& labels, int k);

/// Σ over all rows of the squared distance to the nearest centroid (`nearest_distances`, one per
/// row, from core nearest_two), summed exactly on the grid assign_and_measure and fit_kmeans use,
/// so the value is bit-identical to the inertia they report for the same centroids.
double exact_inertia(const Communicator& comm, const FeatureMatrix& features,
                     const std::vector<double>& nearest_distances);

/// The contingency table of two partitions of the same rows, summed over all ranks: row-major
/// first_labels × second_labels int64 counts, as core/partition_agreement.hpp takes it. Fails on
/// every rank (AgreedError) when a rank's two label vectors differ in length or a label is out of
/// range.
std::vector<std::int64_t> contingency_table(const Communicator& comm,
                                            const std::vector<std::int32_t>& first,
                                            const std::vector<std::int32_t>& second,
                                            int first_labels, int second_labels);

/// The exact silhouette estimated on a sample stratified by segment.
struct StratifiedSilhouette {
  /// Σ_s share_s × (mean silhouette of the sampled customers of segment s): each segment's mean is
  /// weighted by its share of all customers, so the estimate targets the silhouette of the whole
  /// base while small segments are measured on as many customers as large ones. With a sample of
  /// every customer it is the exact silhouette (sklearn.metrics.silhouette_score). NaN with fewer
  /// than two sampled segments.
  double value = 0;
  std::vector<std::int64_t> sample_sizes;  ///< per segment (core stratified_quotas)
};

/// Draws the sample (per segment, the customers with the smallest keyed hashes of (seed, global
/// row)), gathers it to every rank (sample × d floats), and scores each rank's sampled rows
/// against it with the distances of core/quality.hpp. `segment_sizes` are the global sizes.
StratifiedSilhouette stratified_silhouette(const Communicator& comm, const FeatureMatrix& features,
                                           RowRange rows, const std::vector<std::int32_t>& labels,
                                           const std::vector<std::int64_t>& segment_sizes,
                                           std::int64_t sample, std::uint64_t seed);

}  // namespace microseg::distributed
