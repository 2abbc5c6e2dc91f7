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
///   test can deliver a signal while a run is at that stage.
///
/// Without the variable the hook only reads it. Stages placed so far: `read`
/// (io::read_customer_block, after the file is opened and before the collective reads) and
/// `write` (io::detail::PendingOutputs::commit: every output complete under its temporary name,
/// nothing moved into place yet) and `iteration` (after each Lloyd iteration, before the ranks
/// agree on a stop or a checkpoint).
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// The environment variable that asks for a failure.
inline constexpr const char* inject_failure_variable = "MICROSEG_INJECT_FAILURE";

/// Fails as MICROSEG_INJECT_FAILURE asks when this rank of `comm` reaches `stage`; otherwise
/// returns at once. Throws std::invalid_argument naming the variable when its value is not
/// `rank:stage:kind` with a known kind, so a mistyped test cannot pass by never failing.
void maybe_inject_failure(const Communicator& comm, const char* stage);

}  // namespace microseg::distributed
