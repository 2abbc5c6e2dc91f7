#pragma once
/// \file The pruned Lloyd assignment step (Yinyang group bounds): the same labels, squared
/// distances and segment sums as the plain step (assign_and_accumulate), bit for bit, while
/// skipping most distance computations once few rows move.
///
/// Exactness: a row's label is the argmin (tie → lowest index) of the float kernel values
/// K(x, c) = fma-chain(‖c‖², x_j, −2c_j). Group lower bounds are on the exact Euclidean distance
/// to the float centroid and carry a margin that covers the kernel's rounding error, so a
/// centroid is skipped only when K(x, c) > K(x, label) is proven; every other candidate is
/// evaluated with the kernel's own per-lane arithmetic. docs/architecture.md has the derivation.
#include <cstdint>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/exact_sum.hpp"
#include "microseg/core/lloyd_step.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Upper bound on |K(x, c) − (‖c̃‖² − 2x·c̃)| for ‖x‖ ≤ row_norm, ‖c̃‖ ≤ centroid_norm in d
/// features, where c̃ is the float centroid the kernel uses.
double kernel_rounding_bound(int d, double row_norm, double centroid_norm);

/// The pruned step's centroid groups (Yinyang's), fixed on its first step.
struct CentroidGroups {
  std::vector<int> group_of;  ///< per centroid
  std::vector<int> order;     ///< centroids by group, ascending within a group
  std::vector<int> begin;     ///< group g holds positions [begin[g], begin[g + 1]) of `order`
  int count() const { return static_cast<int>(begin.size()) - 1; }
};

/// The pruned step across the iterations of one Lloyd run over a rank's rows. It keeps one float
/// lower bound per row and centroid group, each row's kernel value of its label, the centroids
/// of the previous step and the rank's per-segment sums, updated from the rows that changed
/// segment. A row's bounds depend only on that row and the (global) centroids, so the state is
/// the same for any rank or thread count.
class PrunedLloydStep final : public LloydStep {
 public:
  /// k centroids in `groups` groups (≥ 1, clamped to k; 1 is Hamerly's single bound).
  PrunedLloydStep(const LloydRows& rows, int k, int groups);

  /// The plain step's outputs: labels, squared distances (‖x‖² + K, clamped at 0) and the rank's
  /// full per-segment sums (not only the changes). The first step evaluates every distance and
  /// fixes the centroid groups.
  void step(const CentroidMatrix& centroids, LloydSums& sums) override;

  /// Groups in use: after the first step, those the grouping left non-empty.
  int groups() const { return started_ ? groups_.count() : requested_groups_; }
  /// Bytes held across steps (the bounds, label values, previous centroids and sums).
  std::size_t bytes() const;
  /// Centroid distance evaluations in the last step, for benchmarks (plain does rows × k).
  std::int64_t last_evaluations() const { return last_evaluations_; }

 private:
  void check_shapes(const CentroidMatrix& centroids, const LloydSums& sums) const;
  void start(const std::vector<float>& centroids);

  int k_, d_, requested_groups_;
  bool started_ = false;
  CentroidGroups groups_;
  std::vector<float> previous_;      // k × d float centroids of the previous step
  std::vector<float> lower_bounds_;  // rows × groups
  std::vector<float> label_values_;  // rows: the kernel value of the row's label, last step
  LloydSums local_sums_;
  std::int64_t last_evaluations_ = 0;
};

}  // namespace microseg
