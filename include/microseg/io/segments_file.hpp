#pragma once
/// \file Writing a run's outputs: DIR/segments.h5, DIR/profiles.csv and DIR/quality.csv, and
/// with a previous run DIR/migration.csv and DIR/migration_matrix.csv (and at the macro level of
/// two two-level runs DIR/macro_migration.csv and DIR/macro_migration_matrix.csv).
///
/// Files are written under temporary names in the output directory and renamed into place only
/// when every file is complete, so a failed run never leaves a file that looks complete.
#include <mpi.h>

#include <string>
#include <vector>

#include "microseg/core/external_ids.hpp"
#include "microseg/core/feature_transform.hpp"
#include "microseg/core/migration.hpp"
#include "microseg/core/publication.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/segment_description.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/split_tree.hpp"

namespace microseg::io {

/// Checks that `directory` exists or can be created and that a file can be written in it.
/// Throws InputError naming the directory otherwise. Call on one rank.
void ensure_writable_directory(const std::string& directory);

/// The files write_segmentation writes into `directory` (with the migration ones or not), in
/// the order a manifest lists them.
std::vector<std::string> segmentation_files(const std::string& directory, bool with_migration,
                                            bool with_macro = false,
                                            bool with_macro_migration = false,
                                            bool with_assignments_csv = false);

/// The macro level of a two-level run: the macro segments' summary and ids, each customer's
/// macro segment, and the macro segment of each micro-segment (docs/file-format.md, "/macro").
struct MacroOutputs {
  const SegmentationSummary* summary = nullptr;  ///< centroids, profiles and quality (run unused)
  const SegmentIdentity* identity = nullptr;     ///< stable ids of the macro segments
  /// This rank's rows of /assignments/macro_segment (stable macro ids), as the assignments.
  const std::vector<std::int32_t>* labels = nullptr;
  /// Per micro-segment row (the summary's rows), the stable id of its macro segment.
  const std::vector<std::int64_t>* macro_of_segment = nullptr;
  /// With a two-level previous run: the macro level's migration (/migration/macro_*,
  /// macro_migration*.csv) and its match (fresh and retired macro ids); null otherwise.
  const MigrationReport* migration = nullptr;
  const SegmentMatch* match = nullptr;
};

/// What a run writes besides SegmentationSummary: the model a later run or `microseg assign`
/// continues from, the profiles for marketers, and the comparison with a previous run. Null
/// members are not written. Rows follow the summary's segments (centroid rows).
struct RunOutputs {
  const ScalingModel* scaling = nullptr;           ///< /model/scaling
  const FeatureTransform* transform = nullptr;     ///< /model/transform
  const SegmentIdentity* identity = nullptr;       ///< /model ids; labels of /profiles rows
  const ActionableProfiles* actionable = nullptr;  ///< /profiles additions, profiles.csv columns
  /// This rank's rows of /assignments/value (the value feature), parallel to the assignments.
  const std::vector<double>* values = nullptr;
  const MigrationReport* migration = nullptr;  ///< /migration, migration*.csv
  const CustomerMoves* moves = nullptr;        ///< this rank's rows of /migration/moves
  /// This rank's rows of /migration/at_risk and at_risk.csv (with a migration; may be null
  /// without a value feature, then both are written empty).
  const AtRiskCustomers* at_risk = nullptr;
  const SegmentMatch* match = nullptr;  ///< fresh and retired ids of this run
  std::string previous_run;             ///< the --previous directory
  const MacroOutputs* macro = nullptr;  ///< /macro, macro_profiles.csv: a two-level run
  /// /tree: a bisecting run's split tree; its leaves are the segment rows (SplitTree::segment).
  const SplitTree* tree = nullptr;
  /// DIR/assignments.csv (--assignments-csv); without it one left by an earlier run is removed.
  bool assignments_csv = false;
  /// This rank's margins (second-nearest minus nearest distance), the CSV's margin column; null:
  /// no such column.
  const std::vector<double>* margins = nullptr;
  /// This rank's rows of /assignments/external_id (the input's /customers/external_id), parallel
  /// to the assignments; null when the input has none.
  const ExternalIds* external_ids = nullptr;
  /// What the shared CSV files may show: segments and migration cells below the minimum count
  /// suppressed, ids pseudonymised with a key (segments.h5 keeps every number and id).
  PublicationRules publication;
};

/// Writes segments.h5, profiles.csv and quality.csv into `directory`. Collective over `comm`:
/// every rank writes its block of /assignments; rank 0 writes the rest and renames the
/// temporary files into place after all ranks have finished.
void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments);

/// The same with a run's model, actionable profiles and migration (docs/file-format.md).
/// `moves` and `values`, when given, must be given on every rank.
void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments,
                        const RunOutputs& outputs);

}  // namespace microseg::io
