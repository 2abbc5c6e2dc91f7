#include <map>

#include "forecast_stages.hpp"
#include "microseg/distributed/join_by_id.hpp"

namespace microseg::pipeline::detail {
namespace {

// A run's list as join records: id and segment (the rest unused by the forecast).
std::vector<distributed::PreviousAssignment> as_records(const io::IdSegmentRows& rows) {
  std::vector<distributed::PreviousAssignment> records(rows.ids.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    records[i].id = rows.ids[i];
    records[i].segment = rows.segments[i];
  }
  return records;
}

io::IdSegmentRows read_block(const distributed::Communicator& comm, const io::ChainRun& run,
                             io::CustomerList list, RowRange& rows) {
  const std::int64_t total =
      list == io::CustomerList::assignments ? run.customers : run.at_risk_customers;
  rows = distributed::block_of_rows(total, comm.rank(), comm.size());
  io::IdSegmentRows block;
  comm.run_agreed([&] { block = io::read_id_segment_rows(run, list, rows, comm.native()); });
  return block;
}

// Link t (run t−1 → run t): who of run t−1's at-risk customers is missing in run t, against the
// losses each row of run t's /migration/counts predicts.
AtRiskLosses link_losses(const distributed::Communicator& comm, const io::ChainRun& flagged_run,
                         const io::ChainRun& run) {
  const MigrationLink& link = *run.link;
  const std::size_t rows = link.previous_ids.size(), width = link.current_ids.size() + 1;
  std::map<std::int64_t, std::size_t> row_of;
  for (std::size_t r = 0; r < rows; ++r) row_of[link.previous_ids[r]] = r;
  RowRange flagged_rows, current_rows;
  const io::IdSegmentRows flagged =
      read_block(comm, flagged_run, io::CustomerList::at_risk, flagged_rows);
  const io::IdSegmentRows current =
      read_block(comm, run, io::CustomerList::assignments, current_rows);
  const distributed::JoinedCustomers joined =
      distributed::join_by_id(comm, current_rows, current.ids, as_records(flagged));
  // Per row: flagged customers, and those of them lost (each counted on exactly one rank).
  std::vector<std::int64_t> at_risk(rows, 0), at_risk_lost(rows, 0);
  for (std::int32_t segment : flagged.segments) {
    const auto found = row_of.find(segment);
    if (found != row_of.end()) ++at_risk[found->second];
  }
  for (const auto& record : joined.missing_now) {
    const auto found = row_of.find(record.segment);
    if (found != row_of.end()) ++at_risk_lost[found->second];
  }
  comm.sum_in_place({&at_risk, &at_risk_lost});
  AtRiskLosses losses;
  for (std::size_t r = 0; r < rows; ++r) {
    double total = 0;
    for (std::size_t c = 0; c < width; ++c)
      total += static_cast<double>(link.counts[r * width + c]);
    if (total <= 0) continue;
    const double lost = static_cast<double>(link.counts[r * width + width - 1]);
    const double rate = lost / total;
    losses.observed_at_risk += static_cast<double>(at_risk_lost[r]);
    losses.expected_at_risk += static_cast<double>(at_risk[r]) * rate;
    losses.observed_other += lost - static_cast<double>(at_risk_lost[r]);
    losses.expected_other += (total - static_cast<double>(at_risk[r])) * rate;
  }
  return losses;
}

}  // namespace

HazardEstimate estimate_hazard(const distributed::Communicator& comm,
                               const std::vector<io::ChainRun>& runs) {
  HazardEstimate estimate;
  if (runs.size() < 3) {
    estimate.note = "the chain has " + std::to_string(runs.size()) +
                    " runs; the moved-down effect needs at least 3 (a flag in one link and the "
                    "losses of the next), so moved-down customers get no adjustment";
    return estimate;
  }
  for (std::size_t t = 2; t < runs.size(); ++t) {
    estimate.losses += link_losses(comm, runs[t - 1], runs[t]);
  }
  estimate.multiplier = hazard_multiplier(estimate.losses);
  if (!estimate.multiplier) {
    estimate.note =
        "the moved-down effect cannot be estimated (no customer was flagged at risk before a "
        "later link, or no other customer was lost), so moved-down customers get no adjustment";
  }
  return estimate;
}

LastRunCustomers read_last_run_customers(const distributed::Communicator& comm,
                                         const io::ChainRun& last) {
  LastRunCustomers customers;
  customers.assignments = read_block(comm, last, io::CustomerList::assignments, customers.rows);
  RowRange flagged_rows;
  const io::IdSegmentRows flagged = read_block(comm, last, io::CustomerList::at_risk, flagged_rows);
  const distributed::JoinedCustomers joined =
      distributed::join_by_id(comm, customers.rows, customers.assignments.ids, as_records(flagged));
  customers.moved_down.resize(customers.assignments.ids.size());
  for (std::size_t i = 0; i < customers.moved_down.size(); ++i) {
    customers.moved_down[i] = joined.previous[i].segment >= 0 ? 1 : 0;
  }
  return customers;
}

}  // namespace microseg::pipeline::detail
