#include "microseg/distributed/stall_watchdog.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// What the main thread publishes and the watchdog thread reads. `epoch` counts every start and
// end of a section: odd while a section is open. Only the main thread writes `epoch`, `what`
// and `depth`, so a plain load and store replace a read-modify-write.
struct Marks {
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<const char*> what{""};
  std::atomic<const char*> phase{"start"};
  std::atomic<int> timeout_seconds{default_stall_timeout_seconds};
  std::atomic<int> awaited_rank{-1};
  int depth = 0;  // open sections, main thread only
};

Marks marks;

// The watchdog thread's own state, and how the destructor stops it.
struct Watcher {
  int rank = 0;
  std::string own_host;            // this rank's, known from the start
  std::vector<std::string> hosts;  // of every rank of MPI_COMM_WORLD, once hosts_known
  std::atomic<bool> hosts_known{false};
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;
};

Watcher* watcher = nullptr;

// A poll every tenth of the timeout (between 50 ms and 1 s): the job ends within the timeout
// plus one poll.
Clock::duration poll_interval(int timeout_seconds) {
  const auto tenth = std::chrono::milliseconds(100) * std::max(timeout_seconds, 1);
  return std::clamp<Clock::duration>(tenth, std::chrono::milliseconds(50), std::chrono::seconds(1));
}

const char* host_of(const Watcher& self, int rank) {
  if (!self.hosts_known.load(std::memory_order_acquire)) {
    return rank == self.rank ? self.own_host.c_str() : "an unknown host";
  }
  return rank >= 0 && static_cast<std::size_t>(rank) < self.hosts.size()
             ? self.hosts[static_cast<std::size_t>(rank)].c_str()
             : "an unknown host";
}

[[noreturn]] void end_stalled_job(const Watcher& self, int timeout_seconds) {
  // One write(2) of one line: the main thread is blocked, and stdio locks may be held by it.
  char awaited[320] = "";
  const int awaited_rank = marks.awaited_rank.load(std::memory_order_acquire);
  if (awaited_rank >= 0) {
    std::snprintf(awaited, sizeof awaited, "; rank %d on %s has not answered", awaited_rank,
                  host_of(self, awaited_rank));
  }
  char line[1024];
  const int length = std::snprintf(
      line, sizeof line,
      "microseg: error: rank %d on %s: no progress for %d s in phase %s (%s%s); a rank or the "
      "network stopped answering; ending the job (exit status %d)\n",
      self.rank, host_of(self, self.rank), timeout_seconds,
      marks.phase.load(std::memory_order_acquire), marks.what.load(std::memory_order_acquire),
      awaited, exit_stalled);
  if (length > 0) {
    const auto size = std::min<std::size_t>(static_cast<std::size_t>(length), sizeof line - 1);
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line, size);
  }
  ::_exit(exit_stalled);
}

void watch(Watcher& self) {
  std::uint64_t seen = 0;
  Clock::time_point since = Clock::now();
  std::unique_lock<std::mutex> lock(self.mutex);
  for (;;) {
    const int timeout = marks.timeout_seconds.load(std::memory_order_relaxed);
    self.wake.wait_for(lock, poll_interval(timeout), [&] { return self.stopping; });
    if (self.stopping) return;
    const std::uint64_t epoch = marks.epoch.load(std::memory_order_acquire);
    const Clock::time_point now = Clock::now();
    if (timeout <= 0 || epoch % 2 == 0 || epoch != seen) {
      seen = epoch;  // disarmed, or progress since the last look
      since = now;
      continue;
    }
    if (now - since >= std::chrono::seconds(timeout)) end_stalled_job(self, timeout);
  }
}

// The SIGTERM line's start, "microseg: rank R on HOST", built before any handler may use it.
char signal_prefix[160] = "";
volatile std::sig_atomic_t signal_prefix_ready = 0;
volatile std::sig_atomic_t signal_reported = 0;

// Appends `text` to `line` (async-signal-safe: no allocation, no locale).
void append(char* line, std::size_t capacity, std::size_t& length, const char* text) {
  while (*text != '\0' && length + 1 < capacity) line[length++] = *text++;
  line[length] = '\0';
}

extern "C" void report_and_end(int signal) {
  report_stop_signal(signal, true);
  std::signal(signal, SIG_DFL);
  std::raise(signal);  // delivered when the handler returns: the process ends by the signal
}

