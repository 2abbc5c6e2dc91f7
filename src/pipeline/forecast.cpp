#include "microseg/pipeline/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "forecast_stages.hpp"
#include "microseg/core/markov_chain.hpp"
#include "microseg/core/size_forecast.hpp"
#include "microseg/distributed/top_customers.hpp"
#include "microseg/io/forecast_file.hpp"
#include "microseg/io/forecast_runs.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/provenance.hpp"

namespace microseg::pipeline {
namespace {
namespace fs = std::filesystem;

std::string canonical_text(const std::string& path) {
  std::error_code code;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(path, code), code);
  return code ? path : canonical.lexically_normal().string();
}

std::string name_of(const std::string& run) {
  return fs::path(run).lexically_normal().filename().empty()
             ? fs::path(run).lexically_normal().parent_path().filename().string()
             : fs::path(run).lexically_normal().filename().string();
}

// Each run after the first must have been segmented with --previous set to the run before it.
void check_chain(const std::vector<io::ChainRun>& runs) {
  if (runs.size() < 2) {
    throw InputError(
        "forecast: --runs needs at least two runs (a first run and one made with "
        "--previous of it)");
  }
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const io::ChainRun& run = runs[i];
    const std::string& before = runs[i - 1].directory;
    if (!run.link || run.previous_run.empty()) {
      throw InputError("run '" + run.directory +
                       "' has no /migration: it was not made with "
                       "--previous " +
                       before + ", so it cannot follow run '" + before + "' in the chain");
    }
    if (canonical_text(run.previous_run) != canonical_text(before)) {
      throw InputError(name_of(run.directory) + " was not made with --previous " + name_of(before) +
                       " (its previous run is '" + run.previous_run +
                       "'): the chain of --runs is broken between '" + before + "' and '" +
                       run.directory + "'");
    }
  }
}

std::vector<io::ChainRun> read_chain(const distributed::Communicator& comm,
                                     const ForecastPlan& plan) {
  std::vector<io::ChainRun> runs;
  comm.run_agreed([&] {
    if (plan.horizon < 1) {
      throw InputError("forecast: --horizon must be at least 1 quarter, not " +
                       std::to_string(plan.horizon));
    }
    for (const auto& directory : plan.runs) runs.push_back(io::read_chain_run(directory));
    check_chain(runs);
  });
  return runs;
}

// The last run's sizes and values over the states (its ids, ascending), and every run's sizes.
struct StateFacts {
  std::vector<std::int64_t> ids;
  Eigen::VectorXd sizes_now, value;
  Eigen::MatrixXd history;
};

StateFacts state_facts(const std::vector<io::ChainRun>& runs) {
  StateFacts facts;
  const io::ChainRun& last = runs.back();
  facts.ids = last.segment_ids;
  std::sort(facts.ids.begin(), facts.ids.end());
  const auto states = static_cast<Eigen::Index>(facts.ids.size());
  facts.sizes_now.resize(states);
  facts.value.resize(states);
  facts.history =
      Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(runs.size()), states, std::nan(""));
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (std::size_t row = 0; row < runs[r].segment_ids.size(); ++row) {
      const auto at =
          std::lower_bound(facts.ids.begin(), facts.ids.end(), runs[r].segment_ids[row]);
      if (at == facts.ids.end() || *at != runs[r].segment_ids[row]) continue;
      const Eigen::Index s = at - facts.ids.begin();
      facts.history(static_cast<Eigen::Index>(r), s) = static_cast<double>(runs[r].sizes[row]);
      if (r + 1 == runs.size()) {
        facts.sizes_now(s) = static_cast<double>(runs[r].sizes[row]);
        facts.value(s) = runs[r].value_mean[row];
      }
    }
  }
  return facts;
}

// Each customer's P(lost within H) from its segment and moved-down flag; the global top N.
struct CustomerChurn {
  std::vector<double> probability;
  std::vector<distributed::RankedCustomer> top;
  std::int64_t moved_down = 0;
};

CustomerChurn customer_churn(const distributed::Communicator& comm,
                             const detail::LastRunCustomers& customers,
                             const std::vector<std::int64_t>& ids, const ChurnProbabilities& churn,
                             std::int64_t top) {
  CustomerChurn result;
  const std::size_t count = customers.assignments.ids.size();
  result.probability.resize(count);
  std::vector<distributed::RankedCustomer> local(count);
  std::int64_t moved_down = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int32_t segment = customers.assignments.segments[i];
    const Eigen::Index s = std::lower_bound(ids.begin(), ids.end(), segment) - ids.begin();
    const bool down = customers.moved_down[i] != 0;
    result.probability[i] = down ? churn.moved_down(s) : churn.ordinary(s);
    local[i] = {customers.assignments.ids[i], result.probability[i], segment, down ? 1 : 0};
    moved_down += down ? 1 : 0;
  }
  result.moved_down = comm.sum(moved_down);
  result.top = distributed::global_top(comm, std::move(local), static_cast<std::size_t>(top));
  return result;
}

