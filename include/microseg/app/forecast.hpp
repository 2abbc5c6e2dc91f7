#pragma once
/// \file `microseg forecast`: its options into a pipeline::ForecastPlan, the pipeline run, and
/// the forecast table it prints.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/forecast.hpp"

namespace microseg::app {

using pipeline::ForecastPlan;

std::string forecast_usage();
/// Throws InputError naming the option that is missing or wrong. `--runs` takes the run
/// directories as separate words or comma-separated.
ForecastPlan parse_forecast_options(const std::vector<std::string>& arguments);
void forecast_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments);

}  // namespace microseg::app