// Fixed-size names: the thread may not call MPI, so it must know them all.
constexpr std::size_t name_bytes = 64;

std::vector<char> own_host_name() {
  std::vector<char> name(name_bytes, '\0');
  if (::gethostname(name.data(), name_bytes - 1) != 0) std::snprintf(name.data(), name_bytes, "?");
  name.back() = '\0';
  return name;
}

void prepare_signal_report(const Watcher& self) {
  std::snprintf(signal_prefix, sizeof signal_prefix, "microseg: rank %d on %s", self.rank,
                self.own_host.c_str());
  signal_prefix_ready = 1;
  struct sigaction current {};
  if (sigaction(SIGTERM, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    struct sigaction action {};
    action.sa_handler = report_and_end;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
  }
}

}  // namespace

void report_stop_signal(int signal, bool ending) noexcept {
  if (signal_prefix_ready == 0 || signal_reported != 0) return;
  signal_reported = 1;
  char line[512];
  std::size_t length = 0;
  append(line, sizeof line, length, signal_prefix);
  append(line, sizeof line, length, ending ? ": ended by " : ": received ");
  append(line, sizeof line, length, signal == SIGTERM ? "SIGTERM" : "a signal");
  append(line, sizeof line, length, " in phase ");
  append(line, sizeof line, length, marks.phase.load(std::memory_order_acquire));
  const bool waiting = marks.epoch.load(std::memory_order_acquire) % 2 == 1;
  append(line, sizeof line, length, waiting ? " (waiting in " : " (computing");
  if (waiting) append(line, sizeof line, length, marks.what.load(std::memory_order_acquire));
  append(line, sizeof line, length, ")\n");
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line, length);
}

StallWatchdog::StallWatchdog(const Communicator& world) {
  auto* self = new Watcher;
  self->rank = world.rank();
  self->own_host = own_host_name().data();
  prepare_signal_report(*self);
  // Started with every signal blocked, so SIGUSR1 and SIGTERM keep reaching the main thread.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  self->thread = std::thread([self] { watch(*self); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  watcher = self;
}

void StallWatchdog::name_hosts(const Communicator& world) {
  if (watcher == nullptr || watcher->hosts_known.load(std::memory_order_acquire)) return;
  const std::vector<char> names = world.all_gather(own_host_name());  // a blocking section
  for (std::size_t offset = 0; offset + name_bytes <= names.size(); offset += name_bytes) {
    watcher->hosts.emplace_back(names.data() + offset);
  }
  watcher->hosts_known.store(true, std::memory_order_release);
}

StallWatchdog::~StallWatchdog() {
  Watcher* self = watcher;
  watcher = nullptr;
  {
    const std::lock_guard<std::mutex> lock(self->mutex);
    self->stopping = true;
  }
  self->wake.notify_one();
  self->thread.join();
  delete self;
}

void set_stall_timeout(int seconds) {
  marks.timeout_seconds.store(std::max(seconds, 0), std::memory_order_relaxed);
}

int stall_timeout() {
  return marks.timeout_seconds.load(std::memory_order_relaxed);
}

void mark_phase(const char* phase) {
  marks.phase.store(phase, std::memory_order_release);
}

const char* current_phase() {
  return marks.phase.load(std::memory_order_acquire);
}

void mark_awaited_rank(int world_rank) {
  marks.awaited_rank.store(world_rank, std::memory_order_release);
}

BlockingSection::BlockingSection(const char* what) noexcept
    : outer_(marks.what.load(std::memory_order_relaxed)) {
  marks.what.store(what, std::memory_order_relaxed);
  const std::uint64_t epoch = marks.epoch.load(std::memory_order_relaxed);
  // Odd while open; a nested start moves to the next odd value (a new section, so progress).
  marks.epoch.store(epoch + (marks.depth++ == 0 ? 1 : 2), std::memory_order_release);
}

BlockingSection::~BlockingSection() {
  marks.what.store(outer_, std::memory_order_relaxed);
  const std::uint64_t epoch = marks.epoch.load(std::memory_order_relaxed);
  // The outer section goes on after an inner one ends: still open, with progress made.
  marks.epoch.store(epoch + (--marks.depth == 0 ? 1 : 2), std::memory_order_release);
}

}  // namespace microseg::distributed
