#pragma once
/// \file `microseg generate`: its options into a pipeline::GeneratePlan, the pipeline run, and
/// the line it prints.
#include <boost/program_options/options_description.hpp>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/generate.hpp"
#include "microseg/pipeline/generate_campaign.hpp"

namespace microseg::app {

using pipeline::CampaignPlan;
using pipeline::GeneratePlan;

std::string generate_usage();
/// Throws InputError naming the option and the value that is wrong.
GeneratePlan parse_generate_options(const std::vector<std::string>& arguments);
void generate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments);

/// `generate campaign`: its options (also listed in generate's --help) and the command.
boost::program_options::options_description campaign_options();
/// Throws InputError naming the option that is missing or wrong.
CampaignPlan parse_campaign_options(const std::vector<std::string>& arguments);
void generate_campaign_command(const distributed::Communicator& comm,
                               const std::vector<std::string>& arguments);

}  // namespace microseg::app
