#include "microseg/distributed/fault_injection.hpp"

#include "microseg/distributed/stall_watchdog.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace microseg::distributed {
namespace {

enum class FailureKind { throw_exception, input_error, abort, segfault, stall, sigstop, pause };

struct InjectedFailure {
  int rank = -1;
  std::string stage;
  FailureKind kind = FailureKind::throw_exception;
  double pause_seconds = 0;  // pause-S
};

std::invalid_argument malformed(const std::string& value, const std::string& why) {
  return std::invalid_argument(
      std::string(inject_failure_variable) + "='" + value + "' is malformed: " + why +
      " (expected rank:stage:kind, kind throw, input-error, abort, segfault, stall, sigstop or "
      "pause-S with S seconds > 0)");
}

// The S of pause-S: seconds, a number > 0 (at most a day).
double pause_seconds(const std::string& value, const std::string& text) {
  std::size_t used = 0;
  double seconds = 0;
  try {
    seconds = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(seconds > 0 && seconds <= 86400)) {
    throw malformed(value, "pause-S needs S, the seconds to pause, a number > 0");
  }
  return seconds;
}

std::optional<InjectedFailure> parse(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  const std::string value(text);
  const auto first = value.find(':');
  const auto last = value.rfind(':');
  if (first == std::string::npos || first == last) throw malformed(value, "two ':' are needed");
  InjectedFailure failure;
  const std::string rank = value.substr(0, first);
  if (rank.empty() || rank.find_first_not_of("0123456789") != std::string::npos ||
      rank.size() > 9) {
    throw malformed(value, "the rank must be a non-negative integer");
  }
  failure.rank = std::stoi(rank);
  failure.stage = value.substr(first + 1, last - first - 1);
  if (failure.stage.empty()) throw malformed(value, "the stage is empty");
  const std::string kind = value.substr(last + 1);
  if (kind == "throw") {
    failure.kind = FailureKind::throw_exception;
  } else if (kind == "input-error") {
    failure.kind = FailureKind::input_error;
  } else if (kind == "abort") {
    failure.kind = FailureKind::abort;
  } else if (kind == "segfault") {
    failure.kind = FailureKind::segfault;
  } else if (kind == "stall") {
    failure.kind = FailureKind::stall;
  } else if (kind == "sigstop") {
    failure.kind = FailureKind::sigstop;
  } else if (kind.rfind("pause-", 0) == 0) {
    failure.kind = FailureKind::pause;
    failure.pause_seconds = pause_seconds(value, kind.substr(6));
  } else {
    throw malformed(value, "unknown kind '" + kind + "'");
  }
  return failure;
}

}  // namespace

void maybe_inject_failure(const Communicator& comm, const char* stage) {
  // Read at every call (a few per run), so a test may set and clear the variable.
  const std::optional<InjectedFailure> failure = parse(std::getenv(inject_failure_variable));
  if (!failure || failure->rank != comm.rank() || failure->stage != stage) return;
  switch (failure->kind) {
    case FailureKind::throw_exception:
      throw std::runtime_error("injected failure on rank " + std::to_string(comm.rank()) +
                               " at stage '" + failure->stage + "' (" + inject_failure_variable +
                               ")");
    case FailureKind::input_error:
      throw InputError("injected input error on rank " + std::to_string(comm.rank()) +
                       " alone at stage '" + failure->stage + "' (" + inject_failure_variable +
                       ")");
    case FailureKind::abort:
      std::abort();
    case FailureKind::segfault:
      // raise() rather than a bad pointer: a real SIGSEGV without undefined behaviour, so the
      // sanitizer build sees the same crash.
      std::raise(SIGSEGV);
      std::abort();  // in case a handler returns
    case FailureKind::stall:
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return;
    case FailureKind::sigstop:
      // The whole process stops (its watchdog thread too) and stays stopped until SIGCONT or
      // SIGKILL: a rank that stops answering without dying.
      std::raise(SIGSTOP);
      return;
    case FailureKind::pause:
      std::this_thread::sleep_for(std::chrono::duration<double>(failure->pause_seconds));
      return;
  }
}

void enter_phase(const Communicator& comm, const char* phase) {
  mark_phase(phase);
  maybe_inject_failure(comm, phase);
}

}  // namespace microseg::distributed
