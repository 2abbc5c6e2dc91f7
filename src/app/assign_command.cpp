#include <boost/program_options/options_description.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/assign.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description assign_options() {
  boost::program_options::options_description options("microseg assign options");
  add_option(options, "model", "output directory of a microseg segment run", "required",
             "--model run/");
  add_option(options, "input", "customer HDF5 file to score", "required",
             "--input new_customers.h5");
  add_option(options, "output", "output directory (assignments.h5 is written)", "required",
             "--output scored/");
  add_switch(options, "assignments-csv", assignments_csv_help(), "--assignments-csv");
  add_publication_options(options);
  return options;
}

}  // namespace

std::string assign_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg assign --model RUN_DIR --input customers.h5 --output DIR"
          " [--config job.ini]\n\n"
       << assign_options() << "\n"
       << common_options();
  return text.str();
}

AssignPlan parse_assign_options(const std::vector<std::string>& arguments) {
  const OptionReader options("assign", assign_options(), arguments);
  AssignPlan config;
  config.model = options.required("model");
  config.input = options.required("input");
  config.output = options.required("output");
  config.job_file = options.job_file();
  config.recorded_options = options.recorded({"model", "input", "pseudonymise-ids"});
  config.assignments_csv = switch_value(options, "assignments-csv");
  config.publication = parse_publication_options(options);
  return config;
}

void assign_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments) {
  const AssignPlan plan =
      pipeline::plan_on_root<AssignPlan>(comm, [&] { return parse_assign_options(arguments); });
  const pipeline::AssignResult result = pipeline::assign(comm, plan);
  if (!comm.is_root()) return;
  std::ostream& log = std::cout;
  log << "microseg assign: " << result.customers << " customers from " << plan.input
      << " scored against run " << plan.model << " (" << result.segment_ids.size()
      << " segments) on " << comm.size() << " ranks\n";
  if (result.dropped > 0) {
    log << "dropped " << result.dropped
        << " customers with missing values (the model's --missing drop)\n";
  }
  if (result.unknown_categories > 0) {
    log << result.unknown_categories
        << " category values unknown to the model: those customers get 0 in every indicator of "
           "that column\n";
  }
  // Sizes below --privacy-min-count print as "<N" with no share (a share gives the size back).
  PublicationRules rules;
  rules.min_count = plan.publication.min_count;
  log << "\nsegment  customers   share\n";
  for (std::size_t s = 0; s < result.sizes.size(); ++s) {
    log << std::setw(7) << result.segment_ids[s] << std::setw(11)
        << rules.count_text(result.sizes[s]);
    if (rules.hides(result.sizes[s])) {
      log << "       -\n";
      continue;
    }
    log << std::setw(7) << std::fixed << std::setprecision(1)
        << 100.0 * static_cast<double>(result.sizes[s]) / static_cast<double>(result.customers)
        << "%\n";
  }
  log << std::defaultfloat << std::setprecision(6) << "\noutput: ";
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    log << (i ? ", " : "") << result.outputs[i];
  }
  log << "\n";
}

}  // namespace microseg::app
