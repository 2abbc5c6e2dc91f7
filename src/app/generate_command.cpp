#include <boost/program_options/options_description.hpp>
#include <iostream>
#include <sstream>

#include "microseg/app/generate.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/core/synthetic.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/segments_file.hpp"

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
      ("output", po::value<std::string>(), "output HDF5 file");
  return options;
}

}  // namespace

std::string generate_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
          " [--seed SEED] --output customers.h5\n\n"
       << generate_options();
  return text.str();
}

GenerateConfig parse_generate_options(const std::vector<std::string>& arguments) {
  const OptionReader options("generate", generate_options(), arguments);
  GenerateConfig config;
  config.customers =
      options.integer("customers", options.required("customers"), 1, std::int64_t{1} << 40);
  config.segments = static_cast<int>(options.integer("segments", "8", 1, 100000));
  config.separation = options.real("separation", "3", 0.0);
  config.seed = options.seed("seed", "1");
  config.output = options.required("output");
  return config;
}

void generate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments) {
  run_generate(comm, parse_on_root<GenerateConfig>(comm, arguments, parse_generate_options),
               std::cout);
}

void run_generate(const distributed::Communicator& comm, const GenerateConfig& config,
                  std::ostream& log) {
  const RowRange rows = distributed::block_of_rows(config.customers, comm.rank(), comm.size());
  SyntheticSpec spec{config.customers, config.segments, config.separation, config.seed};
  SyntheticBlock block;
  comm.run_agreed([&] { block = generate_synthetic_block(spec, rows); });
  comm.run_agreed([&] {
    io::write_customer_table(config.output, comm.native(),
                             {rows, config.customers, &synthetic_feature_names(), &block.ids,
                              &block.features, &block.planted_segment});
  });
  if (comm.is_root()) {
    log << "microseg generate: wrote " << config.customers << " customers in " << config.segments
        << " planted segments (" << synthetic_feature_names().size() << " features, separation "
        << config.separation << ", seed " << config.seed << ") to " << config.output << "\n";
  }
}

}  // namespace microseg::app
