// microseg: the command-line entry point. It finds the subcommand in the command table and runs
// it on every rank; errors agreed between ranks end every rank cleanly with exit status 2.
#include <mpi.h>
#include <omp.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "microseg/app/command.hpp"
#include "microseg/app/progress_printer.hpp"
#include "microseg/app/version.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/pipeline/stop_signal.hpp"
#include "microseg/version.hpp"

namespace {

constexpr int exit_usage = 2;

std::string program_usage() {
  std::string text = std::string("microseg ") + microseg::version_number +
                     ": customer micro-segmentation on MPI clusters\n\n"
                     "usage: mpiexec -n P microseg <command> [options]\n\ncommands:\n";
  for (const auto& command : microseg::app::commands()) {
    std::string name = command.name;
    name.resize(std::max<std::size_t>(name.size() + 2, 18), ' ');
    text += "  " + name + command.summary + "\n";
  }
  return text +
         "\n'microseg <command> --help' lists a command's options, 'microseg --help-all' those of\n"
         "every command, 'microseg --version' the version and the libraries. Every command also\n"
         "takes --threads T: OpenMP threads per rank (default 1, or OMP_NUM_THREADS; e.g.\n"
         "--threads 4), and --quiet (errors and the final summary only) or --verbose (every\n"
         "iteration and per-phase timings); by default progress lines come at most every\n"
         "MICROSEG_PROGRESS_SECONDS (default 5).\n";
}

// The program's usage and every command's options: the text of the man page (help2man).
std::string every_usage() {
  std::string text = program_usage();
  for (const auto& command : microseg::app::commands()) {
    text += std::string("\nmicroseg ") + command.name + ":\n" + command.usage();
  }
  return text;
}

// --threads T applies to every command, so it is taken out here: one OpenMP thread per rank
// unless it (or OMP_NUM_THREADS) says otherwise, since ranks usually fill the cores already.
std::vector<std::string> apply_thread_count(std::vector<std::string> argv) {
  int threads = std::getenv("OMP_NUM_THREADS") ? omp_get_max_threads() : 1;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string value;
    if (argv[i] == "--threads" && i + 1 < argv.size()) {
      value = argv[i + 1];
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i),
                 argv.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else if (argv[i].rfind("--threads=", 0) == 0) {
      value = argv[i].substr(10);
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      continue;
    }
    char* end = nullptr;
    const long parsed = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || parsed < 1 || parsed > 1024) {
      throw microseg::distributed::AgreedError("option --threads: invalid value '" + value +
                                               "' (expected an integer from 1 to 1024)");
    }
    threads = static_cast<int>(parsed);
    break;
  }
  omp_set_num_threads(threads);
  return argv;
}

// --quiet and --verbose apply to every command too; the progress rate limit is checked here so
// a bad MICROSEG_PROGRESS_SECONDS is refused before any work (every rank sees the same values).
void apply_verbosity(std::vector<std::string>& argv) {
  try {
    microseg::app::set_verbosity(microseg::app::take_verbosity_options(argv));
    microseg::app::progress_interval_seconds();
  } catch (const microseg::InputError& e) {
    throw microseg::distributed::AgreedError(e.what());
  }
}

int run(const microseg::distributed::Communicator& comm, std::vector<std::string> argv) {
  argv = apply_thread_count(std::move(argv));
  apply_verbosity(argv);
  const std::string name = argv.empty() ? "" : argv.front();
  const std::vector<std::string> arguments(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (name.empty() || name == "--help" || name == "-h" || name == "help") {
    if (comm.is_root()) std::cout << program_usage();
    return name.empty() ? exit_usage : 0;
  }
  if (name == "--help-all") {
    if (comm.is_root()) std::cout << every_usage();
    return 0;
  }
  if (name == "--version") {
    if (comm.is_root()) std::cout << microseg::app::version_text();
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

// --stall-timeout from this rank's own command line ("--stall-timeout N" or "=N"), so the
// limit holds before the first collective; a value from a job file applies from the plan on,
// and a bad value is refused later by the option reader, alike on every rank.
void take_stall_timeout_from(int argc, char** argv) {
  const std::string option = "--stall-timeout";
  for (int i = 1; i < argc; ++i) {
    std::string value;
    const std::string argument = argv[i];
    if (argument == option && i + 1 < argc) {
      value = argv[i + 1];
    } else if (argument.rfind(option + "=", 0) == 0) {
      value = argument.substr(option.size() + 1);
    } else {
      continue;
    }
    if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != value.npos) {
      return;
    }
    const int seconds = std::stoi(value);
    if (seconds <= 7 * 24 * 3600) microseg::distributed::set_stall_timeout(seconds);
    return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before MPI_Init, which can take seconds at scale: a SIGUSR1 or SIGTERM that arrives during
  // it is noted and acted on at the run's first agreement point instead of killing the rank.
  // Only for the commands that can continue after a stop (segment from its checkpoint, sweep
  // from its finished k values); the others keep the default action (they end).
  if (argc > 1 && (std::string(argv[1]) == "segment" || std::string(argv[1]) == "sweep")) {
    microseg::pipeline::install_stop_signal_handlers();
  }
  // MPI_THREAD_FUNNELED: the process has threads besides the main one (OpenMP's and the stall
  // watchdog's), and only the main thread calls MPI, which is what FUNNELED promises MPI.
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  // From here on every blocking collective runs under the stall watchdog (the command line's
  // --stall-timeout, else the default, until a job file's value reaches every rank with the
  // plan; docs/architecture.md).
  take_stall_timeout_from(argc, argv);
  microseg::distributed::StallWatchdog watchdog{
      microseg::distributed::Communicator(MPI_COMM_WORLD)};
  int exit_code = 0;
  {
    const microseg::distributed::Communicator comm(MPI_COMM_WORLD);
    try {
      microseg::distributed::enter_phase(comm, "start");
      watchdog.name_hosts(comm);
      exit_code = run(comm, std::vector<std::string>(argv + 1, argv + argc));
    } catch (const microseg::distributed::FitInterrupted& e) {
      // Stopped on a signal after a checkpoint (every rank agreed): a distinct status, so a
      // batch script can tell "requeue and resume" from success and from an error.
      // One write: stdout and stderr reach a log through separate pipes, so a message written
      // in pieces can be split by a progress line.
      if (comm.is_root()) {
        std::cerr << std::string("microseg: ") + e.what() + " (exit status " +
                         std::to_string(microseg::pipeline::exit_interrupted) + ")\n"
                  << std::flush;
      }
      exit_code = microseg::pipeline::exit_interrupted;
    } catch (const microseg::distributed::AgreedError& e) {
      // Every rank holds the same message; one prints it.
      if (comm.is_root()) {
        std::cerr << std::string("microseg: error: ") + e.what() + "\n" << std::flush;
      }
      exit_code = exit_usage;
    } catch (const std::exception& e) {
      // Found by this rank alone: the others may wait in a collective, so end the job.
      comm.abort(e.what());
    }
  }
  microseg::distributed::mark_phase("finalize");
  {
    // MPI_Finalize synchronises with every rank: one that stopped answering would hold it.
    const microseg::distributed::BlockingSection section("MPI_Finalize");
    MPI_Finalize();
  }
  return exit_code;
}
