#pragma once
/// \file The stall watchdog: a rank that stops answering (stopped, its link cut, its packets
/// dropped) would leave every other rank blocked in a collective forever. Each rank runs one
/// watchdog thread; the main thread marks every blocking section (each collective of the
/// Communicator, the collective HDF5 calls of io) with a BlockingSection. When one section has
/// made no progress for --stall-timeout seconds, the thread writes one line to stderr and ends
/// the process with exit_stalled, which makes mpiexec (or srun --kill-on-bad-exit) end the job.
///
/// Why it is safe (docs/architecture.md, "The stall watchdog"): the thread makes no MPI call, so
/// MPI's thread level is not involved; it ends the process with _exit(), not MPI_Abort (which can
/// block on the dead peer); outputs in progress live under temporary names and checkpoints are
/// renamed into place whole, so a killed job leaves nothing that looks complete and --resume
/// continues from the last checkpoint.
///
/// Cost: marking a section is two plain atomic stores by the main thread (no system call, no
/// clock read); the watchdog thread reads the marks a few times a second.

namespace microseg::distributed {

class Communicator;

/// Exit status of a job ended by the watchdog (EX_PROTOCOL of sysexits.h: the other side of a
/// conversation stopped answering). Distinct from bad input (2), an agreed stop on a signal
/// (75) and MPI_Abort's status (3).
inline constexpr int exit_stalled = 76;

/// The default of --stall-timeout, in seconds.
inline constexpr int default_stall_timeout_seconds = 300;

/// The watchdog thread of this process: started once, after MPI_Init, by main; stopped and
/// joined by the destructor. Blocks every signal in its thread, so the stop signals keep going
/// to the main thread.
class StallWatchdog {
 public:
  /// Not collective: starts the thread at once (so a rank that stops before the plan, even in
  /// the host-name gather, is caught), and prepares the line a SIGTERM writes
  /// (report_stop_signal). When SIGTERM has its default action here, installs a handler that
  /// writes that line and then ends the process by SIGTERM as before.
  explicit StallWatchdog(const Communicator& world);
  /// Collective over `world` (MPI_COMM_WORLD), under the watchdog: gathers every rank's host
  /// name, so a message can name the host of a rank that does not answer.
  void name_hosts(const Communicator& world);
  ~StallWatchdog();
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;
};

/// Async-signal-safe, for a SIGTERM handler: writes one line (write(2), once per process) naming
/// this rank, its host, the phase and the blocking call it waits in, e.g. "microseg: rank 0 on
/// h1: received SIGTERM in phase iteration (waiting in MPI_Allreduce)". mpiexec sends SIGTERM
/// to the surviving ranks when a rank or host dies (SIGKILL follows a second later), so every
/// fault names its phase. `ending`: the process ends on this signal ("ended by SIGTERM").
/// Nothing is written before the StallWatchdog exists.
void report_stop_signal(int signal, bool ending) noexcept;

/// Sets the stall timeout of this process in seconds (0: off); default_stall_timeout_seconds
/// until set. Every rank sets the same value (pipeline::plan_on_root hands it out with the plan).
void set_stall_timeout(int seconds);
int stall_timeout();

/// Names the phase the run is in, for the watchdog's message: one of the stages of
/// fault_injection.hpp ("read", "seeding", "iteration", "metrics", "migration", "write", …).
/// `phase` must be a string literal (it is kept as a pointer).
void mark_phase(const char* phase);
/// The phase marked last ("start" before any).
const char* current_phase();

/// Names the rank (of MPI_COMM_WORLD) the open section waits for, when one is known (the
/// agreement on errors knows which ranks have not sent their flag yet); -1: none known. The
/// watchdog's message then names that rank and its host. Main thread only.
void mark_awaited_rank(int world_rank);

/// Marks a blocking section of the main thread for the watchdog: from construction to
/// destruction the section must make progress within the stall timeout. Sections may nest (an
/// inner section ending counts as progress). `what` names the call, e.g. "MPI_Allreduce"; it
/// must be a string literal. Only the thread that makes MPI calls may use it.
class BlockingSection {
 public:
  explicit BlockingSection(const char* what) noexcept;
  ~BlockingSection();
  BlockingSection(const BlockingSection&) = delete;
  BlockingSection& operator=(const BlockingSection&) = delete;

 private:
  const char* outer_;  // the enclosing section's name, named again when this one ends
};

}  // namespace microseg::distributed
