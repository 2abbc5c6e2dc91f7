#include <boost/program_options/options_description.hpp>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/forecast.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description forecast_options() {
  boost::program_options::options_description options("microseg forecast options");
  add_option(options, "runs",
             "run directories, oldest first, each made with --previous of the one before it",
             "required", "--runs run-q1/ run-q2/ run-q3/");
  add_option(options, "horizon", "quarters to forecast ahead", "required", "--horizon 2");
  add_option(options, "output",
             "output directory (forecast.h5, segments_forecast.csv, at_risk_forecast.csv)",
             "required", "--output forecast/");
  add_option(options, "estimate",
             "transition matrix from every link of the chain (pooled) or the last one (last)",
             "pooled", "--estimate last");
  add_option(options, "top", "customers most likely to be lost listed in at_risk_forecast.csv",
             "100", "--top 500");
  add_option(options, "intervals-seed", "seed of the Monte Carlo draws behind the 90 % intervals",
             "1", "--intervals-seed 7");
  add_option(options, "draws", "Monte Carlo draws behind the 90 % intervals", "1000",
             "--draws 4000");
  add_publication_options(options);
  return options;
}

// `--runs a b c` as `--runs=a,b,c`, so the runs may be listed as the shell expands them.
std::vector<std::string> joined_runs(const std::vector<std::string>& arguments) {
  std::vector<std::string> joined;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i] != "--runs") {
      joined.push_back(arguments[i]);
      continue;
    }
    std::string runs;
    while (i + 1 < arguments.size() && arguments[i + 1].rfind("--", 0) != 0) {
      runs += (runs.empty() ? "" : ",") + arguments[++i];
    }
    joined.push_back("--runs=" + runs);
  }
  return joined;
}

}  // namespace

std::string forecast_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg forecast --runs RUN_1 RUN_2 ... RUN_n --horizon H"
          " --output DIR [--estimate pooled|last] [--top N] [--intervals-seed S] [--draws B]"
          " [--config job.ini]\n\n"
       << forecast_options() << "\n"
       << common_options();
  return text.str();
}

ForecastPlan parse_forecast_options(const std::vector<std::string>& arguments) {
  const OptionReader options("forecast", forecast_options(), joined_runs(arguments));
  ForecastPlan plan;
  options.required("runs");
  plan.runs = options.list("runs");
  if (plan.runs.size() < 2) {
    invalid_option_value("runs", options.text("runs"),
                         "at least two run directories, oldest first");
  }
  options.required("horizon");
  plan.horizon = static_cast<int>(options.integer("horizon", "", 1, 1000));
  plan.output = options.required("output");
  plan.estimate = options.text("estimate", "pooled");
  if (plan.estimate != "pooled" && plan.estimate != "last") {
    invalid_option_value("estimate", plan.estimate, "pooled or last");
  }
  plan.top = options.integer("top", "100", 0, 100000000);
  plan.intervals_seed = options.seed("intervals-seed", "1");
  plan.draws = static_cast<int>(options.integer("draws", "1000", 100, 1000000));
  plan.job_file = options.job_file();
  plan.publication = parse_publication_options(options);
  return plan;
}

void forecast_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments) {
  const ForecastPlan plan =
      pipeline::plan_on_root<ForecastPlan>(comm, [&] { return parse_forecast_options(arguments); });
  const pipeline::ForecastResult result = pipeline::forecast(comm, plan);
  if (!comm.is_root()) return;
  std::ostream& log = std::cout;
  log << "microseg forecast: " << plan.runs.size() << " runs (" << result.links << " links, "
      << plan.estimate << " estimate), " << plan.horizon << " quarter(s) ahead, on " << comm.size()
      << " ranks\n";
  if (result.left_out > 0) {
    log << result.left_out
        << " customers of the links moved from or to segments the last run no longer has; "
           "left out of the transition matrix\n";
  }
  if (result.hazard_estimated) {
    log << "moved-down customers lose at " << std::setprecision(3) << result.hazard_multiplier
        << "x their segment's rate in the next quarter (estimated from the chain)\n";
  } else {
    log << "note: " << result.hazard_note << "\n";
  }
  log << "\nsegment     now  expected    90% interval   lost<=1q  quarters  lifetime value\n";
  PublicationRules rules;  // as segments_forecast.csv
  rules.min_count = plan.publication.min_count;
  for (std::size_t s = 0; s < result.segment_ids.size(); ++s) {
    const auto now = static_cast<std::int64_t>(std::llround(result.size_now[s]));
    if (rules.hides(now)) {
      log << std::setw(7) << result.segment_ids[s] << std::setw(8) << rules.count_text(now)
          << "  (suppressed: " << rules.reason() << ")\n";
      continue;
    }
    log << std::fixed << std::setw(7) << result.segment_ids[s] << std::setprecision(0)
        << std::setw(8) << result.size_now[s] << std::setw(10) << result.expected[s] << std::setw(8)
        << result.low[s] << " - " << std::left << std::setw(7) << result.high[s] << std::right
        << std::setprecision(3) << std::setw(9) << result.loss_within_1[s] << std::setprecision(1)
        << std::setw(10) << result.expected_quarters[s] << std::setprecision(1) << std::setw(16)
        << result.lifetime_value[s] << "\n";
  }
  log << std::defaultfloat << std::setprecision(6) << "\n"
      << result.customers << " customers scored (" << result.moved_down << " moved down)\n"
      << "outputs:";
  for (const auto& output : result.outputs) log << " " << output;
  log << "\n";
}

}  // namespace microseg::app
