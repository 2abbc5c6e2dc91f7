#pragma once
// Private to src/pipeline: the stages of `microseg forecast` that join customers by id across
// runs (forecast_churn.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/markov_chain.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/forecast_runs.hpp"

namespace microseg::pipeline::detail {

/// The moved-down customers' loss multiplier, estimated from links 2 … n−1 of the chain: the
/// losses in link t of the customers run t−1 flagged at risk against the others' (standardised
/// by each segment's loss rate in that link). nullopt, with `note` saying why, when it cannot be.
struct HazardEstimate {
  std::optional<double> multiplier;
  AtRiskLosses losses;
  std::string note;
};
HazardEstimate estimate_hazard(const distributed::Communicator& comm,
                               const std::vector<io::ChainRun>& runs);

/// This rank's block of the last run's customers with their moved-down flag (an at-risk move in
/// the last run's /migration/at_risk, joined by id).
struct LastRunCustomers {
  RowRange rows;
  io::IdSegmentRows assignments;
  std::vector<std::int8_t> moved_down;
};
LastRunCustomers read_last_run_customers(const distributed::Communicator& comm,
                                         const io::ChainRun& last);

}  // namespace microseg::pipeline::detail
