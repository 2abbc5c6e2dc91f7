#pragma once
/// \file What a run's segments.h5 holds besides /assignments, built from a fitted model: the
/// measure and profile stages, and the /run attributes every run records. Shared by the commands
/// that write a full run's outputs (`microseg promote`; `microseg segment` can use it too).
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/result.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/segmentation.hpp"

namespace microseg::app {

/// The final assignment of every row and the summary of the model (run attributes empty).
struct MeasuredSegmentation {
  SegmentationSummary summary;
  distributed::FinalAssignment assignment;
};

/// Collective: assigns the rows to `centroids` (scaled space) and measures quality (exact
/// silhouette on a uniform sample of `silhouette_sample` keyed by `seed`), profiles the segments
/// in original units and maps the centroids back, as `microseg segment` does after fitting.
MeasuredSegmentation measure_segmentation(const distributed::Communicator& comm,
                                          const FeatureMatrix& scaled, RowRange rows,
                                          const std::vector<std::string>& feature_names,
                                          const CentroidMatrix& centroids,
                                          const distributed::FittedTransform& transform,
                                          std::int64_t silhouette_sample, std::uint64_t seed);

/// The facts of a fit that /run records.
struct RunFacts {
  std::string configuration;  ///< the effective options as job-file text
  std::string job_file;
  std::uint64_t seed = 0;
  std::int64_t customers = 0;
  std::int64_t k = 0;
  std::int64_t iterations = 0;
  bool converged = false;
  std::int64_t restarts = 1;
  std::int64_t best_restart = 0;
  std::int64_t dropped_customers = 0;  ///< left out for missing values (--missing drop)
  std::int64_t segments = -1;          ///< after --merge-small; −1: k
  std::int64_t merged_segments = 0;
  std::string previous_run;  ///< --previous
  bool warm_start = false;
};

/// The /run attributes every full run writes before its timings: the facts, the rank count and
/// the library versions (version_microseg, version_mpi, …).
RunAttributes run_attributes(const distributed::Communicator& comm, const RunFacts& facts);

}  // namespace microseg::app
