#include <boost/program_options/options_description.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "microseg/app/option_reader.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {
namespace fs = std::filesystem;
namespace po = boost::program_options;

po::options_description sweep_merge_options() {
  po::options_description options("microseg sweep-merge options");
  add_option(options, "parts",
             "comma-separated sweep directories, each a finished share of one sweep (--task I/T)",
             "required", "--parts sweep-0,sweep-1");
  add_option(options, "output", "the directory of the whole sweep", "required", "--output sweep/");
  add_option(options, "k",
             "the k values the parts must cover together, as for 'microseg sweep --k'",
             "whatever they hold", "--k 2:30");
  return options;
}

}  // namespace

std::string sweep_merge_usage() {
  std::ostringstream text;
  text << "usage: microseg sweep-merge --parts DIR1,DIR2,... --output DIR [--k 2:64[:STEP]]\n\n"
          "Joins the shares of a sweep run as a Slurm job array ('microseg sweep --task I/T') into "
          "one sweep\ndirectory: the same sweep.csv, sweep.h5, models/ and manifest.json as one "
          "'microseg sweep'\nover every k.\n\n"
       << sweep_merge_options() << "\n"
       << common_options();
  return text.str();
}

SweepMergePlan parse_sweep_merge_options(const std::vector<std::string>& arguments) {
  const OptionReader options("sweep-merge", sweep_merge_options(), arguments);
  SweepMergePlan config;
  config.parts = options.list("parts");
  if (config.parts.empty()) options.required("parts");
  config.output = options.required("output");
  if (options.has("k")) {
    config.k_text = options.text("k");
    config.ks = parse_k_values(config.k_text);
  }
  return config;
}

void sweep_merge_command(const distributed::Communicator& comm,
                         const std::vector<std::string>& arguments) {
  const SweepMergePlan plan = pipeline::plan_on_root<SweepMergePlan>(
      comm, [&] { return parse_sweep_merge_options(arguments); });
  const pipeline::SweepMergeResult result = pipeline::sweep_merge(comm, plan);
  if (!comm.is_root()) return;
  std::ostream& log = std::cout;
  for (const auto& [part, ks] : result.parts) {
    log << "sweep-merge: " << part << ": k = ";
    for (std::size_t i = 0; i < ks.size(); ++i) log << (i ? "," : "") << ks[i];
    log << "\n";
  }
  const KRecommendation& r = result.table.recommendation;
  log << "sweep-merge: " << result.table.rows.size() << " values of k from " << plan.parts.size()
      << " parts into " << plan.output << "\nrecommended: " << r.reason << "\n";
  if (r.runner_up_k > 0) log << "runner-up: " << r.runner_up_reason << "\n";
  const fs::path out(plan.output);
  log << "outputs: " << (out / "sweep.csv").string() << ", " << (out / "sweep.h5").string() << ", "
      << (out / "models").string() << "/, " << (out / "manifest.json").string() << "\n";
}

}  // namespace microseg::app
