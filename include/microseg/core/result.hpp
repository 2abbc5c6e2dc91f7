#pragma once
/// \file What a segmentation run produces besides the per-customer assignments.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "microseg/core/profile.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

/// Quality of the final model (NaN where a metric is undefined, e.g. CH and DB at k = 1).
struct QualityReport {
  double inertia = 0;
  double calinski_harabasz = 0;
  double davies_bouldin = 0;
  double silhouette_simplified = 0;
  double silhouette_sampled = 0;
  std::int64_t silhouette_sample_size = 0;
};

/// A named attribute of a run, written as an HDF5 attribute of /run.
using AttributeValue = std::variant<std::string, double, std::int64_t>;
using RunAttributes = std::vector<std::pair<std::string, AttributeValue>>;

/// Everything segments.h5 holds except /assignments, which stays distributed.
struct SegmentationSummary {
  std::vector<std::string> feature_names;
  CentroidMatrix centroids_scaled, centroids_original;
  SegmentProfiles profiles;
  QualityReport quality;
  RunAttributes run;
};

/// The rows of /assignments one rank holds, in input order.
struct AssignmentBlock {
  RowRange rows;
  std::int64_t total_rows = 0;
  const std::vector<std::int64_t>* ids = nullptr;
  const std::vector<std::int32_t>* segments = nullptr;
  const std::vector<double>* distances = nullptr;
};

}  // namespace microseg
