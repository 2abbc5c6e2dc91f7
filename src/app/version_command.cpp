#include <iostream>

#include "microseg/app/version.hpp"
#include "microseg/pipeline/provenance.hpp"
#include "microseg/version.hpp"

namespace microseg::app {

std::string version_text() {
  std::string text = std::string("microseg ") + microseg::version_number + "\n";
  for (const auto& [name, value] : pipeline::build_versions()) text += name + ": " + value + "\n";
  return text;
}

std::string version_usage() {
  return "usage: microseg version (or microseg --version)\n\n"
         "Prints the version, the git commit the program was built from (unknown when it was not\n"
         "built from a git checkout), and the versions of MPI, HDF5, Eigen and Boost it was built\n"
         "with; for MPI and HDF5 also the libraries it runs with. Takes no options.\n";
}

void version_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments) {
  if (!arguments.empty()) {
    throw distributed::AgreedError("version: takes no options, not '" + arguments.front() +
                                   "' (see 'microseg version --help')");
  }
  if (comm.is_root()) std::cout << version_text();
}

}  // namespace microseg::app
