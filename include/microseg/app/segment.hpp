#pragma once
/// \file `microseg segment`: its options into a pipeline::SegmentPlan, the pipeline run, and what
/// it prints (progress, quality, the profile table, the migration, the outputs).
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/segment.hpp"

namespace microseg::app {

using pipeline::SegmentPlan;

std::string segment_usage();
/// Throws InputError naming the option and the value that is wrong, or the job file and its
/// unknown key.
SegmentPlan parse_segment_options(const std::vector<std::string>& arguments);
/// Rank 0 parses; every rank runs pipeline::segment; rank 0 prints.
void segment_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments);

}  // namespace microseg::app
