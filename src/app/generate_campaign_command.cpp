// `microseg generate campaign`: a synthetic campaign for a run's customers.
#include <boost/program_options/options_description.hpp>
#include <cmath>
#include <iostream>
#include <stdexcept>

#include "microseg/app/generate.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

std::vector<double> uplift_values(const std::vector<std::string>& texts) {
  std::vector<double> values;
  for (const auto& text : texts) {
    try {
      std::size_t used = 0;
      const double value = std::stod(text, &used);
      if (used == text.size() && std::isfinite(value) && value > -1 && value < 1) {
        values.push_back(value);
        continue;
      }
    } catch (const std::logic_error&) {
    }
    invalid_option_value("uplift", text, "numbers between -1 and 1, comma-separated");
  }
  if (values.empty()) invalid_option_value("uplift", "", "at least one number");
  return values;
}

}  // namespace

boost::program_options::options_description campaign_options() {
  boost::program_options::options_description options("microseg generate campaign options");
  add_option(options, "run", "output directory of a microseg segment run", "required",
             "--run run/");
  add_option(options, "input",
             "the run's customer table with /customers/planted_segment (default: the input its "
             "manifest records)",
             "the run's input", "--input customers.h5");
  add_option(options, "uplift",
             "planted absolute uplift: one value for every planted segment, or one per planted "
             "segment",
             "required", "--uplift 0.04,0,-0.02");
  add_option(options, "base-rate", "conversion rate without treatment", "0.05", "--base-rate 0.08");
  add_option(options, "treatment-share", "share of customers treated; the rest are control", "0.5",
             "--treatment-share 0.7");
  add_option(options, "revenue-mean", "mean revenue of a converted customer (exponential)", "40",
             "--revenue-mean 25");
  add_option(options, "seed", "random seed", "1", "--seed 2026");
  add_option(options, "output", "output CSV file", "required", "--output campaign.csv");
  return options;
}

CampaignPlan parse_campaign_options(const std::vector<std::string>& arguments) {
  const OptionReader options("generate campaign", campaign_options(), arguments);
  CampaignPlan plan;
  plan.run = options.required("run");
  plan.input = options.text("input");
  options.required("uplift");
  plan.uplift = uplift_values(options.list("uplift"));
  plan.base_rate = options.real("base-rate", "0.05", 0.0);
  if (plan.base_rate > 1)
    invalid_option_value("base-rate", options.text("base-rate"), "a rate in [0, 1]");
  plan.treatment_share = options.real("treatment-share", "0.5", 0.0);
  if (plan.treatment_share > 1) {
    invalid_option_value("treatment-share", options.text("treatment-share"), "a share in [0, 1]");
  }
  plan.revenue_mean = options.real("revenue-mean", "40", 0.0);
  plan.seed = options.seed("seed", "1");
  plan.output = options.required("output");
  return plan;
}

void generate_campaign_command(const distributed::Communicator& comm,
                               const std::vector<std::string>& arguments) {
  const CampaignPlan plan =
      pipeline::plan_on_root<CampaignPlan>(comm, [&] { return parse_campaign_options(arguments); });
  const pipeline::CampaignResult result = pipeline::generate_campaign(comm, plan);
  if (comm.is_root()) {
    std::cout << "microseg generate campaign: wrote " << with_thousands(result.customers)
              << " customers of run " << plan.run << " (" << with_thousands(result.treated)
              << " treated, " << with_thousands(result.converted) << " converted; "
              << result.planted_segments << " planted segments from " << result.input << ", seed "
              << plan.seed << ") to " << plan.output << "\n";
  }
}

}  // namespace microseg::app
