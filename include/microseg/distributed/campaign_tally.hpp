#pragma once
/// \file A campaign's outcomes counted per segment of a run, across ranks: the outcome rows are
/// joined to the run's assignments by customer id with join_by_id (hash-partitioned, so the
/// counts do not depend on the rank count or on the order of either file), then counted per
/// segment and arm and summed over ranks. Revenue is summed exactly (core/exact_sum.hpp). Also
/// the retention of a previous run's segments in a later run, by the same join.
#include <array>
#include <cstdint>
#include <vector>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/join_by_id.hpp"

namespace microseg::distributed {

/// The arm of an outcome row.
enum class CampaignArm : std::int8_t { treated = 0, control = 1, other = 2 };

/// This rank's outcome rows (rows in rank order, ids unique over all ranks), parallel vectors.
struct OutcomeRows {
  RowRange rows;
  const std::vector<std::int64_t>* ids = nullptr;
  const std::vector<CampaignArm>* arms = nullptr;
  const std::vector<std::int8_t>* converted = nullptr;  ///< 0 or 1
  const std::vector<double>* revenue = nullptr;         ///< finite; null without revenue
};

/// Per segment of the run (in the order of `segment_ids`) and arm, over all ranks.
struct CampaignTally {
  /// [segment][arm] for arm treated (0) and control (1).
  std::vector<std::array<std::int64_t, 2>> customers, conversions;
  std::vector<std::array<double, 2>> revenue;  ///< exact sums; NaN without revenue
  std::int64_t unmatched_outcome_rows = 0;     ///< outcome ids that are no customer of the run
  std::int64_t customers_without_outcome = 0;  ///< run customers with no outcome row
  std::int64_t matched_other_group_rows = 0;   ///< matched rows whose group is neither arm
};

/// Collective. `run_records` is any share of the run's /assignments (each on one rank);
/// `segment_ids` the run's stable segment ids, ascending, the same on every rank.
CampaignTally tally_campaign(const Communicator& comm, const OutcomeRows& outcomes,
                             const std::vector<PreviousAssignment>& run_records,
                             const std::vector<std::int64_t>& segment_ids);

/// Per segment of a previous run (in the order of `previous_segment_ids`): its customers and how
/// many of them are customers of the current run too. Collective; `current_ids` is this rank's
/// block `rows` of the current run's ids, `previous_records` any share of the previous run's.
struct SegmentRetention {
  std::vector<std::int64_t> customers, retained;
};
SegmentRetention retention_by_segment(const Communicator& comm, RowRange rows,
                                      const std::vector<std::int64_t>& current_ids,
                                      const std::vector<PreviousAssignment>& previous_records,
                                      const std::vector<std::int64_t>& previous_segment_ids);

}  // namespace microseg::distributed
