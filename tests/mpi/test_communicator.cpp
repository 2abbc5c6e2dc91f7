// The distributed layer's primitives at whatever rank count the test runs with.
#include <catch2/catch.hpp>
#include <numeric>

#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/id_partition.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/pipeline/segment.hpp"

using microseg::ExactSum;
using microseg::distributed::AgreedError;
using microseg::distributed::block_of_rows;
using microseg::distributed::Communicator;

TEST_CASE("block_of_rows splits rows contiguously in rank order with sizes differing by one") {
  for (std::int64_t total : {0, 1, 3, 10, 1001}) {
    for (int size = 1; size <= 5; ++size) {
      std::int64_t next = 0, smallest = total, largest = 0;
      for (int rank = 0; rank < size; ++rank) {
        auto rows = block_of_rows(total, rank, size);
        REQUIRE(rows.begin == next);
        next = rows.end;
        smallest = std::min(smallest, rows.size());
        largest = std::max(largest, rows.size());
      }
      REQUIRE(next == total);
      REQUIRE(largest - smallest <= 1);
    }
  }
}

TEST_CASE("exact sums of 128-bit fixed-point values are exact across ranks") {
  Communicator comm;
  // Values near 2^100 whose double sum would lose the low bits.
  const ExactSum big = static_cast<ExactSum>(1) << 100;
  std::vector<ExactSum> values{big + comm.rank(), -big + 3, 7};
  comm.sum_in_place(values);
  const ExactSum p = comm.size();
  const ExactSum rank_sum = p * (p - 1) / 2;
  CHECK((values[0] == big * p + rank_sum));
  CHECK((values[1] == (-big + 3) * p));
  CHECK((values[2] == 7 * p));
  CHECK((comm.exclusive_prefix_sum(static_cast<ExactSum>(comm.rank() + 1)) ==
         static_cast<ExactSum>(comm.rank()) * (comm.rank() + 1) / 2));
}

TEST_CASE("all_gather concatenates in rank order and all_to_all delivers per destination") {
  Communicator comm;
  std::vector<int> mine(static_cast<std::size_t>(comm.rank()),
                        comm.rank());  // rank r sends r copies
  std::vector<int> all = comm.all_gather(mine);
  std::vector<int> expected;
  for (int r = 0; r < comm.size(); ++r) expected.insert(expected.end(), r, r);
  CHECK(all == expected);

  std::vector<std::vector<long>> outgoing(comm.size());
  for (int r = 0; r < comm.size(); ++r) outgoing[r] = {100L * comm.rank() + r};
  std::vector<long> incoming = comm.all_to_all(outgoing);
  std::vector<long> expected_in;
  for (int r = 0; r < comm.size(); ++r) expected_in.push_back(100L * r + comm.rank());
  CHECK(incoming == expected_in);
}

TEST_CASE("an error found on one rank is thrown with the same message on every rank") {
  Communicator comm;
  const int failing = comm.size() - 1;
  std::optional<std::string> local;
  if (comm.rank() == failing) local = "bad row 17 on the last rank";
  std::string caught;
  try {
    comm.agree(local);
  } catch (const AgreedError& e) {
    caught = e.what();
  }
  CHECK(caught == "bad row 17 on the last rank");
  // And no error: nothing thrown.
  CHECK_NOTHROW(comm.agree(std::nullopt));
  // run_agreed turns any exception on one rank into the same AgreedError on all.
  std::string from_work;
  try {
    comm.run_agreed([&] {
      if (comm.rank() == 0) throw std::runtime_error("rank 0 could not parse");
    });
  } catch (const AgreedError& e) {
    from_work = e.what();
  }
  CHECK(from_work == "rank 0 could not parse");
}

TEST_CASE("a configuration broadcast with Boost.Serialization arrives whole on every rank") {
  Communicator comm;
  microseg::pipeline::SegmentPlan config;
  if (comm.is_root()) {
    config.input = "in.h5";
    config.k = 37;
    config.features = {"age", "monetary"};
    config.scale = microseg::ScaleKind::minmax;
    config.init = microseg::InitKind::kmeans_plus_plus;
    config.tolerance = 1e-7;
    config.seed = 123456789012345ULL;
  }
  comm.broadcast_object(config);
  CHECK(config.input == "in.h5");
  CHECK(config.k == 37);
  CHECK(config.features == std::vector<std::string>{"age", "monetary"});
  CHECK(config.scale == microseg::ScaleKind::minmax);
  CHECK(config.init == microseg::InitKind::kmeans_plus_plus);
  CHECK(config.tolerance == 1e-7);
  CHECK(config.seed == 123456789012345ULL);
}

TEST_CASE("check_unique_ids finds duplicates on other ranks in every round") {
  Communicator comm;
  // Ids 0 .. 999 split over the ranks, plus three repeats: 17 and 600 on the last rank and 998
  // on the first; every rank holds more ids than a round carries, so several rounds run.
  std::vector<std::int64_t> ids;
  for (std::int64_t id = comm.rank(); id < 1000; id += comm.size()) ids.push_back(id);
  for (std::int64_t ids_per_round : {std::int64_t{1} << 21, std::int64_t{7}}) {
    CHECK_NOTHROW(
        microseg::distributed::check_unique_ids(comm, ids, "customers.h5", ids_per_round));
    std::vector<std::int64_t> repeated = ids;
    if (comm.rank() == comm.size() - 1) repeated.insert(repeated.end(), {600, 17});
    if (comm.rank() == 0) repeated.push_back(998);
    std::string caught;
    try {
      microseg::distributed::check_unique_ids(comm, repeated, "customers.h5", ids_per_round);
    } catch (const AgreedError& e) {
      caught = e.what();
    }
    CHECK(caught ==
          "input file 'customers.h5': /customers/id has 3 duplicate customer ids (smallest "
          "duplicated id: 17); every customer must appear once");
  }
}
