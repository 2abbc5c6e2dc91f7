#include "microseg/app/run_summary.hpp"

#include "microseg/app/provenance.hpp"

namespace microseg::app {

MeasuredSegmentation measure_segmentation(const distributed::Communicator& comm,
                                          const FeatureMatrix& scaled, RowRange rows,
                                          const std::vector<std::string>& feature_names,
                                          const CentroidMatrix& centroids,
                                          const distributed::FittedTransform& transform,
                                          std::int64_t silhouette_sample, std::uint64_t seed) {
  MeasuredSegmentation measured;
  measured.assignment =
      distributed::assign_and_measure(comm, scaled, rows, centroids, silhouette_sample, seed);
  SegmentationSummary& summary = measured.summary;
  summary.feature_names = feature_names;
  summary.centroids_scaled = centroids;
  summary.centroids_original = distributed::centroids_in_original_units(centroids, transform.model);
  summary.profiles = distributed::profile_segments(comm, scaled, measured.assignment.segments,
                                                   static_cast<int>(centroids.rows()), transform);
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

}  // namespace microseg::app
