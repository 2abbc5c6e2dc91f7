#pragma once
/// \file What a sweep over the number of segments needs besides fitting: the seeds of its
/// restarts, the per-segment quotas of its stratified silhouette sample, one row of its table,
/// and the written rule that recommends a k from the table.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace microseg {

/// The seed of restart `restart` (0-based) of a fit with seed `seed`: `seed` itself for restart 0,
/// a keyed hash of (seed, restart) after it. The same seeds as distributed::fit_kmeans, so the
/// fit at k in a sweep is the fit of `microseg segment --k K` with the same --seed and --restarts.
std::uint64_t restart_seed(std::uint64_t seed, int restart);

/// Customers per segment in a silhouette sample of `sample` customers stratified by segment:
/// every segment gets the same quota q, or all its customers when it has fewer, with q as large
/// as the sample allows; the few left over go one each to the segments that still have
/// customers, in segment order. Small segments are therefore represented as well as large ones.
/// With sample >= the total, every customer is in the sample.
std::vector<std::int64_t> stratified_quotas(const std::vector<std::int64_t>& segment_sizes,
                                            std::int64_t sample);

/// One row of a sweep's table: the quality of the best of the restarts at one k.
struct SweepRow {
  std::int64_t k = 0;
  double inertia = 0;
  double calinski_harabasz = 0;
  double davies_bouldin = 0;
  double silhouette_simplified = 0;
  double silhouette_sampled = 0;  ///< on a sample stratified by segment (see stratified_quotas)
  std::int64_t min_segment_size = 0;
  double min_segment_share = 0;
  double stability = 0;  ///< mean adjusted Rand index between restarts; NaN with one restart
};

/// Stability (mean adjusted Rand index between restarts) from which a k is a candidate: below it
/// the restarts disagree on most of the partition. Higher thresholds (0.8) rejected the planted k
/// of harder generated bases, where a single restart in a local optimum lowers the mean.
constexpr double stable_partition_threshold = 0.5;

/// The k at the knee of the inertia curve (Kneedle: with k and inertia each scaled to [0, 1]
/// over the sweep, the k farthest below the chord from the first to the last point; the
/// smaller k on ties). Empty with fewer than three rows. Rows must be sorted by k.
std::optional<std::int64_t> inertia_knee(const std::vector<SweepRow>& rows);

/// The recommended k and the runner-up, each with the reason in words.
struct KRecommendation {
  std::int64_t k = 0;
  std::string reason;
  std::int64_t runner_up_k = 0;  ///< 0 when the sweep has a single k
  std::string runner_up_reason;
};

/// The rule recommend_k applies, in words (written into sweep.h5 and the log).
std::string recommendation_rule();

/// Applies recommendation_rule() to the rows (sorted by k, at least one). Deterministic.
KRecommendation recommend_k(const std::vector<SweepRow>& rows);

}  // namespace microseg
