#include "microseg/core/lloyd_step.hpp"

#include <stdexcept>

#include "microseg/core/pruned_assignment.hpp"

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

}  // namespace

std::string to_string(LloydStepKind kind) {
  switch (kind) {
    case LloydStepKind::automatic:
      return "auto";
    case LloydStepKind::plain:
      return "plain";
    case LloydStepKind::pruned:
      return "pruned";
  }
  throw std::invalid_argument("to_string: invalid LloydStepKind");
}

LloydStepKind parse_lloyd_step(const std::string& text) {
  for (LloydStepKind kind :
       {LloydStepKind::automatic, LloydStepKind::plain, LloydStepKind::pruned}) {
    if (to_string(kind) == text) return kind;
  }
  throw InputError("option --lloyd: invalid value '" + text + "' (expected auto, plain or pruned)");
}

LloydStepKind choose_lloyd_step(int k, int d) {
  // Measured with bench/lloyd_step_bench at d = 8, 16, 24, 32, 64, 128 (docs/benchmarks.md, "Plain
  // or pruned Lloyd"): a plain step costs k·d per row, the bounds' bookkeeping about the same per
  // row whatever k·d, so the crossover follows k·d. Pruned with k·d >= 2048 and k >= 64 was never
  // slower than plain on clustered or unclustered data (worst 1.00x at d = 8, k = 256); below
  // k = 64 it lost on unclustered data even at large d (0.82x at d = 128, k = 16; 0.88x at d =
  // 64, k = 32), and at k·d = 1536 (d = 24, k = 64) it lost 0.79x there.
  return k >= 64 && static_cast<std::int64_t>(k) * d >= 2048 ? LloydStepKind::pruned
                                                             : LloydStepKind::plain;
}

int pruning_groups(int k) {
  // Measured as above: one bound (Hamerly) was fastest up to k = 128; at k = 256 two groups were
  // the best on clustered and unclustered data; at k = 512 two and four tied, and at k = 1000
  // four were ahead (1.04x clustered, 1.12x unclustered) once the bookkeeping got cheaper;
  // eight never won. More groups prune more, but each costs per-row bookkeeping.
  if (k >= 512) return 4;
  return k >= 256 ? 2 : 1;
}

LloydStep::LloydStep(const LloydRows& rows)
    : rows_(rows),
      labels_(static_cast<std::size_t>(rows.features.rows()), -1),
      squared_distances_(labels_.size()) {}

std::unique_ptr<LloydStep> make_lloyd_step(LloydStepKind kind, const LloydRows& rows, int k) {
  const int d = static_cast<int>(rows.features.cols());
  if (kind == LloydStepKind::automatic) kind = choose_lloyd_step(k, d);
  if (kind == LloydStepKind::pruned) {
    return std::make_unique<PrunedLloydStep>(rows, k, pruning_groups(k));
  }
  return std::make_unique<PlainLloydStep>(rows);
}

}  // namespace microseg
