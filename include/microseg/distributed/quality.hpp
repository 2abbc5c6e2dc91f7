#pragma once
/// \file The final assignment of every row to a model and the model's quality, across ranks:
/// inertia, Calinski–Harabasz, Davies–Bouldin, the simplified silhouette over every row and the
/// exact silhouette on a uniform sample. Sums are exact, so every number is the same for any rank
/// count.
#include <cstdint>
#include <optional>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/result.hpp"
#include "microseg/distributed/rank_rows.hpp"

namespace microseg::distributed {

/// Σ over all rows of the squared distance to the nearest centroid (`nearest_distances`, one per
/// row, from core nearest_two), summed exactly on a grid bounding every squared distance: the
/// inertia a run reports.
double exact_inertia(const RankRows& rows, const std::vector<double>& nearest_distances);

/// The final assignment of every row and the quality of the model.
struct FinalAssignment {
  std::vector<std::int32_t> segments;
  std::vector<double> distances;  ///< Euclidean, scaled space
  /// Second-nearest minus nearest distance per row, only when asked for (empty otherwise).
  std::vector<double> margins;
  QualityReport quality;
};

/// The exact silhouette's uniform sample: the `size` rows with the smallest keyed hashes of
/// (seed, global row); 0 skips it.
struct SilhouetteSampling {
  std::int64_t size = 10000;
  std::uint64_t seed = 0;
};

/// Rows sampled for an exact silhouette, gathered to every rank: this rank's own sampled rows,
/// and all of them in global row order (rank order, then local order).
struct GatheredSample {
  FeatureMatrix mine;
  std::vector<std::int32_t> mine_labels;
  FeatureMatrix all;
  std::vector<std::int32_t> all_labels;
};

/// Collective: gathers the rows `chosen` (local indices, ascending) with their labels.
GatheredSample gather_sample(const RankRows& rows, const std::vector<std::int32_t>& labels,
                             const std::vector<std::size_t>& chosen);

/// Collective: assigns every row to its nearest centroid (core nearest_two, or `nearest` when the
/// fit already computed it for these centroids) and measures the model. Fails on every rank when
/// a segment ends up empty. With `keep_margins`, FinalAssignment::margins is filled (the
/// second-nearest distances are otherwise freed, so the result holds no more per row than the fit).
FinalAssignment assign_and_measure(const RankRows& rows, const CentroidMatrix& centroids,
                                   const SilhouetteSampling& sampling,
                                   std::optional<NearestTwo> nearest = std::nullopt,
                                   bool keep_margins = false);

}  // namespace microseg::distributed
