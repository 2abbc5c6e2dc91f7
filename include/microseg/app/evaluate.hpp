#pragma once
/// \file `microseg evaluate`: its options into a pipeline::EvaluatePlan, the pipeline run, and
/// the table of uplift per segment it prints.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/evaluate.hpp"

namespace microseg::app {

using pipeline::EvaluatePlan;

std::string evaluate_usage();
/// Throws InputError naming the option that is missing or wrong.
EvaluatePlan parse_evaluate_options(const std::vector<std::string>& arguments);
void evaluate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments);

}  // namespace microseg::app
