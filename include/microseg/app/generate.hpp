#pragma once
/// \file `microseg generate`: its options into a pipeline::GeneratePlan, the pipeline run, and
/// the line it prints.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/generate.hpp"

namespace microseg::app {

using pipeline::GeneratePlan;

std::string generate_usage();
/// Throws InputError naming the option and the value that is wrong.
GeneratePlan parse_generate_options(const std::vector<std::string>& arguments);
void generate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments);

}  // namespace microseg::app
