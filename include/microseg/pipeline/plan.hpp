#pragma once
/// \file How a command's plan reaches every rank: rank 0 makes it (parses the command line and
/// job file), a failure there is agreed between ranks, and the plan is broadcast with
/// Boost.Serialization, so every rank runs the same one. The option every command shares,
/// --stall-timeout, travels the same way beside the plan.
#include <cstdint>
#include <optional>
#include <string>

#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/stall_watchdog.hpp"

namespace microseg::pipeline {

/// The --stall-timeout (seconds) that rank 0's options gave, -1 when none did: set by the option
/// parser (app::OptionReader) on rank 0 and handed to every rank's watchdog by plan_on_root.
inline std::int64_t& requested_stall_timeout() {
  static std::int64_t seconds = -1;
  return seconds;
}

/// Collective: `make()` on rank 0; its exception (an InputError naming the option) becomes the
/// same AgreedError on every rank; otherwise every rank returns rank 0's plan.
template <class Plan, class Make>
Plan plan_on_root(const distributed::Communicator& comm, Make make) {
  Plan plan;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      plan = make();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  comm.broadcast_object(plan);
  // Rank 0's value reaches every rank (the others give -1, so the maximum is rank 0's).
  const std::int64_t stall_timeout =
      comm.max(comm.is_root() ? requested_stall_timeout() : std::int64_t{-1});
  if (stall_timeout >= 0) distributed::set_stall_timeout(static_cast<int>(stall_timeout));
  return plan;
}

}  // namespace microseg::pipeline
