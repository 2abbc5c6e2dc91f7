#include "microseg/distributed/campaign_tally.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace microseg::distributed {
namespace {

// The position of a stable segment id in the ascending `segment_ids`, or −1.
std::int64_t segment_index(const std::vector<std::int64_t>& segment_ids, std::int64_t id) {
  const auto at = std::lower_bound(segment_ids.begin(), segment_ids.end(), id);
  return at != segment_ids.end() && *at == id ? at - segment_ids.begin() : -1;
}

// The grid revenue is summed on: its largest magnitude over all ranks and all rows.
FixedPointFormat revenue_format(const Communicator& comm, const OutcomeRows& outcomes) {
  double bound = 0;
  if (outcomes.revenue) {
    for (double value : *outcomes.revenue) bound = std::max(bound, std::fabs(value));
  }
  const std::int64_t rows = comm.sum(static_cast<std::int64_t>(outcomes.ids->size()));
  return FixedPointFormat::for_bound(comm.max(bound), std::max<std::int64_t>(rows, 1));
}

}  // namespace

CampaignTally tally_campaign(const Communicator& comm, const OutcomeRows& outcomes,
                             const std::vector<PreviousAssignment>& run_records,
                             const std::vector<std::int64_t>& segment_ids) {
  const JoinedCustomers joined = join_by_id(comm, outcomes.rows, *outcomes.ids, run_records);
  const std::size_t k = segment_ids.size();
  const FixedPointFormat format = revenue_format(comm, outcomes);
  // Counts travel as one int64 vector: per segment treated customers, treated conversions,
  // control customers, control conversions; then the three problem counts.
  std::vector<std::int64_t> counts(4 * k + 3, 0);
  std::vector<ExactSum> revenue(2 * k, 0);
  for (std::size_t i = 0; i < outcomes.ids->size(); ++i) {
    const std::int64_t segment = joined.previous[i].segment < 0
                                     ? -1
                                     : segment_index(segment_ids, joined.previous[i].segment);
    const CampaignArm arm = (*outcomes.arms)[i];
    if (segment < 0) {
      ++counts[4 * k];
    } else if (arm == CampaignArm::other) {
      ++counts[4 * k + 2];
    } else {
      const auto s = static_cast<std::size_t>(segment);
      const std::size_t a = arm == CampaignArm::treated ? 0 : 1;
      ++counts[4 * s + 2 * a];
      counts[4 * s + 2 * a + 1] += (*outcomes.converted)[i];
      if (outcomes.revenue) revenue[2 * s + a] += format.to_fixed((*outcomes.revenue)[i]);
    }
  }
  counts[4 * k + 1] = static_cast<std::int64_t>(joined.missing_now.size());
  comm.sum_in_place(counts);
  comm.sum_in_place(revenue);

  CampaignTally tally;
  tally.customers.resize(k);
  tally.conversions.resize(k);
  tally.revenue.resize(k);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t s = 0; s < k; ++s) {
    for (std::size_t a = 0; a < 2; ++a) {
      tally.customers[s][a] = counts[4 * s + 2 * a];
      tally.conversions[s][a] = counts[4 * s + 2 * a + 1];
      tally.revenue[s][a] = outcomes.revenue ? format.to_double(revenue[2 * s + a]) : nan;
    }
  }
  tally.unmatched_outcome_rows = counts[4 * k];
  tally.customers_without_outcome = counts[4 * k + 1];
  tally.matched_other_group_rows = counts[4 * k + 2];
  return tally;
}

SegmentRetention retention_by_segment(const Communicator& comm, RowRange rows,
                                      const std::vector<std::int64_t>& current_ids,
                                      const std::vector<PreviousAssignment>& previous_records,
                                      const std::vector<std::int64_t>& previous_segment_ids) {
  const JoinedCustomers joined = join_by_id(comm, rows, current_ids, previous_records);
  const std::size_t k = previous_segment_ids.size();
  // Per previous segment: customers retained, then customers lost.
  std::vector<std::int64_t> counts(2 * k, 0);
  for (const PreviousAssignment& record : joined.previous) {
    const std::int64_t s =
        record.segment < 0 ? -1 : segment_index(previous_segment_ids, record.segment);
    if (s >= 0) ++counts[2 * static_cast<std::size_t>(s)];
  }
  for (const PreviousAssignment& record : joined.missing_now) {
    const std::int64_t s = segment_index(previous_segment_ids, record.segment);
    if (s >= 0) ++counts[2 * static_cast<std::size_t>(s) + 1];
  }
  comm.sum_in_place(counts);
  SegmentRetention retention;
  for (std::size_t s = 0; s < k; ++s) {
    retention.retained.push_back(counts[2 * s]);
    retention.customers.push_back(counts[2 * s] + counts[2 * s + 1]);
  }
  return retention;
}

}  // namespace microseg::distributed
