#pragma once
/// \file `microseg version` (and `microseg --version`): the version, the git commit and the
/// versions of MPI, HDF5, Eigen and Boost the program was built with.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

/// "microseg X.Y.Z" on the first line (what help2man reads), then one "name: value" line each
/// for the git commit, MPI, HDF5, Eigen and Boost.
std::string version_text();

std::string version_usage();
/// Rank 0 prints version_text(). Takes no options: any is an AgreedError naming it.
void version_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments);

}  // namespace microseg::app
