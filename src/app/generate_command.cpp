#include <boost/program_options/options_description.hpp>
#include <iostream>
#include <sstream>

#include "microseg/app/generate.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description generate_options() {
  boost::program_options::options_description options("microseg generate options");
  add_option(options, "customers", "number of customers to generate", "required",
             "--customers 200000");
  add_option(options, "segments", "number of planted segments", "8", "--segments 12");
  add_option(options, "separation", "distance between planted segment centres in within-segment σ",
             "3", "--separation 5");
  add_option(options, "seed", "random seed", "1", "--seed 2026");
  add_option(options, "macro-segments",
             "plant a two-level base: the planted segments grouped into this many macro segments "
             "(segment s in macro segment s mod M); 0: one level",
             "0", "--macro-segments 4");
  add_option(options, "macro-separation",
             "distance between planted macro segment centres in within-segment σ", "12",
             "--macro-separation 16");
  add_option(options, "output", "output HDF5 file", "required", "--output customers.h5");
  return options;
}

}  // namespace

std::string generate_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
          " [--seed SEED] [--macro-segments M [--macro-separation X]] --output customers.h5\n"
          "       mpiexec -n P microseg generate campaign --run RUN_DIR [--input customers.h5]"
          " --uplift U[,U...] [--base-rate R] [--treatment-share S] [--revenue-mean M]"
          " [--seed SEED] --output campaign.csv\n\n"
       << generate_options() << "\n"
       << campaign_options() << "\n"
       << common_options();
  return text.str();
}

GeneratePlan parse_generate_options(const std::vector<std::string>& arguments) {
  const OptionReader options("generate", generate_options(), arguments);
  GeneratePlan config;
  config.customers =
      options.integer("customers", options.required("customers"), 1, std::int64_t{1} << 40);
  config.segments = static_cast<int>(options.integer("segments", "8", 1, 100000));
  config.separation = options.real("separation", "3", 0.0);
  config.seed = options.seed("seed", "1");
  config.macro_segments =
      static_cast<int>(options.integer("macro-segments", "0", 0, config.segments));
  config.macro_separation = options.real("macro-separation", "12", 0.0);
  config.output = options.required("output");
  return config;
}

void generate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments) {
  if (!arguments.empty() && arguments.front() == "campaign") {
    generate_campaign_command(comm, {arguments.begin() + 1, arguments.end()});
    return;
  }
  const GeneratePlan plan =
      pipeline::plan_on_root<GeneratePlan>(comm, [&] { return parse_generate_options(arguments); });
  const int features = pipeline::generate(comm, plan);
  if (comm.is_root()) {
    std::cout << "microseg generate: wrote " << plan.customers << " customers in " << plan.segments
              << " planted segments (" << features << " features, separation " << plan.separation
              << ", seed " << plan.seed << ") to " << plan.output << "\n";
  }
}

}  // namespace microseg::app
