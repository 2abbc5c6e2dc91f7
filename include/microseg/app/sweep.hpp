#pragma once
/// \file `microseg sweep`, `microseg sweep-merge` and `microseg promote`: their options into the
/// pipeline's plans (pipeline/sweep.hpp), the pipeline runs, and what they print.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/sweep.hpp"

namespace microseg::app {

using pipeline::PromotePlan;
using pipeline::SweepMergePlan;
using pipeline::SweepPlan;

/// The k values of `--k`: "FIRST:LAST" or "FIRST:LAST:STEP" (inclusive), or "K1,K2,...".
/// Ascending, every k at least 2. Throws InputError naming the option and what is wrong
/// (an empty or inverted range, a step below 1, a k below 2, a repeated k, not a number).
std::vector<int> parse_k_values(const std::string& text);

/// Share `task` (0-based) of `tasks` of the k values: every tasks-th k starting at the task-th,
/// so each share mixes small and large k and the shares take similar time. Throws InputError
/// when task is out of range or there are fewer k than tasks.
std::vector<int> task_share(const std::vector<int>& ks, int task, int tasks);

std::string sweep_usage();
/// Throws InputError naming the option and the value that is wrong, or the job file and its
/// unknown key.
SweepPlan parse_sweep_options(const std::vector<std::string>& arguments);
void sweep_command(const distributed::Communicator& comm,
                   const std::vector<std::string>& arguments);

std::string sweep_merge_usage();
SweepMergePlan parse_sweep_merge_options(const std::vector<std::string>& arguments);
void sweep_merge_command(const distributed::Communicator& comm,
                         const std::vector<std::string>& arguments);

std::string promote_usage();
PromotePlan parse_promote_options(const std::vector<std::string>& arguments);
void promote_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments);

}  // namespace microseg::app
