#include "microseg/pipeline/stop_signal.hpp"

#include <csignal>

#include "microseg/distributed/stall_watchdog.hpp"

namespace microseg::pipeline {
namespace {

// Only a volatile sig_atomic_t may be written from a handler.
volatile std::sig_atomic_t received_signal = 0;

extern "C" void note_stop_signal(int signal) {
  received_signal = signal;
  // Named once per rank: when a rank or host dies, mpiexec ends the others with SIGTERM (and
  // SIGKILL a second later), and this line is all that tells in which phase they were.
  if (signal == SIGTERM) distributed::report_stop_signal(signal, false);
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = note_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal_received() {
  return received_signal;
}

const char* stop_signal_name(int signal) {
  switch (signal) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

bool stop_agreed(const distributed::Communicator& comm) {
  return comm.any(stop_signal_received() != 0);
}

std::string stopped_on_signal(const distributed::Communicator& comm) {
  const auto signal = comm.max(static_cast<std::int64_t>(stop_signal_received()));
  return std::string("stopped on ") + stop_signal_name(static_cast<int>(signal));
}

}  // namespace microseg::pipeline
