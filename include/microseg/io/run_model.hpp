#pragma once
/// \file Reading a saved run (DIR/segments.h5) as a later run or `microseg assign` needs it: its
/// features and scaling model, its centroids and their stable ids, the id counter, and its
/// per-customer assignments.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/join_by_id.hpp"

namespace microseg::io {

/// The model of a saved run. Rows of `centroids` are its segments, labelled by identity.ids.
/// The macro level of a two-level run's model (/model/macro, /model/macro_of_segment).
struct MacroModel {
  CentroidMatrix centroids;                    ///< macro_k × d in the run's scaled space
  SegmentIdentity identity;                    ///< stable ids of the macro segments
  std::vector<std::int64_t> macro_of_segment;  ///< per micro row, its macro segment's stable id
  /// sqrt(/macro/quality inertia / customers): the unit of the macro level's matching cut-off.
  double customer_spread = 0;
};

struct RunModel {
  std::string directory;
  std::string file;  ///< directory/segments.h5
  std::vector<std::string> feature_names;
  ScalingModel scaling;
  FeatureTransform transform;  ///< /model/transform: how the features are made from the input
  CentroidMatrix centroids;    ///< k × d in the run's scaled space
  SegmentIdentity identity;
  std::vector<std::int64_t> sizes;              ///< customers per segment
  std::string value_feature;                    ///< "" when the run had no value feature
  std::vector<double> value_total, value_mean;  ///< per segment; empty without a value feature
  std::int64_t customers = 0;                   ///< rows of /assignments
  bool assignments_have_value = false;          ///< /assignments/value exists
  /// Root-mean-square distance of a customer to its centroid in the run's scaled space:
  /// sqrt(/quality inertia / customers). The unit of the default matching cut-off.
  double customer_spread = 0;
  std::optional<MacroModel> macro;  ///< a two-level run's macro level

  int k() const { return static_cast<int>(centroids.rows()); }
  /// The model with its feature columns in the order of `names` (a permutation of its own).
  /// Throws InputError listing the differences when the sets differ.
  RunModel with_feature_order(const std::vector<std::string>& names) const;
};

/// Reads the model of the run in `directory` on the calling rank (plain, non-collective HDF5:
/// the datasets are small). Throws InputError naming the directory, file and dataset when the
/// run is missing, was written without a model (/model/scaling), or is inconsistent.
RunModel read_run_model(const std::string& directory);

/// Collective: rows [rows.begin, rows.end) of the run's /assignments (id, segment, distance and
/// value when recorded) as join records. Throws InputError (every rank alike) on a read failure.
std::vector<distributed::PreviousAssignment> read_run_assignments(const RunModel& model,
                                                                  RowRange rows, MPI_Comm comm);

}  // namespace microseg::io
