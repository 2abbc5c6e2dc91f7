#pragma once
/// \file `microseg reproduce RUN_DIR`: replay a run from its manifest and compare every output's
/// canonical content digest with the recorded one.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/reproduce.hpp"

namespace microseg::app {

std::string reproduce_usage();
/// Throws InputError naming the option or the missing RUN_DIR.
pipeline::ReproducePlan parse_reproduce_options(const std::vector<std::string>& arguments);
/// Every rank replays the recorded command through its pipeline function; rank 0 prints the
/// table. Throws AgreedError (exit status 2) when an output differs.
void reproduce_command(const distributed::Communicator& comm,
                       const std::vector<std::string>& arguments);

}  // namespace microseg::app
