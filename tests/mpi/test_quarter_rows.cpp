// Successive quarters across ranks: the rebalance of contiguous row blocks keeps the row order
// whatever the split and the round size, and a quarter drawn on P ranks equals the one drawn on
// a single rank.
#include <mpi.h>

#include <catch2/catch.hpp>

#include "microseg/distributed/quarter_rows.hpp"

using namespace microseg;
using distributed::Communicator;

TEST_CASE("rebalance_rows moves uneven blocks into equal ones in row order") {
  const Communicator comm;
  // Rank r holds 3 + 7r rows; the table has 5 rows more, which nobody sends.
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) counts[static_cast<std::size_t>(r)] = 3 + 7 * r;
  const std::int64_t begin = comm.exclusive_prefix_sum(counts[comm.rank()]);
  const std::int64_t held = comm.sum(counts[comm.rank()]);
  std::vector<QuarterCustomer> local(static_cast<std::size_t>(counts[comm.rank()]));
  for (std::size_t i = 0; i < local.size(); ++i) local[i].id = begin + static_cast<std::int64_t>(i);
  for (const std::int64_t window : {std::int64_t{0}, std::int64_t{1}, std::int64_t{4}}) {
    const std::vector<QuarterCustomer> moved =
        distributed::rebalance_rows(comm, local, begin, held + 5, window);
    const RowRange target = distributed::block_of_rows(held + 5, comm.rank(), comm.size());
    const std::int64_t expected = std::max<std::int64_t>(
        0, std::min(target.end, held) - std::max(target.begin, std::int64_t{0}));
    REQUIRE(static_cast<std::int64_t>(moved.size()) == std::min(expected, target.size()));
    for (std::size_t i = 0; i < moved.size(); ++i) {
      CHECK(moved[i].id == target.begin + static_cast<std::int64_t>(i));
    }
  }
}

TEST_CASE("a quarter drawn on P ranks equals the quarter drawn on one") {
  const Communicator comm;
  const Communicator self(MPI_COMM_SELF);
  QuartersSpec spec;
  spec.base = SyntheticSpec{997, 5, 3.0, 8};
  spec.quarters = 4;
  spec.migration_rate = 0.3;
  spec.churn_rate = 0.2;
  spec.new_customers = 101;
  const PlantedMovement movement = plant_movement(spec);
  distributed::QuarterRows spread = distributed::first_quarter_rows(comm, spec);
  distributed::QuarterRows alone = distributed::first_quarter_rows(self, spec);
  for (int quarter = 2; quarter <= spec.quarters; ++quarter) {
    spread = distributed::next_quarter_rows(comm, spec, movement, spread);
    alone = distributed::next_quarter_rows(self, spec, movement, alone);
    REQUIRE(spread.total == alone.total);
    REQUIRE(spread.rows.size() == static_cast<std::int64_t>(spread.customers.size()));
    const std::vector<QuarterCustomer> all = comm.all_gather(spread.customers);
    REQUIRE(all.size() == alone.customers.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      CHECK(all[i].id == alone.customers[i].id);
      CHECK(all[i].segment == alone.customers[i].segment);
      CHECK(all[i].moved_down == alone.customers[i].moved_down);
      CHECK(all[i].birth_row == alone.customers[i].birth_row);
    }
  }
}
