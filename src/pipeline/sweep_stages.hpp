#pragma once
// Private to src/pipeline: what the flat sweep and the two-level sweep (--macro-k) share, and the
// two-level sweep itself: one macro fit, then each k's micro fits on it.
#include <optional>
#include <string>
#include <vector>

#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/distributed/quality.hpp"
#include "microseg/io/sweep_file.hpp"
#include "microseg/pipeline/sweep.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline {

/// SIGUSR1 or SIGTERM (Slurm's time-limit and preemption signals) stop a fit at the next
/// iteration the ranks agree on. A sweep keeps no checkpoint inside a k: the k values already
/// finished are saved models, and the rerun fits only the others.
distributed::FitControl stop_on_signal();

/// Collective: the columns of a sweep's row but stability, measured on the final assignment to
/// model.centroids (k = its rows): the quality, the stratified silhouette and the sizes.
void measure_sweep_row(const SweepPlan& plan, const PreparedCustomers& prepared,
                       const distributed::FinalAssignment& final_assignment, io::SweepModel& model);

/// `sweep --macro-k M`: the macro fit of `segment --macro-k M` (same seeds and settings) made
/// once, then for each k the share of k of every macro segment (--micro-k-rule), the micro fits
/// of `segment --macro-k M --k K` and the measures of the micro level over all customers.
class TwoLevelSweep {
 public:
  TwoLevelSweep(const SweepPlan& plan, const InspectedInput& input,
                const PreparedCustomers& prepared);

  /// Collective: the macro fit and its final assignment. Throws FitInterrupted on a stop.
  void fit_macro_level(const SweepProgress& progress);

  /// Collective, after fit_macro_level: one model file's content for k.
  io::SweepModel fit_and_measure(int k);

 private:
  double stability(const detail::TwoLevelModel& model, int k) const;
  double stability_of_halves(const detail::TwoLevelModel& model, int k) const;
  void record(const detail::TwoLevelModel& model, io::SweepModel& saved) const;

  const SweepPlan& plan_;
  const PreparedCustomers& prepared_;
  SegmentPlan segment_plan_;  // the `segment --macro-k` run whose fits these are
  detail::SegmentInputs inputs_;
  std::optional<detail::TwoLevelModel> macro_;  // the macro fit and its assignment
  std::vector<std::int64_t> macro_sizes_;
};

}  // namespace microseg::pipeline
