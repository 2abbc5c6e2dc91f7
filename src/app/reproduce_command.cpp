#include "microseg/app/reproduce.hpp"

#include <boost/program_options/options_description.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/assign.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description reproduce_options() {
  boost::program_options::options_description options("microseg reproduce options");
  add_option(options, "run", "the run directory to reproduce (holds manifest.json)",
             "required, or as the first argument", "--run run-q2/");
  add_option(options, "scratch",
             "directory the run is replayed into; must not exist or be empty (on a file system "
             "every rank sees)",
             "RUN_DIR.reproduce beside the run", "--scratch /scratch/audit-q2");
  add_switch(options, "keep", "keep the scratch directory and its outputs afterwards", "--keep");
  return options;
}

// The recorded command, replayed with its recorded options through its own parser and pipeline
// function, so the replay is the command itself and not an imitation of it.
void replay(const distributed::Communicator& comm, const pipeline::Reproduction& reproduction) {
  // The recorded --stall-timeout is how long the original job would wait, not part of what it
  // computed: the replay keeps this command's own.
  std::vector<std::string> arguments;
  for (const std::string& argument : reproduction.arguments) {
    if (argument.rfind("--stall-timeout=", 0) != 0) arguments.push_back(argument);
  }
  const std::string& command = reproduction.command;
  if (command == "segment") {
    const SegmentPlan plan =
        pipeline::plan_on_root<SegmentPlan>(comm, [&] { return parse_segment_options(arguments); });
    pipeline::segment(comm, plan, {});
  } else if (command == "assign") {
    const AssignPlan plan =
        pipeline::plan_on_root<AssignPlan>(comm, [&] { return parse_assign_options(arguments); });
    pipeline::assign(comm, plan);
  } else if (command == "sweep") {
    const SweepPlan plan =
        pipeline::plan_on_root<SweepPlan>(comm, [&] { return parse_sweep_options(arguments); });
    pipeline::sweep(comm, plan, {});
  } else {
    const PromotePlan plan =
        pipeline::plan_on_root<PromotePlan>(comm, [&] { return parse_promote_options(arguments); });
    pipeline::promote(comm, plan);
  }
}

std::string shortened(const std::string& digest) {
  return digest.size() > 16 ? digest.substr(0, 16) : digest;
}

void print_report(std::ostream& log, const pipeline::ReproductionReport& report) {
  std::size_t width = 6;
  for (const auto& row : report.outputs) width = std::max(width, row.file.size());
  log << std::left << std::setw(static_cast<int>(width)) << "output"
      << "  recorded          reproduced        equal\n";
  for (const auto& row : report.outputs) {
    log << std::setw(static_cast<int>(width)) << row.file << "  " << std::setw(16)
        << shortened(row.recorded) << "  " << std::setw(16) << shortened(row.reproduced) << "  "
        << (row.equal ? "yes" : "NO") << "\n";
  }
  log << std::right;
  for (const auto& row : report.outputs) {
    if (row.equal) continue;
    if (row.on_disk != row.recorded) {
      log << row.file << ": the file in the run directory has changed since the run "
          << "(content_sha256 " << row.on_disk << " now, " << row.recorded << " recorded)\n";
    }
    if (!row.first_difference.empty()) {
      log << row.file << ": first differing dataset or attribute: " << row.first_difference << "\n";
    }
  }
}

}  // namespace

std::string reproduce_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg reproduce RUN_DIR [--scratch DIR] [--keep]\n\n"
       << "Checks that the input (and the previous run, model or sweep model) still has the "
          "recorded content,\nreruns the recorded command into a scratch directory on any rank "
          "count and compares every output's\ncanonical content digest with the manifest's; exit "
          "status 0 only when all are equal.\n\n"
       << reproduce_options() << "\n"
       << common_options();
  return text.str();
}

pipeline::ReproducePlan parse_reproduce_options(const std::vector<std::string>& arguments) {
  std::vector<std::string> named = arguments;
  // The run directory may come first, without --run.
  if (!named.empty() && named.front().rfind("--", 0) != 0) {
    named.front() = "--run=" + named.front();
  }
  const OptionReader options("reproduce", reproduce_options(), named);
  pipeline::ReproducePlan plan;
  plan.run = options.required("run");
  plan.scratch = options.text("scratch");
  plan.keep = switch_value(options, "keep");
  return plan;
}

void reproduce_command(const distributed::Communicator& comm,
                       const std::vector<std::string>& arguments) {
  const pipeline::ReproducePlan plan = pipeline::plan_on_root<pipeline::ReproducePlan>(
      comm, [&] { return parse_reproduce_options(arguments); });
  const pipeline::Reproduction reproduction = pipeline::prepare_reproduction(comm, plan);
  if (comm.is_root()) {
    std::cout << "microseg reproduce: replaying the " << reproduction.command << " run in "
              << plan.run << " (made on " << reproduction.recorded_ranks << " ranks) on "
              << comm.size() << " ranks into " << reproduction.scratch << std::endl;
  }
  try {
    replay(comm, reproduction);
  } catch (const std::exception&) {
    pipeline::discard_scratch(comm, plan, reproduction);
    throw;
  }
  const pipeline::ReproductionReport report =
      pipeline::compare_reproduction(comm, plan, reproduction);
  if (comm.is_root()) print_report(std::cout, report);
  std::string differing;
  for (const auto& row : report.outputs) {
    if (!row.equal) differing += (differing.empty() ? "" : ", ") + row.file;
  }
  if (!report.all_equal) {
    throw distributed::AgreedError("reproduce: " + plan.run + " is not reproduced: " + differing +
                                   " differ" +
                                   (differing.find(',') == std::string::npos ? "s" : ""));
  }
}

}  // namespace microseg::app
