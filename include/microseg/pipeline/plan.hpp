#pragma once
/// \file How a command's plan reaches every rank: rank 0 makes it (parses the command line and
/// job file), a failure there is agreed between ranks, and the plan is broadcast with
/// Boost.Serialization, so every rank runs the same one.
#include <optional>
#include <string>

#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

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
  return plan;
}

}  // namespace microseg::pipeline
