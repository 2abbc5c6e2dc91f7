#pragma once
/// \file `microseg assign`: its options into a pipeline::AssignPlan, the pipeline run, and the
/// table of segment sizes it prints.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/assign.hpp"

namespace microseg::app {

using pipeline::AssignPlan;

std::string assign_usage();
/// Throws InputError naming the option that is missing or wrong.
AssignPlan parse_assign_options(const std::vector<std::string>& arguments);
void assign_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments);

}  // namespace microseg::app
