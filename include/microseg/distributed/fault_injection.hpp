#pragma once
/// \file A failure-injection hook for tests: one rank fails on purpose at a named stage, so the
/// tests can check that a failure on one rank ends the whole job cleanly.
///
/// The hook is driven by the environment variable `MICROSEG_INJECT_FAILURE=rank:stage:kind`:
/// when the rank numbered `rank` in the communicator passed reaches the stage named `stage`,
/// - `throw`: a std::runtime_error naming the rank and stage is thrown (an allocation failure or
///   a bug on one rank);
/// - `input-error`: an InputError is thrown on that rank alone (a check meant to strike every
///   rank alike that did not, e.g. the file changed under one rank);
/// - `abort`: std::abort(), death by SIGABRT (a failed assertion);
/// - `segfault`: the process raises SIGSEGV (a wild pointer);
/// - `stall`: the rank sleeps 100 ms and goes on (a slow rank; the others wait for it), so a
///   test can deliver a signal while a run is at that stage;
/// - `sigstop`: the process raises SIGSTOP and stays stopped until SIGCONT or SIGKILL (a rank
///   that stops answering without dying; the others' stall watchdogs end the job);
/// - `pause-S`: the rank sleeps S seconds (a number > 0, e.g. `pause-3` or `pause-0.5`) and goes
///   on (a short stall a job must survive when S is below --stall-timeout, or a long one that
///   ends it).
/// A stage that is reached several times (`iteration` after every Lloyd iteration, `read` at
/// every read of the customer table, `checkpoint` at every checkpoint) fails each time it is
/// reached; `sigstop` stops the rank the first time.
///
/// Stages, in the order a `segment` run reaches them (each is also the phase the stall watchdog
/// names, stall_watchdog.hpp):
/// - `start`: main, right after MPI_Init and before the host-name gather (every command); the
///   run stays in phase `start` until `read`;
/// - `read`: io::read_customer_block, after the file is opened and before the collective reads
///   (the customer table's read; also the profiles' second read of it, in `metrics`);
/// - `seeding`: distributed::fit_kmeans, before each restart's seeding (not when resuming);
/// - `iteration`: after each Lloyd iteration, before the ranks agree on a stop or a checkpoint;
/// - `checkpoint`: io::write_checkpoint, the checkpoint complete under its temporary name;
/// - `metrics`: the final assignment, quality metrics and profiles start (segment, promote);
/// - `migration`: the comparison with the previous run starts (`--previous` only);
/// - `write`: io::detail::PendingOutputs::commit of the outputs (not of checkpoints): every
///   output complete under its temporary name, nothing moved into place yet.
/// `assign` reaches `read` and `write`; `sweep` `read`, `seeding`, `iteration`, `metrics` and
/// `write` (its model files, per k); `ingest` and `generate` reach `write`.
///
/// Without the variable the hook only reads it.
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// The environment variable that asks for a failure.
inline constexpr const char* inject_failure_variable = "MICROSEG_INJECT_FAILURE";

/// Fails as MICROSEG_INJECT_FAILURE asks when this rank of `comm` reaches `stage`; otherwise
/// returns at once. Throws std::invalid_argument naming the variable when its value is not
/// `rank:stage:kind` with a known kind, so a mistyped test cannot pass by never failing.
void maybe_inject_failure(const Communicator& comm, const char* stage);

/// A phase of the run starts: names it for the stall watchdog (mark_phase) and runs the hook of
/// the stage of the same name. `phase` must be a string literal.
void enter_phase(const Communicator& comm, const char* phase);

}  // namespace microseg::distributed
