#include <boost/program_options/options_description.hpp>
#include <iostream>
#include <sstream>

#include "microseg/app/generate.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

boost::program_options::options_description generate_options() {
  namespace po = boost::program_options;
  po::options_description options("microseg generate options");
  options.add_options()                                                                 //
      ("customers", po::value<std::string>(), "number of customers to generate")        //
      ("segments", po::value<std::string>(), "number of planted segments (default 8)")  //
      ("separation", po::value<std::string>(),
       "distance between planted segment centres in within-segment σ (default 3)")  //
      ("seed", po::value<std::string>(), "random seed (default 1)")                 //
      ("macro-segments", po::value<std::string>(),
       "plant a two-level base: the planted segments grouped into this many macro segments "
       "(segment s in macro segment s mod M; default 0: one level)")  //
      ("macro-separation", po::value<std::string>(),
       "distance between planted macro segment centres in within-segment σ (default 12)")  //
      ("output", po::value<std::string>(), "output HDF5 file");
  return options;
}

}  // namespace

std::string generate_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
          " [--seed SEED] [--macro-segments M [--macro-separation X]] --output customers.h5\n\n"
       << generate_options();
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
