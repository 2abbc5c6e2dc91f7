// microseg: the command-line entry point. It finds the subcommand in the command table and runs
// it on every rank; errors agreed between ranks end every rank cleanly with exit status 2.
#include <mpi.h>

#include <iostream>
#include <string>
#include <vector>

#include "microseg/app/command.hpp"
#include "microseg/distributed/communicator.hpp"

namespace {

constexpr int exit_usage = 2;

std::string program_usage() {
  std::string text = std::string("microseg ") + MICROSEG_VERSION +
                     ": customer micro-segmentation on MPI clusters\n\n"
                     "usage: mpiexec -n P microseg <command> [options]\n\ncommands:\n";
  for (const auto& command : microseg::app::commands()) {
    std::string name = command.name;
    name.resize(std::max<std::size_t>(name.size() + 2, 18), ' ');
    text += "  " + name + command.summary + "\n";
  }
  return text + "\n'microseg <command> --help' lists a command's options.\n";
}

int run(const microseg::distributed::Communicator& comm, const std::vector<std::string>& argv) {
  const std::string name = argv.empty() ? "" : argv.front();
  const std::vector<std::string> arguments(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (name.empty() || name == "--help" || name == "-h" || name == "help") {
    if (comm.is_root()) std::cout << program_usage();
    return name.empty() ? exit_usage : 0;
  }
  if (name == "--version") {
    if (comm.is_root()) std::cout << "microseg " << MICROSEG_VERSION << "\n";
    return 0;
  }
  for (const auto& command : microseg::app::commands()) {
    if (name != command.name) continue;
    for (const auto& a : arguments) {
      if (a == "--help" || a == "-h") {
        if (comm.is_root()) std::cout << command.usage();
        return 0;
      }
    }
    command.run(comm, arguments);
    return 0;
  }
  if (comm.is_root()) {
    std::cerr << "microseg: error: unknown command '" << name << "'\n\n" << program_usage();
  }
  return exit_usage;
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
