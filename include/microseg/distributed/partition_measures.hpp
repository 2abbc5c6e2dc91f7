#pragma once
/// \file Measures of a partition of the customers that a sweep over k adds to assign_and_measure:
/// segment sizes, the contingency table of two partitions (for their adjusted Rand index), and the
/// exact silhouette on a sample stratified by segment. Every result is the same on every rank and
/// for any rank count.
#include <cstdint>
#include <vector>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/quality.hpp"
#include "microseg/distributed/rank_rows.hpp"

namespace microseg::distributed {

/// Customers per segment (labels 0 .. k−1) over all ranks.
std::vector<std::int64_t> segment_sizes(const Communicator& comm,
                                        const std::vector<std::int32_t>& labels, int k);

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
/// row); `sampling.size` in all), gathers it to every rank (sample × d floats), and scores each
/// rank's sampled rows against it with the distances of core/quality.hpp. `segment_sizes` are
/// the global sizes.
StratifiedSilhouette stratified_silhouette(const RankRows& rows,
                                           const std::vector<std::int32_t>& labels,
                                           const std::vector<std::int64_t>& segment_sizes,
                                           const SilhouetteSampling& sampling);

}  // namespace microseg::distributed
