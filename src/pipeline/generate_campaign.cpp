// `microseg generate campaign`: arms, conversions and revenue drawn per customer id.
#include "microseg/pipeline/generate_campaign.hpp"

#include <algorithm>
#include <cmath>

#include "microseg/core/random.hpp"
#include "microseg/io/campaign_file.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/io/run_model.hpp"

namespace microseg::pipeline {
namespace {

using distributed::Communicator;

// Collective: the uplift of every planted segment (a single value repeated), checked against
// the table's planted segments and the base rate.
std::vector<double> uplift_per_segment(const Communicator& comm, const CampaignPlan& plan,
                                       const io::PlantedBlock& block, int& segments) {
  std::int64_t highest = -1;
  for (std::int32_t planted : block.planted) highest = std::max<std::int64_t>(highest, planted);
  segments = static_cast<int>(comm.max(highest) + 1);
  std::vector<double> uplift = plan.uplift;
  if (uplift.size() == 1) uplift.assign(static_cast<std::size_t>(std::max(segments, 1)), uplift[0]);
  if (static_cast<int>(uplift.size()) != segments) {
    comm.agree("option --uplift: " + std::to_string(plan.uplift.size()) +
               " values for a table with " + std::to_string(segments) +
               " planted segments (give one value, or one per planted segment)");
  }
  for (std::size_t s = 0; s < uplift.size(); ++s) {
    const double rate = plan.base_rate + uplift[s];
    if (!(rate >= 0 && rate <= 1)) {
      comm.agree("option --uplift: planted segment " + std::to_string(s) + " would convert at " +
                 std::to_string(rate) +
                 " when treated (--base-rate plus its uplift must lie in "
                 "[0, 1])");
    }
  }
  return uplift;
}

}  // namespace

CampaignResult generate_campaign(const Communicator& comm, const CampaignPlan& plan) {
  io::RunModel model;
  CampaignResult result;
  comm.run_agreed([&] {
    model = io::read_run_model(plan.run);
    result.input = plan.input.empty() ? io::manifest_input_path(plan.run) : plan.input;
  });
  const RowRange rows = distributed::block_of_rows(model.customers, comm.rank(), comm.size());
  std::vector<distributed::PreviousAssignment> records;
  io::PlantedBlock block;
  comm.run_agreed([&] {
    records = io::read_run_assignments(model, rows, comm.native());
    block = io::read_planted_block(result.input, rows, model.customers, comm.native());
  });
  bool same_ids = true;
  for (std::size_t i = 0; i < records.size(); ++i)
    same_ids = same_ids && records[i].id == block.ids[i];
  if (!comm.all(same_ids)) {
    comm.agree("input file '" + result.input + "' is not the table run '" + plan.run +
               "' segmented: its /customers/id differ from the run's /assignments/id");
  }
  const std::vector<double> uplift = uplift_per_segment(comm, plan, block, result.planted_segments);

  io::CampaignRows campaign;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto key = static_cast<std::uint64_t>(records[i].id);
    const bool treated =
        keyed_uniform(plan.seed, RandomStream::campaign, key, 0) < plan.treatment_share;
    const double rate =
        plan.base_rate + (treated ? uplift[static_cast<std::size_t>(block.planted[i])] : 0.0);
    const bool converted = keyed_uniform(plan.seed, RandomStream::campaign, key, 1) < rate;
    // Exponential revenue with the given mean, in cents.
    const double draw = keyed_uniform(plan.seed, RandomStream::campaign, key, 2);
    const double revenue =
        converted ? std::round(-plan.revenue_mean * std::log1p(-draw) * 100) / 100 : 0.0;
    campaign.ids.push_back(records[i].id);
    campaign.treated.push_back(treated);
    campaign.converted.push_back(converted);
    campaign.revenue.push_back(revenue);
    result.treated += treated;
    result.converted += converted;
  }
  result.customers = model.customers;
  result.treated = comm.sum(result.treated);
  result.converted = comm.sum(result.converted);
  comm.run_agreed([&] { io::write_campaign_csv(plan.output, comm.native(), campaign); });
  return result;
}

}  // namespace microseg::pipeline
