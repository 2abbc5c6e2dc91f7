#include "microseg/distributed/quarter_rows.hpp"

#include <algorithm>

#include "microseg/distributed/id_partition.hpp"

namespace microseg::distributed {

std::vector<QuarterCustomer> rebalance_rows(const Communicator& comm,
                                            const std::vector<QuarterCustomer>& local,
                                            std::int64_t begin, std::int64_t total,
                                            std::int64_t window_rows) {
  const std::int64_t end = begin + static_cast<std::int64_t>(local.size());
  const std::int64_t held = comm.sum(static_cast<std::int64_t>(local.size()));
  // Rounds over windows of global rows, so no rank sends or receives more than one window's
  // bytes at a time (all_to_all refuses over 1 GiB).
  const std::int64_t window =
      window_rows > 0
          ? window_rows
          : detail::exchange_round_bytes / static_cast<std::int64_t>(sizeof(QuarterCustomer));
  std::vector<QuarterCustomer> received;
  for (std::int64_t first = 0; first < held; first += window) {
    const std::int64_t last = std::min(held, first + window);
    std::vector<std::vector<QuarterCustomer>> outbox(static_cast<std::size_t>(comm.size()));
    for (int rank = 0; rank < comm.size(); ++rank) {
      const RowRange target = block_of_rows(total, rank, comm.size());
      const std::int64_t from = std::max({begin, target.begin, first});
      const std::int64_t to = std::min({end, target.end, last});
      if (from < to) {
        outbox[static_cast<std::size_t>(rank)].assign(local.begin() + (from - begin),
                                                      local.begin() + (to - begin));
      }
    }
    // Senders hold consecutive row ranges in rank order, and windows come in row order, so
    // what arrives is in row order.
    const std::vector<QuarterCustomer> part = comm.all_to_all(outbox);
    received.insert(received.end(), part.begin(), part.end());
  }
  return received;
}

QuarterRows first_quarter_rows(const Communicator& comm, const QuartersSpec& spec) {
  QuarterRows first;
  first.total = spec.base.customers;
  first.rows = block_of_rows(first.total, comm.rank(), comm.size());
  first.customers = first_quarter_customers(spec, first.rows);
  return first;
}

QuarterRows next_quarter_rows(const Communicator& comm, const QuartersSpec& spec,
                              const PlantedMovement& movement, const QuarterRows& current) {
  QuarterRows next;
  next.quarter = current.quarter + 1;
  std::vector<QuarterCustomer> survivors;
  survivors.reserve(current.customers.size());
  for (QuarterCustomer customer : current.customers) {
    if (advance_customer(spec, movement, next.quarter, customer)) survivors.push_back(customer);
  }
  const auto kept = static_cast<std::int64_t>(survivors.size());
  const std::int64_t begin = comm.exclusive_prefix_sum(kept);
  const std::int64_t all_kept = comm.sum(kept);
  next.total = all_kept + spec.new_customers;
  next.rows = block_of_rows(next.total, comm.rank(), comm.size());
  next.customers = rebalance_rows(comm, survivors, begin, next.total);
  // Rows from all_kept on are the new customers, born with consecutive rows of the base.
  const std::int64_t born = first_birth_row(spec, next.quarter);
  for (std::int64_t row = std::max(next.rows.begin, all_kept); row < next.rows.end; ++row) {
    next.customers.push_back(new_customer(spec, movement, next.quarter, born + (row - all_kept)));
  }
  return next;
}

}  // namespace microseg::distributed
