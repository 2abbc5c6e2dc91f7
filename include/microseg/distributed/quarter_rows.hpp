#pragma once
/// \file Successive quarters of a synthetic base across ranks (`microseg generate --quarters`):
/// each rank holds a contiguous block of a quarter's rows; the next quarter keeps the survivors
/// in row order, appends the new customers, and is rebalanced into blocks of equal size, so
/// every quarter's table is the same for any rank count and nothing is gathered on one rank.
#include <cstdint>
#include <vector>

#include "microseg/core/synthetic_quarters.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// A rank's rows of one quarter: block_of_rows(total) of the quarter's table, in row order.
struct QuarterRows {
  int quarter = 1;
  RowRange rows;
  std::int64_t total = 0;
  std::vector<QuarterCustomer> customers;
};

/// Collective: rows [begin, begin + local.size()) of a table of `total` rows held in rank order
/// are moved so that every rank holds block_of_rows(total) of it, of which it receives the part
/// below the sum of the local counts (all-to-alls in rounds of at most
/// detail::exchange_round_bytes per rank, or `window_rows` rows when > 0; records keep their
/// order).
std::vector<QuarterCustomer> rebalance_rows(const Communicator& comm,
                                            const std::vector<QuarterCustomer>& local,
                                            std::int64_t begin, std::int64_t total,
                                            std::int64_t window_rows = 0);

/// Collective: quarter 1, this rank's block of the base.
QuarterRows first_quarter_rows(const Communicator& comm, const QuartersSpec& spec);

/// Collective: the quarter after `current`: survivors (advance_customer) in the order of
/// current's rows, then the new customers, each rank generating those of its new block.
QuarterRows next_quarter_rows(const Communicator& comm, const QuartersSpec& spec,
                              const PlantedMovement& movement, const QuarterRows& current);

}  // namespace microseg::distributed
