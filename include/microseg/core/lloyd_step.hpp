#pragma once
/// \file The Lloyd assignment step as a policy (mlpack's `Iterate`): one object per fit, built once
/// over a rank's rows, called once per iteration as step(centroids, sums). The plain step
/// evaluates every distance; the pruned step (core/pruned_assignment.hpp) skips centroids its
/// bounds prove are not nearest. Both give the same labels, squared distances and sums bit for
/// bit, so the choice changes the speed only.
#include <cstdint>
#include <memory>
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

/// The step `kind` names for k centroids; `automatic` resolves by choose_lloyd_step, and the
/// pruned step takes pruning_groups(k) groups.
std::unique_ptr<LloydStep> make_lloyd_step(LloydStepKind kind, const LloydRows& rows, int k);

}  // namespace microseg
