#pragma once
/// \file Comparison with a previous run: the distributed join by customer id, the migration
/// matrix reduced exactly across ranks, and each rank's customers who changed segment.
#include <cstdint>
#include <vector>

#include "microseg/core/migration.hpp"
#include "microseg/distributed/join_by_id.hpp"

namespace microseg::distributed {

/// This rank's customers in the current run, in input row order.
struct CurrentCustomers {
  RowRange rows;
  const std::vector<std::int64_t>* ids = nullptr;
  const std::vector<std::int32_t>* segments = nullptr;  ///< stable ids
  const std::vector<double>* distances = nullptr;
  const std::vector<double>* values = nullptr;  ///< the value feature; nullptr without one
  /// A two-level run's macro segments (stable ids); with MigrationSegments::
  /// previous_macro_of_segment the moves are flagged across or inside macro segments.
  const std::vector<std::int32_t>* macro_segments = nullptr;
};

/// The segments of both runs (identical on every rank).
struct MigrationSegments {
  std::vector<std::int64_t> previous_ids;  ///< stable ids of the previous run's segments
  std::vector<std::int64_t> current_ids;   ///< stable ids of this run's segments
  std::vector<double> drift;               ///< per current segment (NaN when unmatched)
  /// Per previous segment, the mean value a move out of it is judged against
  /// (core previous_segment_reference_values); empty without a value feature.
  std::vector<double> previous_reference_value;
  std::vector<double> current_value_mean;  ///< per current segment; empty without a value feature
  bool previous_values_recorded = false;   ///< the previous run holds /assignments/value
  /// Per previous segment, the stable id of its macro segment (a two-level previous run); empty
  /// otherwise.
  std::vector<std::int64_t> previous_macro_of_segment;
  bool list_moves = true;  ///< false: only the tables (the macro level lists no moves)
};

struct MigrationResult {
  MigrationReport report;   ///< the same on every rank
  CustomerMoves moves;      ///< this rank's movers, with their place in the global list
  AtRiskCustomers at_risk;  ///< this rank's at-risk movers, with their place in the global list
};

/// Collective. Joins `current` with `previous` (any share of the previous run's records per
/// rank) by customer id and reduces the migration matrix, flows, stability and moves. Throws
/// AgreedError when a previous record names a segment id the previous model does not have.
MigrationResult compare_with_previous(const Communicator& comm, const CurrentCustomers& current,
                                      const std::vector<PreviousAssignment>& previous,
                                      const MigrationSegments& segments);

/// Collective: compare_with_previous in steps, for a two-level run that needs the join before
/// its micro-segments have ids and computes both levels' tables from it. Joins `current`'s rows
/// and ids with `previous` after checking every record names one of `previous_ids`.
JoinedCustomers join_with_previous(const Communicator& comm, const CurrentCustomers& current,
                                   const std::vector<PreviousAssignment>& previous,
                                   const std::vector<std::int64_t>& previous_ids);

/// Collective: the migration of an existing join (compare_with_previous without the join).
MigrationResult migration_from_join(const Communicator& comm, const CurrentCustomers& current,
                                    const JoinedCustomers& joined,
                                    const MigrationSegments& segments);

/// Collective: customers of each previous segment (rows, in `previous_ids` order) by the group
/// their row is in now (`group_of_row`, 0 … groups − 1 per local row): previous_k × groups counts,
/// row-major, summed over ranks. Customers new in this run are not counted.
std::vector<std::int64_t> previous_by_group(const Communicator& comm, const JoinedCustomers& joined,
                                            const std::vector<std::int64_t>& previous_ids,
                                            const std::vector<std::int32_t>& group_of_row,
                                            int groups);

/// The join seen at the macro level: each record's segment replaced by its macro segment
/// (`previous_macro_of_segment`, per previous segment in `previous_ids` order) and its distance by
/// NaN (a run records no distance to its macro centre). Local.
JoinedCustomers previous_at_macro_level(const JoinedCustomers& joined,
                                        const std::vector<std::int64_t>& previous_ids,
                                        const std::vector<std::int64_t>& previous_macro_of_segment);

}  // namespace microseg::distributed
