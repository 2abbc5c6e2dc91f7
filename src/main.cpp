// microseg: the command-line entry point. It parses on rank 0, broadcasts the configuration and
// hands it to one pipeline; errors agreed between ranks end every rank cleanly with exit code 2.
#include <mpi.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "microseg/app/commands.hpp"
#include "microseg/app/options.hpp"
#include "microseg/distributed/communicator.hpp"

namespace {

constexpr int exit_usage = 2;

bool asks_for_help(const std::vector<std::string>& arguments) {
  for (const auto& a : arguments) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

// Rank 0 parses; any parse error is agreed, then the configuration travels to every rank.
template <class Config, class Parse>
Config parse_on_root(const microseg::distributed::Communicator& comm,
                     const std::vector<std::string>& arguments, Parse parse) {
  Config config;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      config = parse(arguments);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  comm.broadcast_object(config);
  return config;
}

int run(const microseg::distributed::Communicator& comm, const std::vector<std::string>& argv) {
  using namespace microseg::app;
  const std::string command = argv.empty() ? "" : argv.front();
  const std::vector<std::string> arguments(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    if (comm.is_root()) std::cout << usage("");
    return command.empty() ? exit_usage : 0;
  }
  if (command == "--version") {
    if (comm.is_root()) std::cout << "microseg " << MICROSEG_VERSION << "\n";
    return 0;
  }
  if (command != "generate" && command != "segment") {
    if (comm.is_root()) {
      std::cerr << "microseg: error: unknown command '" << command << "'\n\n" << usage("");
    }
    return exit_usage;
  }
  if (asks_for_help(arguments)) {
    if (comm.is_root()) std::cout << usage(command);
    return 0;
  }
  if (command == "generate") {
    run_generate(comm, parse_on_root<GenerateConfig>(comm, arguments, parse_generate_options),
                 std::cout);
  } else {
    run_segment(comm, parse_on_root<SegmentConfig>(comm, arguments, parse_segment_options),
                std::cout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int exit_code = 0;
  {
    const microseg::distributed::Communicator comm(MPI_COMM_WORLD);
    try {
      exit_code = run(comm, std::vector<std::string>(argv + 1, argv + argc));
    } catch (const microseg::distributed::AgreedError& e) {
      // Every rank holds the same message; one prints it.
      if (comm.is_root()) std::cerr << "microseg: error: " << e.what() << std::endl;
      exit_code = exit_usage;
    } catch (const std::exception& e) {
      // Found by this rank alone: the others may wait in a collective, so end the job.
      comm.abort(e.what());
    }
  }
  MPI_Finalize();
  return exit_code;
}
