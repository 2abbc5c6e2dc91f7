#pragma once
/// \file `microseg generate`: a synthetic customer base with planted segments.
#include <boost/serialization/string.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

struct GenerateConfig {
  std::int64_t customers = 0;
  int segments = 8;
  double separation = 3.0;
  std::uint64_t seed = 1;
  std::string output;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& customers& segments& separation& seed& output;
  }
};

std::string generate_usage();
/// Throws InputError naming the option and the value that is wrong.
GenerateConfig parse_generate_options(const std::vector<std::string>& arguments);
/// Every rank generates and writes its own block of rows (see core/synthetic.hpp).
void run_generate(const distributed::Communicator& comm, const GenerateConfig& config,
                  std::ostream& log);
void generate_command(const distributed::Communicator& comm,
                      const std::vector<std::string>& arguments);

}  // namespace microseg::app
