#pragma once
// Private to src/pipeline: reading a campaign's outcome table for `microseg evaluate`, each rank
// a block of lines, with every problem agreed between ranks.
#include <cstdint>
#include <vector>

#include "microseg/distributed/campaign_tally.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/evaluate.hpp"

namespace microseg::pipeline::detail {

/// This rank's outcome rows, in file order, and what was found in the whole table.
struct OutcomeTable {
  RowRange rows;  ///< global data-row numbers, rows in rank order
  std::vector<std::int64_t> ids;
  std::vector<distributed::CampaignArm> arms;
  std::vector<std::int8_t> converted;
  std::vector<double> revenue;  ///< empty without a revenue column
  OutcomeProblems problems;     ///< rows and the group problems (the join adds the rest)
  std::int64_t treated_rows = 0, control_rows = 0;
};

/// Collective. Throws (every rank alike) for a missing file or column, a malformed row (naming
/// file, line and column), a duplicate id (naming it and its lines), or an empty treatment or
/// control group.
OutcomeTable read_outcome_table(const distributed::Communicator& comm, const EvaluatePlan& plan);

}  // namespace microseg::pipeline::detail
