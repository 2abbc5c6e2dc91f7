#include "microseg/distributed/top_customers.hpp"

#include <algorithm>

namespace microseg::distributed {
namespace {

bool ranks_before(const RankedCustomer& a, const RankedCustomer& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.id < b.id;
}

void keep_best(std::vector<RankedCustomer>& customers, std::size_t count) {
  const std::size_t kept = std::min(count, customers.size());
  std::partial_sort(customers.begin(), customers.begin() + static_cast<std::ptrdiff_t>(kept),
                    customers.end(), ranks_before);
  customers.resize(kept);
}

}  // namespace

std::vector<RankedCustomer> global_top(const Communicator& comm, std::vector<RankedCustomer> local,
                                       std::size_t count) {
  keep_best(local, count);
  std::vector<RankedCustomer> all = comm.all_gather(local);
  keep_best(all, count);
  return all;
}

}  // namespace microseg::distributed
