#pragma once
/// \file The Lloyd assignment step as a policy (mlpack's `Iterate`): one object per fit, built once
/// over a rank's rows, called once per iteration as step(centroids, sums). The plain step
/// evaluates every distance; the pruned step skips centroids its bounds prove are not nearest.
/// Both give the same labels, squared distances and sums bit for bit, so the choice changes the
/// speed only.
#include <cstdint>
#include <memory>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/exact_sum.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// One Lloyd assignment step over a rank's rows: each row goes to its nearest centroid (ties to
/// the lowest index) and `sums` receives the rank's per-segment sums, counts and the number of
/// rows whose segment changed since the previous step.
class LloydStep {
 public:
  explicit LloydStep(const LloydRows& rows);
  virtual ~LloydStep() = default;
  LloydStep(const LloydStep&) = delete;
  LloydStep& operator=(const LloydStep&) = delete;

  /// `sums` must be zero on entry, sized for centroids.rows() segments.
  virtual void step(const CentroidMatrix& centroids, LloydSums& sums) = 0;

  /// Per row, after the last step: its segment, and its squared distance ‖x‖² + ‖c‖² − 2x·c
  /// in float, clamped at 0. Labels are −1 before the first step.
  const std::vector<std::int32_t>& labels() const { return labels_; }
  const std::vector<float>& squared_distances() const { return squared_distances_; }

 protected:
  LloydRows rows_;
  std::vector<std::int32_t> labels_;
  std::vector<float> squared_distances_;
};

/// The step `kind` names for k centroids; `automatic` resolves by choose_lloyd_step.
std::unique_ptr<LloydStep> make_lloyd_step(LloydStepKind kind, const LloydRows& rows, int k);

}  // namespace microseg
