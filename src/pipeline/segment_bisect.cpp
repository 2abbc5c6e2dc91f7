// The fit stage of `segment --method bisecting`: the split tree grown to k leaves
// (distributed::fit_bisecting), each split's 2-means seeded by the run's policy, and its leaves
// handed on as the model the final assignment, profiles and comparison use.
#include <iomanip>
#include <sstream>

#include "microseg/distributed/bisecting_fit.hpp"
#include "microseg/pipeline/stop_signal.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {
namespace {

std::string split_line(const distributed::SplitReport& r) {
  std::ostringstream line;
  line << "split " << std::setw(4) << r.split << "  node " << r.node << " -> " << r.sizes[0]
       << " + " << r.sizes[1] << " customers, inertia " << std::setprecision(8) << r.inertias[0]
       << " + " << r.inertias[1] << ", " << r.iterations << " iterations, " << std::fixed
       << std::setprecision(3) << r.seconds << " s";
  return line.str();
}

}  // namespace

SegmentFit bisect_segments(const distributed::Communicator& comm, const FitStage& stage) {
  const std::string no_checkpoint =
      "; bisecting runs keep no checkpoint (--checkpoint-every and --resume are for --method "
      "kmeans): run again to start over";
  if (stop_agreed(comm)) {
    throw distributed::FitInterrupted(stopped_on_signal(comm) + " before the fit started" +
                                      no_checkpoint);
  }
  distributed::BisectingSettings settings;
  settings.k = stage.inputs.k;
  settings.strategy = stage.plan.bisect;
  settings.split = fit_settings(stage);
  distributed::BisectingControl control;
  int splits_done = 0;
  control.on_split = [&](const distributed::SplitReport& report) {
    splits_done = report.split + 1;
    if (stage.progress.note) stage.progress.note(split_line(report));
  };
  control.stop_requested = [] { return stop_signal_received() != 0; };
  try {
    distributed::BisectingOutcome bisected = distributed::fit_bisecting(
        stage.prepared.rows, *distributed::make_seeding(stage.plan.init), settings, control);
    SegmentFit fit;
    fit.outcome.model = std::move(bisected.model);
    fit.outcome.seconds_init = bisected.seconds_init;
    fit.outcome.seconds_iterate = bisected.seconds_iterate;
    fit.tree = std::move(bisected.tree);
    return fit;
  } catch (const distributed::FitInterrupted&) {
    throw distributed::FitInterrupted(stopped_on_signal(comm) + " after " +
                                      std::to_string(splits_done) + " of " +
                                      std::to_string(settings.k - 1) + " splits" + no_checkpoint);
  }
}

}  // namespace microseg::pipeline::detail
