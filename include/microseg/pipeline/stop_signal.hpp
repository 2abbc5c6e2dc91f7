#pragma once
/// \file The signals that ask a long run to stop early and resumably: SIGUSR1 (what Slurm sends
/// before a time limit with `--signal=B:USR1@…`, and what Open MPI's mpiexec forwards to its
/// ranks) and SIGTERM (what Slurm sends every task at a time limit or on preemption).
///
/// The handler only notes the signal (async-signal-safe); the run looks at the note at its
/// agreement points, where the ranks decide together, so no rank stops alone.

#include <string>

#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

/// Exit status of a run that stopped on a signal after writing its checkpoint (EX_TEMPFAIL of
/// sysexits.h: try again later, e.g. with --resume after a requeue).
inline constexpr int exit_interrupted = 75;

/// Installs the handlers for SIGUSR1 and SIGTERM in this process (SA_RESTART, so interrupted
/// system calls in MPI or HDF5 resume). Until then the signals keep their default action,
/// which ends the process.
void install_stop_signal_handlers();

/// The stop signal this process received last, or 0 when none arrived.
int stop_signal_received();

/// "SIGUSR1", "SIGTERM", or "a signal" for any other number.
const char* stop_signal_name(int signal);

/// Collective: true on every rank when any rank received a stop signal (an agreement point).
bool stop_agreed(const distributed::Communicator& comm);

/// Collective: "stopped on SIGUSR1" with the signal some rank received (the ranks agreed to stop
/// because at least one did; under mpiexec or srun usually all did).
std::string stopped_on_signal(const distributed::Communicator& comm);

}  // namespace microseg::pipeline
