// The stages after the fit that `segment` and `promote` share: measure, profile in original
// units, record the run and write it.
#include <filesystem>

#include "microseg/core/assignment.hpp"
#include "microseg/distributed/profiles.hpp"
#include "microseg/io/segments_file.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {

MeasuredRun measure_and_profile(const distributed::Communicator& comm, const InspectedInput& input,
                                PreparedCustomers& prepared, const CentroidMatrix& centroids,
                                const distributed::SilhouetteSampling& sampling,
                                std::optional<NearestTwo> nearest) {
  MeasuredRun measured;
  measured.assignment =
      distributed::assign_and_measure(prepared.rows, centroids, sampling, std::move(nearest));
  SegmentationSummary& summary = measured.summary;
  const auto k = static_cast<int>(centroids.rows());
  if (prepared.transform.model.is_identity()) {
    // The features in memory are the original-unit values (x / 1 − 0 is x in float).
    summary.profiles = distributed::profile_segments(comm, prepared.rows.features(),
                                                     measured.assignment.segments, k);
    prepared.rows.release_features();
  } else {
    // The scaled features are done with: their memory takes the original-unit columns instead.
    prepared.rows.release_features();
    const FeatureMatrix original = read_original_features(comm, input, prepared);
    summary.profiles =
        distributed::profile_segments(comm, original, measured.assignment.segments, k);
  }
  summary.feature_names = input.feature_names;
  summary.centroids_scaled = centroids;
  summary.centroids_original = centroids_in_original_units(centroids, prepared.transform.model);
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
  for (const auto& [library, version] : library_versions()) {
    run.emplace_back("version_" + library, version);
  }
  return run;
}

WrittenRun write_run(const distributed::Communicator& comm, const RunWrite& run) {
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
  manifest.outputs = io::segmentation_files(run.output, run.outputs.migration != nullptr);
  manifest.input = run.input;
  manifest.input_fingerprint = run.input_fingerprint;
  manifest.configuration = parse_fields(run.configuration);
  write_run_manifest(comm, run.output, manifest);
  written.files = manifest.outputs;
  written.files.push_back((std::filesystem::path(run.output) / "manifest.json").string());
  return written;
}

}  // namespace microseg::pipeline::detail
