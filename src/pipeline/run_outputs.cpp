// The stages after the fit that `segment` and `promote` share: measure, profile in original
// units, record the run and write it.
#include <filesystem>

#include "microseg/core/assignment.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "microseg/distributed/profiles.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/io/segments_file.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {

namespace {

// The macro level's summary: its centroids, profiles on the same original-unit rows, quality.
SegmentationSummary macro_summary(const distributed::Communicator& comm, const MeasureStage& stage,
                                  const FeatureMatrix& original) {
  const TwoLevelModel& model = *stage.two_level;
  const CentroidMatrix& centroids = model.macro_fit.model.centroids;
  SegmentationSummary summary;
  summary.feature_names = stage.input.feature_names;
  summary.centroids_scaled = centroids;
  summary.centroids_original =
      centroids_in_original_units(centroids, stage.prepared.transform.model);
  summary.profiles = distributed::profile_segments(comm, original, model.macro.segments,
                                                   static_cast<int>(centroids.rows()));
  summary.quality = model.macro.quality;
  return summary;
}

}  // namespace

MeasuredRun measure_and_profile(const distributed::Communicator& comm, MeasureStage stage) {
  distributed::enter_phase(comm, "metrics");
  PreparedCustomers& prepared = stage.prepared;
  MeasuredRun measured;
  measured.assignment = distributed::assign_and_measure(
      prepared.rows, stage.centroids, stage.sampling, std::move(stage.nearest), stage.keep_margins);
  SegmentationSummary& summary = measured.summary;
  const auto k = static_cast<int>(stage.centroids.rows());
  // The features in memory are the original-unit values when the transform is the identity
  // (x / 1 − 0 is x in float); otherwise their memory takes the original-unit columns, read
  // again, once they are done with.
  const bool identity = prepared.transform.model.is_identity();
  FeatureMatrix reread;
  if (!identity) {
    prepared.rows.release_features();
    reread = read_original_features(comm, stage.input, prepared);
  }
  const FeatureMatrix& original = identity ? prepared.rows.features() : reread;
  summary.profiles = distributed::profile_segments(comm, original, measured.assignment.segments, k,
                                                   prepared.rows.lloyd_weights());
  if (stage.two_level) measured.macro = macro_summary(comm, stage, original);
  prepared.rows.release_features();
  summary.feature_names = stage.input.feature_names;
  summary.centroids_scaled = stage.centroids;
  summary.centroids_original =
      centroids_in_original_units(stage.centroids, prepared.transform.model);
  summary.quality = measured.assignment.quality;
  return measured;
}

RunAttributes run_attributes(const distributed::Communicator& comm, const RunFacts& facts) {
  RunAttributes run;
  run.emplace_back("configuration", facts.configuration);
  run.emplace_back("job_file", facts.job_file);
  run.emplace_back("seed", static_cast<std::int64_t>(facts.seed));
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("customers", facts.customers);
  run.emplace_back("dropped_customers", facts.dropped_customers);
  run.emplace_back("k", facts.k);
  run.emplace_back("segments", facts.segments < 0 ? facts.k : facts.segments);
  run.emplace_back("merged_segments", facts.merged_segments);
  run.emplace_back("iterations", facts.iterations);
  run.emplace_back("converged", static_cast<std::int64_t>(facts.converged));
  run.emplace_back("restarts", facts.restarts);
  run.emplace_back("best_restart", facts.best_restart);
  run.emplace_back("previous_run", facts.previous_run);
  run.emplace_back("warm_start", static_cast<std::int64_t>(facts.warm_start));
  if (facts.macro_k > 0) {  // two-level runs only: flat runs record what they always did
    run.emplace_back("macro_k", facts.macro_k);
    run.emplace_back("micro_k_rule", facts.micro_k_rule);
  }
  if (!facts.sample_weight.empty()) run.emplace_back("sample_weight", facts.sample_weight);
  for (const auto& [library, version] : library_versions()) {
    run.emplace_back("version_" + library, version);
  }
  return run;
}

WrittenRun write_run(const distributed::Communicator& comm, const RunWrite& run) {
  distributed::mark_phase("write");  // the stage "write" is reached in PendingOutputs::commit
  comm.run_agreed([&] {
    io::write_segmentation(run.output, comm.native(), run.summary, run.assignments, run.outputs);
  });
  remove_run_manifest(comm, run.output);
  WrittenRun written;
  // The finished outputs supersede a checkpoint; one left behind would only be refused or, with
  // --resume, refit what is already there.
  const std::filesystem::path checkpoint = std::filesystem::path(run.output) / "checkpoint.h5";
  std::error_code ignored;
  if (run.remove_checkpoint && comm.is_root() && std::filesystem::remove(checkpoint, ignored)) {
    written.removed_checkpoint = checkpoint.string();
  }
  io::RunManifest manifest;
  manifest.command = run.command;
  const io::MacroOutputs* macro = run.outputs.macro;
  manifest.outputs =
      io::segmentation_files(run.output, run.outputs.migration != nullptr, macro != nullptr,
                             macro && macro->migration, run.outputs.assignments_csv);
  manifest.input = run.input;
  manifest.input_fingerprint = run.input_fingerprint;
  manifest.configuration = parse_fields(run.configuration);
  manifest.options = run.options;
  manifest.references = run.references;
  manifest.privacy = run.privacy;
  if (macro && macro->migration) {
    const MigrationStability& micro = run.outputs.migration->stability;
    const MigrationStability& top = macro->migration->stability;
    manifest.migration = {{"common_customers", micro.common},
                          {"stayed_customers", micro.stayed},
                          {"moved_customers", micro.moved},
                          {"moved_within_macro_customers", micro.moved_within_macro},
                          {"moved_across_macro_customers", micro.moved_across_macro},
                          {"macro_stayed_customers", top.stayed},
                          {"macro_moved_customers", top.moved}};
  }
  write_run_manifest(comm, run.output, manifest);
  written.files = manifest.outputs;
  written.files.push_back((std::filesystem::path(run.output) / "manifest.json").string());
  return written;
}

}  // namespace microseg::pipeline::detail
