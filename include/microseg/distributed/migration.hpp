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

}  // namespace microseg::distributed
