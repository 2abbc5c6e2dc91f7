#pragma once
// Private to src/io: the parts of a run's output that write_segmentation (segments_file.cpp)
// puts together: one writer per group of segments.h5 (segments_groups.cpp) and one per CSV file
// (segments_csv.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/io/segments_file.hpp"
#include "output_file.hpp"

namespace microseg::io::detail {

/// What a run writes, as write_segmentation received it.
struct SegmentationContent {
  const SegmentationSummary& summary;
  const AssignmentBlock& assignments;
  const RunOutputs& outputs;
};

/// The stable id of each segment row: the identity's ids, or the row numbers without one.
std::vector<std::int64_t> segment_labels(const SegmentationSummary& summary,
                                         const RunOutputs& outputs);

// Groups of segments.h5. Collective: every rank calls each alike; /assignments and the moves
// and at-risk tables of /migration are written by every rank for its rows, the rest by the root.
void write_assignments_group(const OutputGroup& root, const SegmentationContent& run);
void write_centroids_group(const OutputGroup& root, const SegmentationSummary& summary);
void write_profiles_group(const OutputGroup& root, const SegmentationContent& run);
void write_quality_group(const OutputGroup& root, const QualityReport& quality);
/// /model (with /model/scaling and /model/transform): needs the scaling and the identity.
void write_model_group(const OutputGroup& root, const SegmentationContent& run);
/// /migration: needs the migration and the moves.
void write_migration_group(const OutputGroup& root, const RunOutputs& outputs);
/// /macro: the macro level of a two-level run (outputs.macro).
void write_macro_group(const OutputGroup& root, const SegmentationContent& run);
/// /tree: a bisecting run's split tree, centres in the scaled space and, with a scaling, in
/// original units.
void write_tree_group(const OutputGroup& root, const SegmentationContent& run);

// CSV files: written by the root, except at_risk.csv. Each throws InputError naming the file.
void write_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                        const SegmentationContent& run);
void write_quality_csv(const PendingFile& file, const PendingOutputs& pending,
                       const QualityReport& quality);
/// macro_profiles.csv: the macro segments' profiles, as profiles.csv without the marketers'
/// columns.
void write_macro_profiles_csv(const PendingFile& file, const PendingOutputs& pending,
                              const SegmentationContent& run, const MacroOutputs& macro);
/// migration.csv (`label` "segment") or macro_migration.csv ("macro_segment"): the flows.
void write_migration_csv(const PendingFile& file, const PendingOutputs& pending,
                         const MigrationReport& migration, const std::string& label,
                         const PublicationRules& rules);
/// migration_matrix.csv or macro_migration_matrix.csv: the counts, rows headed "previous_" +
/// `label`.
void write_migration_matrix_csv(const PendingFile& file, const PendingOutputs& pending,
                                const MigrationMatrix& matrix, const std::string& label,
                                const PublicationRules& rules);
/// at_risk.csv without gathering it: collective, each rank writes its rows (`risk` may be null:
/// none). A failure is noted in `error` unless one came first (agreed later by the commit).
/// `migration` tells which segments the rules hide (their values are left blank).
void write_at_risk_csv(const PendingFile& file, const PendingOutputs& pending,
                       const AtRiskCustomers* risk, const MigrationReport& migration,
                       const PublicationRules& rules, std::optional<std::string>& error);

}  // namespace microseg::io::detail
