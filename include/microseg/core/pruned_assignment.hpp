#pragma once
/// \file The pruned Lloyd assignment step (Yinyang group bounds): the same labels, squared
/// distances and segment sums as assign_and_accumulate, bit for bit, while skipping most
/// distance computations once few rows move.
///
/// Exactness: a row's label is the argmin (tie → lowest index) of the float kernel values
/// K(x, c) = fma-chain(‖c‖², x_j, −2c_j). Group lower bounds are on the exact Euclidean distance
/// to the float centroid and carry a margin that covers the kernel's rounding error, so a
/// centroid is skipped only when K(x, c) > K(x, label) is proven; every other candidate is
/// evaluated with the kernel's own per-lane arithmetic. docs/architecture.md has the derivation.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// How a Lloyd iteration assigns rows: every distance (plain), or with bounds that skip
/// centroids proven not nearest (pruned). Both give identical results; `automatic` picks the
/// faster by the measured rule of choose_lloyd_step.
enum class LloydStepKind { automatic, plain, pruned };
std::string to_string(LloydStepKind kind);
/// Parses "auto", "plain" or "pruned"; throws InputError naming the value otherwise.
LloydStepKind parse_lloyd_step(const std::string& text);
/// The step `automatic` stands for at k centroids in d features (measured, docs/benchmarks.md).
LloydStepKind choose_lloyd_step(int k, int d);
/// Groups of centroids the pruned step keeps one lower bound per row for (n × groups floats).
int pruning_groups(int k);

/// Upper bound on |K(x, c) − (‖c̃‖² − 2x·c̃)| for ‖x‖ ≤ row_norm, ‖c̃‖ ≤ centroid_norm in d
/// features, where c̃ is the float centroid the kernel uses.
double kernel_rounding_bound(int d, double row_norm, double centroid_norm);

/// The state of the pruned step across the iterations of one Lloyd run over a rank's rows: one
/// float lower bound per row and centroid group, the centroids of the previous iteration and the
/// rank's per-segment sums, updated from the rows that changed segment. A row's bounds depend
/// only on that row and the (global) centroids, so the state is the same for any rank or thread
/// count.
class PrunedAssignment {
 public:
  /// `groups` ≥ 1 (clamped to k); 1 is Hamerly's single bound.
  PrunedAssignment(Eigen::Index rows, int k, int d, int groups);

  /// One assignment step with the outputs of assign_and_accumulate: labels, squared distances
  /// (‖x‖² + K, clamped at 0) and the rank's full per-segment sums (not only the changes). The
  /// first call evaluates every distance and fixes the centroid groups.
  void assign(const FeatureMatrix& features, const std::vector<float>& row_norms,
              const CentroidMatrix& centroids, const std::vector<FixedPointFormat64>& formats,
              std::vector<std::int32_t>& labels, std::vector<float>& squared_distances,
              LloydSums& sums);

  int groups() const { return groups_; }
  /// Bytes held per row (the bounds) and in total.
  std::size_t bytes() const;
  /// Centroid distance evaluations in the last step, for benchmarks (plain does rows × k).
  std::int64_t last_evaluations() const { return last_evaluations_; }

 private:
  struct Layout;
  void form_groups(const std::vector<float>& centroids_rowmajor);

  Eigen::Index rows_;
  int k_, d_, groups_;
  bool started_ = false;
  std::vector<int> group_of_;        // per centroid
  std::vector<int> order_;           // centroids by group; group g is [group_begin_[g], [g+1])
  std::vector<int> group_begin_;     // groups_ + 1
  std::vector<float> previous_;      // k × d float centroids of the previous step
  std::vector<float> lower_bounds_;  // rows × groups
  std::vector<float> label_values_;  // rows: the kernel value of the row's label, last step
  LloydSums local_sums_;
  std::int64_t last_evaluations_ = 0;
};

}  // namespace microseg
