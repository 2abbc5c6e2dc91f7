// Agreement on errors between ranks (point to point, so a failed rank can stop waiting) and the
// failure-injection hook, at whatever rank count the test runs with.
#include <mpi.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/fault_injection.hpp"

using microseg::InputError;
using microseg::distributed::AgreedError;
using microseg::distributed::Communicator;
using microseg::distributed::maybe_inject_failure;

namespace {

// The message agree() throws on this rank, or "" when it returns.
std::string agreed_message(const Communicator& comm, const std::optional<std::string>& local) {
  try {
    comm.agree(local);
  } catch (const AgreedError& e) {
    return e.what();
  }
  return "";
}

// Sets MICROSEG_INJECT_FAILURE for one scope.
class InjectionVariable {
 public:
  explicit InjectionVariable(const std::string& value) {
    setenv(microseg::distributed::inject_failure_variable, value.c_str(), 1);
  }
  InjectionVariable(const InjectionVariable&) = delete;
  InjectionVariable& operator=(const InjectionVariable&) = delete;
  ~InjectionVariable() { unsetenv(microseg::distributed::inject_failure_variable); }
};

}  // namespace

TEST_CASE("agree settles on the lowest failing rank in every one of many rounds") {
  const Communicator comm;
  // Rounds with no, one or several failing ranks in turn: a message of one round must never be
  // taken for another's, since the rounds reuse the same tags.
  for (int round = 0; round < 60; ++round) {
    const bool first_fails = round % 3 == 0 && comm.rank() == round % comm.size();
    const bool last_fails = round % 5 == 0 && comm.rank() == comm.size() - 1;
    std::optional<std::string> local;
    if (first_fails || last_fails) {
      local = "round " + std::to_string(round) + " failed on rank " + std::to_string(comm.rank());
    }
    int lowest = comm.size();
    if (round % 3 == 0) lowest = round % comm.size();
    if (round % 5 == 0) lowest = std::min(lowest, comm.size() - 1);
    const std::string expected =
        lowest == comm.size()
            ? ""
            : "round " + std::to_string(round) + " failed on rank " + std::to_string(lowest);
    REQUIRE(agreed_message(comm, local) == expected);
  }
}

TEST_CASE("agree on a sub-communicator keeps apart from agree on the world") {
  const Communicator world;
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank() % 2, world.rank(), &half);
  {
    const Communicator group(half);
    for (int round = 0; round < 10; ++round) {
      // Each half fails on its own last rank; the world fails on rank 0 only in odd rounds.
      const bool group_fails = group.rank() == group.size() - 1;
      const std::string group_message =
          "half " + std::to_string(world.rank() % 2) + " round " + std::to_string(round);
      CHECK(agreed_message(group, group_fails ? std::optional<std::string>(group_message)
                                              : std::nullopt) == group_message);
      const bool world_fails = round % 2 == 1 && world.is_root();
      const std::string world_message = "world round " + std::to_string(round);
      CHECK(agreed_message(
                world, world_fails ? std::optional<std::string>(world_message) : std::nullopt) ==
            (round % 2 == 1 ? world_message : ""));
    }
  }
  MPI_Comm_free(&half);
}

TEST_CASE("a failing rank waits for ranks still busy among themselves, then agrees") {
  const Communicator world;
  const int failing = world.size() - 1;
  // The others first finish a collective of their own that the failing rank is not part of,
  // slowly, so the failing rank's flag arrives long before they come to agree.
  MPI_Comm others = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank() == failing ? MPI_UNDEFINED : 0, world.rank(),
                 &others);
  if (others != MPI_COMM_NULL) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(Communicator(others).sum(std::int64_t{1}) == world.size() - 1);
    MPI_Comm_free(&others);
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string message = agreed_message(
      world, world.rank() == failing ? std::optional<std::string>("late") : std::nullopt);
  CHECK(message == "late");
  // Well inside the grace period: waiting for slow ranks is not giving up on them.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("an injected failure strikes only its rank and stage, in the kind asked for") {
  const Communicator comm;
  const int last = comm.size() - 1;
  CHECK_NOTHROW(maybe_inject_failure(comm, "mpi-test-stage"));  // no variable: nothing
  {
    const InjectionVariable variable(std::to_string(last) + ":mpi-test-stage:throw");
    CHECK_NOTHROW(maybe_inject_failure(comm, "another-stage"));
    if (comm.rank() == last) {
      CHECK_THROWS_WITH(maybe_inject_failure(comm, "mpi-test-stage"),
                        Catch::Contains("rank " + std::to_string(last)) &&
                            Catch::Contains("stage 'mpi-test-stage'"));
      // An internal failure, not the user's input: it must not pass as an InputError.
      CHECK_THROWS_AS(maybe_inject_failure(comm, "mpi-test-stage"), std::runtime_error);
      CHECK_FALSE([&] {
        try {
          maybe_inject_failure(comm, "mpi-test-stage");
        } catch (const InputError&) {
          return true;
        } catch (...) {
        }
        return false;
      }());
    } else {
      CHECK_NOTHROW(maybe_inject_failure(comm, "mpi-test-stage"));
    }
  }
  {
    const InjectionVariable variable(std::to_string(last) + ":mpi-test-stage:input-error");
    if (comm.rank() == last) {
      CHECK_THROWS_AS(maybe_inject_failure(comm, "mpi-test-stage"), InputError);
    } else {
      CHECK_NOTHROW(maybe_inject_failure(comm, "mpi-test-stage"));
    }
  }
  for (const char* malformed : {"1", "1:mpi-test-stage", "x:mpi-test-stage:throw", "1::throw",
                                "1:mpi-test-stage:explode", "-1:mpi-test-stage:abort"}) {
    const InjectionVariable variable(malformed);
    // Refused on every rank, whichever it names, so a mistyped test cannot pass quietly.
    CHECK_THROWS_AS(maybe_inject_failure(comm, "mpi-test-stage"), std::invalid_argument);
  }
  CHECK_NOTHROW(maybe_inject_failure(comm, "mpi-test-stage"));  // the variable is gone again
}
