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
  add_option(options, "quarters",
             "write this many successive quarters of one base as DIR/q1.h5 … (--output is then a "
             "directory); 0: one file",
             "0", "--quarters 4");
  add_option(options, "migration-rate",
             "with --quarters: the share of surviving customers who change planted segment each "
             "quarter",
             "required with --quarters", "--migration-rate 0.15");
  add_option(options, "churn-rate",
             "with --quarters: the mean share of a segment's customers lost each quarter "
             "(low-value segments lose more)",
             "required with --quarters", "--churn-rate 0.05");
  add_option(options, "new-customers", "with --quarters: customers new in each later quarter",
             "required with --quarters", "--new-customers 10000");
  add_option(options, "mover-churn-factor",
             "with --quarters: churn multiplier of a customer who just moved to a lower-value "
             "segment",
             "2", "--mover-churn-factor 3");
  add_option(options, "output", "output HDF5 file (with --quarters: a directory)", "required",
             "--output customers.h5");
  return options;
}

// An option --quarters requires.
std::string required_with_quarters(const OptionReader& options, const std::string& key) {
  if (!options.has(key)) {
    throw InputError("generate: option --" + key +
                     " is required with --quarters (see 'microseg generate --help')");
  }
  return options.text(key);
}

// A rate of --quarters: required, from 0 to 1.
double quarter_rate(const OptionReader& options, const std::string& key) {
  const double rate = options.real(key, required_with_quarters(options, key), 0.0);
  if (rate > 1) invalid_option_value(key, options.text(key), "a number from 0 to 1");
  return rate;
}

// The --quarters options, which are refused without it.
void parse_quarter_options(const OptionReader& options, GeneratePlan& config) {
  config.quarters = static_cast<int>(options.integer("quarters", "0", 0, 1000));
  if (config.quarters == 1) {
    invalid_option_value("quarters", options.text("quarters"), "0 for one file, or 2 to 1000");
  }
  if (config.quarters == 0) {
    for (const char* key :
         {"migration-rate", "churn-rate", "new-customers", "mover-churn-factor"}) {
      if (options.has(key)) {
        throw InputError("generate: option --" + std::string(key) + " needs --quarters");
      }
    }
    return;
  }
  if (config.macro_segments > 0) {
    throw InputError(
        "generate: --macro-segments cannot be combined with --quarters (successive "
        "quarters are planted in one level)");
  }
  config.migration_rate = quarter_rate(options, "migration-rate");
  config.churn_rate = quarter_rate(options, "churn-rate");
  config.new_customers = options.integer(
      "new-customers", required_with_quarters(options, "new-customers"), 0, std::int64_t{1} << 40);
  config.mover_churn_factor = options.real("mover-churn-factor", "2", 0.0);
}

}  // namespace

std::string generate_usage() {
  std::ostringstream text;
  text << "usage: mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
          " [--seed SEED] [--macro-segments M [--macro-separation X]] --output customers.h5\n"
          "       mpiexec -n P microseg generate --customers N [--segments S] [--separation X]"
          " [--seed SEED] --quarters Q --migration-rate R --churn-rate C --new-customers M"
          " [--mover-churn-factor F] --output DIR\n"
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
  parse_quarter_options(options, config);
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
  if (plan.quarters > 0) {
    const std::vector<std::int64_t> counts = pipeline::generate_quarters(comm, plan);
    if (comm.is_root()) {
      std::cout << "microseg generate: wrote " << plan.quarters << " quarters of " << plan.segments
                << " planted segments (seed " << plan.seed << ") to " << plan.output << ":";
      for (std::size_t q = 0; q < counts.size(); ++q) {
        std::cout << " q" << q + 1 << ".h5 " << counts[q] << " customers"
                  << (q + 1 < counts.size() ? "," : "\n");
      }
    }
    return;
  }
  const int features = pipeline::generate(comm, plan);
  if (comm.is_root()) {
    std::cout << "microseg generate: wrote " << plan.customers << " customers in " << plan.segments
              << " planted segments (" << features << " features, separation " << plan.separation
              << ", seed " << plan.seed << ") to " << plan.output << "\n";
  }
}

}  // namespace microseg::app
