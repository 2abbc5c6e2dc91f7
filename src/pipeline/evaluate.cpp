// `microseg evaluate`: outcomes joined to a run's segments, measured, written.
#include "microseg/pipeline/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "evaluate_outcomes.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/distributed/campaign_tally.hpp"
#include "microseg/io/evaluation_file.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/io/run_model.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/provenance.hpp"

namespace microseg::pipeline {
namespace {

using distributed::Communicator;

std::vector<std::int64_t> ascending_ids(const io::RunModel& model) {
  std::vector<std::int64_t> ids = model.identity.ids;
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Collective: this rank's block of a run's /assignments.
std::vector<distributed::PreviousAssignment> run_records(const Communicator& comm,
                                                         const io::RunModel& model) {
  std::vector<distributed::PreviousAssignment> records;
  comm.run_agreed([&] {
    records = io::read_run_assignments(
        model, distributed::block_of_rows(model.customers, comm.rank(), comm.size()),
        comm.native());
  });
  return records;
}

// Per segment and overall, from the counts summed over ranks.
void measure(const distributed::CampaignTally& tally, const std::vector<std::int64_t>& ids,
             const EvaluatePlan& plan, EvaluateResult& result) {
  ArmOutcome all_treated, all_control;
  all_treated.revenue = all_control.revenue = 0;
  for (std::size_t s = 0; s < ids.size(); ++s) {
    ArmOutcome treated{tally.customers[s][0], tally.conversions[s][0], tally.revenue[s][0]};
    ArmOutcome control{tally.customers[s][1], tally.conversions[s][1], tally.revenue[s][1]};
    result.segments.push_back({ids[s], measure_uplift(treated, control, plan.cost_per_contact)});
    for (auto [arm, all] : {std::pair{&treated, &all_treated}, std::pair{&control, &all_control}}) {
      all->customers += arm->customers;
      all->conversions += arm->conversions;
      all->revenue += arm->revenue;  // each sum is exact; these k terms are summed in id order
    }
  }
  result.overall = {-1, measure_uplift(all_treated, all_control, plan.cost_per_contact)};
}

// Collective: the retention of the previous run's segments among this run's customers.
std::vector<SegmentRetentionShare> retention(
    const Communicator& comm, const io::RunModel& run,
    const std::vector<distributed::PreviousAssignment>& now,
    const std::string& previous_directory) {
  io::RunModel previous;
  comm.run_agreed([&] { previous = io::read_run_model(previous_directory); });
  std::vector<std::int64_t> ids;
  for (const auto& record : now) ids.push_back(record.id);
  const RowRange rows = distributed::block_of_rows(run.customers, comm.rank(), comm.size());
  const std::vector<std::int64_t> segment_ids = ascending_ids(previous);
  const distributed::SegmentRetention counts =
      distributed::retention_by_segment(comm, rows, ids, run_records(comm, previous), segment_ids);
  std::vector<SegmentRetentionShare> shares;
  for (std::size_t s = 0; s < segment_ids.size(); ++s) {
    const double share = counts.customers[s] > 0 ? static_cast<double>(counts.retained[s]) /
                                                       static_cast<double>(counts.customers[s])
                                                 : std::numeric_limits<double>::quiet_NaN();
    shares.push_back({segment_ids[s], counts.customers[s], counts.retained[s], share});
  }
  return shares;
}

// The options of an evaluation, once for the /run attributes and the manifest.
std::vector<std::pair<std::string, std::string>> evaluation_options(const EvaluatePlan& plan) {
  return {{"run", plan.run},
          {"outcomes", plan.outcomes},
          {"previous", plan.previous},
          {"id_column", plan.id_column},
          {"group_column", plan.group_column},
          {"treatment", plan.treatment},
          {"control", plan.control},
          {"converted_column", plan.converted_column},
          {"revenue_column", plan.revenue_column}};
}

RunAttributes evaluation_attributes(const Communicator& comm, const EvaluatePlan& plan,
                                    const EvaluateResult& result) {
  const OutcomeProblems& p = result.problems;
  RunAttributes attributes{{"command", std::string("evaluate")}};
  for (const auto& [name, value] : evaluation_options(plan)) {
    attributes.emplace_back(name == "previous" ? "previous_run" : name, value);
  }
  const RunAttributes measures{
      {"cost_per_contact", plan.cost_per_contact},
      {"confidence", 0.95},
      {"interval", std::string("Newcombe hybrid score (method 10), Wilson per arm")},
      {"test", std::string("pooled two-proportion z-test, two-sided")},
      {"outcome_rows", p.rows},
      {"unmatched_outcome_ids", p.unmatched_ids},
      {"customers_without_outcome", p.customers_without_outcome},
      {"other_group_rows", p.other_group_rows},
      {"first_other_group_line", p.first_other_group_line},
      {"first_other_group_value", p.first_other_group_value},
      {"ranks", static_cast<std::int64_t>(comm.size())},
      {"version_microseg", std::string(MICROSEG_VERSION)}};
  attributes.insert(attributes.end(), measures.begin(), measures.end());
  return attributes;
}

io::EvaluationRecord evaluation_record(const Communicator& comm, const EvaluatePlan& plan,
                                       const EvaluateResult& result) {
  io::EvaluationRecord record;
  for (const SegmentUplift& segment : result.segments) {
    record.segment_ids.push_back(segment.segment_id);
    record.segments.push_back(segment.measure);
  }
  record.overall = result.overall.measure;
  for (const SegmentRetentionShare& share : result.retention) {
    record.retention.segment_ids.push_back(share.segment_id);
    record.retention.customers.push_back(share.customers);
    record.retention.retained.push_back(share.retained);
    record.retention.share.push_back(share.share);
  }
  record.run = evaluation_attributes(comm, plan, result);
  record.publication = result.publication;
  return record;
}

void write_outputs(const Communicator& comm, const EvaluatePlan& plan, EvaluateResult& result) {
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  const io::EvaluationRecord record = evaluation_record(comm, plan, result);
  comm.run_agreed(
      [&] { result.outputs = io::write_evaluation(plan.output, comm.native(), record); });
  remove_run_manifest(comm, plan.output);
  io::RunManifest manifest;
  manifest.command = "evaluate";
  manifest.outputs = result.outputs;
  manifest.input = plan.outcomes;
  manifest.input_fingerprint = {{"outcome_rows", std::to_string(result.problems.rows)}};
  manifest.configuration = evaluation_options(plan);
  manifest.configuration.insert(manifest.configuration.end(),
                                {{"cost_per_contact", round_trip_text(plan.cost_per_contact)},
                                 {"output", plan.output},
                                 {"job_file", plan.job_file}});
  manifest.privacy = publication_record(result.publication);
  write_run_manifest(comm, plan.output, manifest);
}

}  // namespace

EvaluateResult evaluate(const Communicator& comm, const EvaluatePlan& plan) {
  io::RunModel model;
  comm.run_agreed([&] { model = io::read_run_model(plan.run); });
  const PublicationRules rules = publication_rules(comm, plan.publication);
  detail::OutcomeTable outcomes = detail::read_outcome_table(comm, plan);
  const std::vector<distributed::PreviousAssignment> records = run_records(comm, model);
  const std::vector<std::int64_t> segment_ids = ascending_ids(model);
  const distributed::OutcomeRows rows{outcomes.rows, &outcomes.ids, &outcomes.arms,
                                      &outcomes.converted,
                                      plan.revenue_column.empty() ? nullptr : &outcomes.revenue};
  const distributed::CampaignTally tally =
      distributed::tally_campaign(comm, rows, records, segment_ids);

  EvaluateResult result;
  result.has_revenue = !plan.revenue_column.empty();
  result.publication = rules;
  result.problems = outcomes.problems;
  result.problems.unmatched_ids = tally.unmatched_outcome_rows;
  result.problems.customers_without_outcome = tally.customers_without_outcome;
  measure(tally, segment_ids, plan, result);
  if (!plan.previous.empty()) result.retention = retention(comm, model, records, plan.previous);
  write_outputs(comm, plan, result);
  return result;
}

}  // namespace microseg::pipeline
