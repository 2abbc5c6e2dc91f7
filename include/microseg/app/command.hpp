#pragma once
/// \file The table of subcommands the `microseg` program dispatches to.
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

struct Command {
  const char* name;
  const char* summary;
  std::string (*usage)();
  /// Parses `arguments` (those after the command name) on rank 0, broadcasts the configuration
  /// and runs the command on every rank. Errors are AgreedError.
  void (*run)(const distributed::Communicator& comm, const std::vector<std::string>& arguments);
};

/// Every subcommand, in the order `microseg --help` lists them.
const std::vector<Command>& commands();

}  // namespace microseg::app
