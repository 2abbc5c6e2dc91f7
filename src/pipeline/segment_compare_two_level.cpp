// The comparison of a two-level run with the previous run (docs/file-format.md, "Two levels and
// --previous"): the macro segments are matched as a one-level run's segments are, each previous
// micro-segment is matched inside the macro segment that holds most of its customers now, and
// the migration is counted at both levels from one join by customer id.
#include "microseg/core/segment_matching.hpp"
#include "microseg/distributed/migration.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {
namespace {

// Per local row, the stable id of its segment row.
std::vector<std::int32_t> stable_labels(const std::vector<std::int32_t>& rows,
                                        const SegmentIdentity& identity) {
  std::vector<std::int32_t> labels(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    labels[i] = static_cast<std::int32_t>(identity.ids[static_cast<std::size_t>(rows[i])]);
  }
  return labels;
}

// The ids of a run with nothing to match: 0 … k−1.
SegmentMatch first_run_match(int k) {
  SegmentMatch match;
  match.identity = SegmentIdentity::first_run(k);
  match.previous_row.assign(static_cast<std::size_t>(k), -1);
  return match;
}

// The macro segments' stable ids: matched to the previous run's macro segments, or a first run's
// when the previous run has no macro level.
SegmentMatch macro_stable_ids(const distributed::Communicator& comm, const CompareStage& stage) {
  const CentroidMatrix& centroids = stage.two_level->macro_fit.model.centroids;
  const auto& previous = stage.inputs.previous;
  if (!previous || !previous->macro) return first_run_match(static_cast<int>(centroids.rows()));
  const io::MacroModel& macro = *previous->macro;
  return stable_ids_of(comm, stage,
                       {centroids, macro.centroids, macro.identity, macro.customer_spread});
}

// Where each previous micro-segment looks for its partner: the current macro segment holding
// most of its customers (ties to the lower macro id); with none of them left, the macro segment
// that kept its previous macro segment's id, if any.
MatchGroups micro_groups(const distributed::Communicator& comm, const CompareStage& stage,
                         const distributed::JoinedCustomers& joined, const SegmentMatch& macro) {
  const TwoLevelModel& model = *stage.two_level;
  const io::RunModel& previous = *stage.inputs.previous;
  const std::vector<std::int64_t> counts = distributed::previous_by_group(
      comm, joined, previous.identity.ids, model.macro.segments, model.hierarchy.macro_k());
  std::vector<int> fallback(static_cast<std::size_t>(previous.k()), -1);
  if (previous.macro) {
    for (std::size_t p = 0; p < fallback.size(); ++p) {
      fallback[p] = macro.identity.row_of(previous.macro->macro_of_segment[p]);
    }
  }
  MatchGroups groups;
  groups.previous = candidate_groups(counts, previous.k(), macro.identity.ids, fallback);
  groups.current = model.hierarchy.macro_of_each();
  return groups;
}

// The macro level's migration: the same join seen through the previous run's macro segments.
// No moves are listed (the micro level's moves carry both macro segments) and none is at risk.
distributed::MigrationResult macro_migration(const distributed::Communicator& comm,
                                             const CompareStage& stage,
                                             const distributed::JoinedCustomers& joined,
                                             const MacroComparison& macro) {
  const io::RunModel& previous = *stage.inputs.previous;
  distributed::CurrentCustomers current = current_customers(stage, macro.stable_segments);
  current.distances = &stage.two_level->macro.distances;
  distributed::MigrationSegments segments;
  segments.previous_ids = previous.macro->identity.ids;
  segments.current_ids = macro.match.identity.ids;
  segments.drift = macro.match.drift;
  segments.previous_values_recorded = current.values &&
                                      previous.value_feature == stage.marketing.value_feature &&
                                      previous.assignments_have_value;
  segments.list_moves = false;
  return distributed::migration_from_join(
      comm, current,
      distributed::previous_at_macro_level(joined, previous.identity.ids,
                                           previous.macro->macro_of_segment),
      segments);
}

}  // namespace

Comparison compare_two_levels(const distributed::Communicator& comm, const CompareStage& stage,
                              const ActionableProfiles& actionable) {
  const TwoLevelModel& model = *stage.two_level;
  const CentroidMatrix& centroids = stage.measured.summary.centroids_scaled;
  const auto& previous = stage.inputs.previous;
  Comparison comparison;
  MacroComparison& macro = comparison.macro.emplace();
  macro.match = macro_stable_ids(comm, stage);
  macro.stable_segments = stable_labels(model.macro.segments, macro.match.identity);
  if (!previous) {
    comparison.match = first_run_match(static_cast<int>(centroids.rows()));
    comparison.stable_segments =
        stable_labels(stage.measured.assignment.segments, comparison.match.identity);
    return comparison;
  }
  // One join serves the grouping of the micro matching and the tables of both levels.
  distributed::CurrentCustomers current = current_customers(stage, comparison.stable_segments);
  const distributed::JoinedCustomers joined = distributed::join_with_previous(
      comm, current, previous_records(comm, *previous), previous->identity.ids);
  const MatchGroups groups = micro_groups(comm, stage, joined, macro.match);
  comparison.match = stable_ids_of(
      comm, stage, {centroids, previous->centroids, previous->identity, previous->customer_spread},
      &groups);
  comparison.stable_segments =
      stable_labels(stage.measured.assignment.segments, comparison.match.identity);
  distributed::MigrationSegments segments =
      migration_segments(*previous, comparison.match, actionable.value);
  if (previous->macro) {
    segments.previous_macro_of_segment = previous->macro->macro_of_segment;
    current.macro_segments = &macro.stable_segments;
  }
  comparison.migration = distributed::migration_from_join(comm, current, joined, segments);
  if (previous->macro) macro.migration = macro_migration(comm, stage, joined, macro);
  return comparison;
}

}  // namespace microseg::pipeline::detail
