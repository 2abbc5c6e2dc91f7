#include "microseg/core/lloyd_step.hpp"

namespace microseg {
namespace {

// Every distance, with the register-blocked kernel.
class PlainLloydStep final : public LloydStep {
 public:
  using LloydStep::LloydStep;
  void step(const CentroidMatrix& centroids, LloydSums& sums) override {
    assign_and_accumulate(rows_, AssignmentCentroids(centroids), labels_, squared_distances_, sums);
  }
};

// Yinyang group bounds (core/pruned_assignment): the plain step's results, fewer distances.
class PrunedLloydStep final : public LloydStep {
 public:
  PrunedLloydStep(const LloydRows& rows, int k)
      : LloydStep(rows),
        pruned_(rows.features.rows(), k, static_cast<int>(rows.features.cols()),
                pruning_groups(k)) {}
  void step(const CentroidMatrix& centroids, LloydSums& sums) override {
    pruned_.assign(rows_.features, rows_.row_norms, centroids, rows_.formats, labels_,
                   squared_distances_, sums);
  }

 private:
  PrunedAssignment pruned_;
};

}  // namespace

LloydStep::LloydStep(const LloydRows& rows)
    : rows_(rows),
      labels_(static_cast<std::size_t>(rows.features.rows()), -1),
      squared_distances_(labels_.size()) {}

std::unique_ptr<LloydStep> make_lloyd_step(LloydStepKind kind, const LloydRows& rows, int k) {
  const int d = static_cast<int>(rows.features.cols());
  if (kind == LloydStepKind::automatic) kind = choose_lloyd_step(k, d);
  if (kind == LloydStepKind::pruned) return std::make_unique<PrunedLloydStep>(rows, k);
  return std::make_unique<PlainLloydStep>(rows);
}

}  // namespace microseg
