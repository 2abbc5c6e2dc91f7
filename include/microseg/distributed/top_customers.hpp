#pragma once
/// \file The N customers of highest score over every rank (`forecast --top`): each rank's own N
/// best, gathered, and the best N of those, the same list on every rank for any rank count.
#include <cstdint>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// One customer of a ranking (trivially copyable, no padding bytes left uninitialised).
struct RankedCustomer {
  std::int64_t id = 0;
  double score = 0;
  std::int32_t segment = -1;
  std::int32_t flag = 0;  ///< carried along (forecast: moved_down)
};

/// Collective: the `count` customers of highest score over all ranks, highest first, ties by
/// ascending id, on every rank.
std::vector<RankedCustomer> global_top(const Communicator& comm, std::vector<RankedCustomer> local,
                                       std::size_t count);

}  // namespace microseg::distributed
