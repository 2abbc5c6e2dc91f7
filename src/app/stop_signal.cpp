#include "microseg/app/stop_signal.hpp"

#include <csignal>

namespace microseg::app {
namespace {

// Only a volatile sig_atomic_t may be written from a handler.
volatile std::sig_atomic_t received_signal = 0;

extern "C" void note_stop_signal(int signal) {
  received_signal = signal;
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

}  // namespace microseg::app