RunAttributes forecast_attributes(const distributed::Communicator& comm, const ForecastPlan& plan,
                                  const detail::HazardEstimate& hazard, double multiplier) {
  RunAttributes run;
  std::string runs;
  for (const auto& r : plan.runs) runs += (runs.empty() ? "" : "\n") + r;
  run.emplace_back("runs", runs);
  run.emplace_back("horizon", static_cast<std::int64_t>(plan.horizon));
  run.emplace_back("estimate", plan.estimate);
  run.emplace_back("top", plan.top);
  run.emplace_back("draws", static_cast<std::int64_t>(plan.draws));
  run.emplace_back("intervals_seed", static_cast<std::int64_t>(plan.intervals_seed));
  run.emplace_back("interval_level", 0.9);
  run.emplace_back("hazard_multiplier", multiplier);
  run.emplace_back("hazard_estimated", static_cast<std::int64_t>(hazard.multiplier ? 1 : 0));
  run.emplace_back("hazard_note", hazard.note);
  run.emplace_back("at_risk_observed", hazard.losses.observed_at_risk);
  run.emplace_back("at_risk_expected", hazard.losses.expected_at_risk);
  run.emplace_back("other_observed", hazard.losses.observed_other);
  run.emplace_back("other_expected", hazard.losses.expected_other);
  run.emplace_back("job_file", plan.job_file);
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("version_microseg", std::string(MICROSEG_VERSION));
  return run;
}

void write_manifest(const distributed::Communicator& comm, const ForecastPlan& plan,
                    const std::vector<io::ChainRun>& runs, const std::vector<std::string>& files,
                    const PublicationRules& rules) {
  io::RunManifest manifest;
  manifest.command = "forecast";
  manifest.outputs = files;
  manifest.input = plan.runs.back();
  std::string listed;
  for (const auto& run : runs) {
    if (comm.is_root()) {
      manifest.input_fingerprint.emplace_back(run.file, io::sha256_of_file(run.file));
    }
    listed += (listed.empty() ? "" : ",") + run.directory;
  }
  manifest.configuration = {{"runs", listed},
                            {"horizon", std::to_string(plan.horizon)},
                            {"estimate", plan.estimate},
                            {"top", std::to_string(plan.top)},
                            {"intervals_seed", std::to_string(plan.intervals_seed)},
                            {"draws", std::to_string(plan.draws)},
                            {"output", plan.output},
                            {"job_file", plan.job_file}};
  manifest.privacy = publication_record(rules);
  write_run_manifest(comm, plan.output, manifest);
}

}  // namespace

ForecastResult forecast(const distributed::Communicator& comm, const ForecastPlan& plan) {
  const std::vector<io::ChainRun> runs = read_chain(comm, plan);
  const PublicationRules rules = publication_rules(comm, plan.publication);
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  const StateFacts facts = state_facts(runs);
  std::vector<MigrationLink> links;
  for (std::size_t i = 1; i < runs.size(); ++i) links.push_back(*runs[i].link);
  TransitionModel model;
  AbsorbingChain chain;
  SizeForecast sizes;
  comm.run_agreed([&] {
    model = estimate_transitions(
        links, facts.ids,
        plan.estimate == "last" ? TransitionEstimate::last : TransitionEstimate::pooled);
    chain = absorbing_chain(model, facts.value);
    sizes = forecast_sizes(model, facts.sizes_now,
                           {plan.horizon, plan.draws, plan.intervals_seed, 0.90});
  });
  const detail::HazardEstimate hazard = detail::estimate_hazard(comm, runs);
  const double multiplier = hazard.multiplier.value_or(1.0);
  const ChurnProbabilities churn = churn_within(model.probabilities, plan.horizon, multiplier);
  const detail::LastRunCustomers customers = detail::read_last_run_customers(comm, runs.back());
  const CustomerChurn customer = customer_churn(comm, customers, facts.ids, churn, plan.top);

  io::ForecastContent content;
  content.model = &model;
  content.chain = &chain;
  content.sizes = &sizes;
  content.churn = &churn;
  content.sizes_now = facts.sizes_now;
  content.value_per_quarter = facts.value;
  content.runs = plan.runs;
  content.history = facts.history;
  content.customers = {customers.rows,
                       runs.back().customers,
                       &customers.assignments.ids,
                       &customers.assignments.segments,
                       &customer.probability,
                       &customers.moved_down};
  content.top = customer.top;
  content.run = forecast_attributes(comm, plan, hazard, multiplier);
  content.publication = rules;
  remove_run_manifest(comm, plan.output);
  io::write_forecast(plan.output, comm.native(), content);
  ForecastResult result;
  result.outputs = io::forecast_files(plan.output);
  write_manifest(comm, plan, runs, result.outputs, rules);

  result.segment_ids = facts.ids;
  const Eigen::Index h = plan.horizon - 1;
  for (Eigen::Index s = 0; s < facts.sizes_now.size(); ++s) {
    result.size_now.push_back(facts.sizes_now(s));
    result.expected.push_back(sizes.expected(h, s));
    result.low.push_back(sizes.low(h, s));
    result.high.push_back(sizes.high(h, s));
    result.loss_within_1.push_back(chain.loss_within(s, 0));
    result.expected_quarters.push_back(chain.expected_quarters(s));
    result.lifetime_value.push_back(chain.lifetime_value(s));
  }
  result.links = model.links;
  result.left_out = model.left_out;
  result.hazard_multiplier = multiplier;
  result.hazard_estimated = hazard.multiplier.has_value();
  result.hazard_note = hazard.note;
  result.customers = runs.back().customers;
  result.moved_down = customer.moved_down;
  return result;
}

}  // namespace microseg::pipeline
