// Ingest at 1–4 ranks: the distributed stages (hash partition, sort by id, exact quintile
// thresholds, unions, duplicates) against serial answers, and `ingest transactions` end to end,
// read back through io::read_customer_block, the reader `microseg segment` uses. Every rank runs
// every collective; checks come after them.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "microseg/app/ingest.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/customer_exchange.hpp"
#include "microseg/io/csv_values.hpp"
#include "microseg/io/customer_table.hpp"
#include "shared_temp_dir.hpp"

namespace fs = std::filesystem;
using namespace microseg;
using distributed::Communicator;

namespace {

using IngestTempDir = microseg::test_support::SharedTempDir;

// The same pseudo-random values on every rank; each rank keeps those with index ≡ rank.
std::vector<double> all_values(std::size_t n, int distinct, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int> pick(0, distinct - 1);
  std::vector<double> values(n);
  for (double& v : values) v = pick(engine) * 1.25 - 7;
  return values;
}

template <class T>
std::vector<T> my_share(const std::vector<T>& all, const Communicator& comm) {
  std::vector<T> mine;
  for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < all.size();
       i += static_cast<std::size_t>(comm.size())) {
    mine.push_back(all[i]);
  }
  return mine;
}

struct LogRow {
  int customer;
  std::int32_t day;
  double amount;
};

std::vector<LogRow> generated_log(std::size_t rows, int customers, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int> customer(1, customers), day(19000, 20000), cents(1, 50000);
  std::vector<LogRow> log(rows);
  for (auto& row : log) row = {customer(engine) * 7, day(engine), cents(engine) / 100.0};
  return log;
}

}  // namespace

TEST_CASE("distributed quintile thresholds equal the serial ones at any rank count",
          "[ingest][mpi]") {
  const Communicator comm;
  for (int distinct : {1, 3, 50, 100000}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
      const std::vector<double> a = all_values(n, distinct, 5);
      const std::vector<double> b = all_values(n, distinct, 6);
      const auto thresholds = distributed::distributed_quintile_thresholds(
          comm, {my_share(a, comm), my_share(b, comm)});
      REQUIRE(thresholds.size() == 2);
      CHECK(thresholds[0] == quintile_thresholds(a));
      CHECK(thresholds[1] == quintile_thresholds(b));
    }
  }
}

TEST_CASE("gather_activity_by_owner merges each customer's parts on exactly one rank",
          "[ingest][mpi]") {
  const Communicator comm;
  const std::vector<LogRow> log = generated_log(5000, 300, 9);
  std::map<std::int64_t, CustomerActivity> serial;
  for (const auto& row : log) serial[row.customer].add(row.day, row.amount);

  std::vector<CustomerActivityRecord> records;
  std::vector<std::string> keys;
  for (const auto& row : my_share(log, comm)) {
    CustomerActivityRecord record;
    record.id = row.customer;
    record.activity.add(row.day, row.amount);
    records.push_back(record);
    keys.push_back("k" + std::to_string(row.customer));
  }
  const auto collision = distributed::gather_activity_by_owner(comm, records, keys, true);
  CHECK_FALSE(collision);
  REQUIRE(keys.size() == records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(distributed::owner_of_customer(records[i].id, comm.size()) == comm.rank());
    CHECK(keys[i] == "k" + std::to_string(records[i].id));
    const CustomerActivity& expected = serial.at(records[i].id);
    CHECK(records[i].activity.money == expected.money);
    CHECK(records[i].activity.transactions == expected.transactions);
    CHECK(records[i].activity.first_day == expected.first_day);
    CHECK(records[i].activity.last_day == expected.last_day);
  }
  CHECK(comm.sum(static_cast<std::int64_t>(records.size())) ==
        static_cast<std::int64_t>(serial.size()));
}

TEST_CASE("sort_by_id leaves consecutive ranks holding consecutive runs of ids", "[ingest][mpi]") {
  const Communicator comm;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{3000}}) {
    std::vector<CustomerRfm> all(n);
    for (std::size_t i = 0; i < n; ++i) {
      all[i].id = static_cast<std::int64_t>((i * 7919 + 13) % 100003) - 50000;
      all[i].r_score = static_cast<std::int32_t>(i % 5);
    }
    std::vector<CustomerRfm> mine = my_share(all, comm);
    std::vector<std::string> keys;
    for (const auto& c : mine) keys.push_back(std::to_string(c.id));
    const RowRange block = distributed::sort_by_id(comm, mine, keys, true);
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      ids.push_back(mine[i].id);
      CHECK(keys[i] == std::to_string(mine[i].id));
    }
    const std::vector<std::int64_t> gathered = comm.all_gather(ids);
    std::vector<std::int64_t> expected;
    for (const auto& c : all) expected.push_back(c.id);
    std::sort(expected.begin(), expected.end());
    CHECK(gathered == expected);
    CHECK(block.size() == static_cast<std::int64_t>(mine.size()));
    CHECK(comm.exclusive_prefix_sum(block.size()) == block.begin);
  }
}

TEST_CASE("union_of_strings and find_duplicate_ids give the same answer on every rank",
          "[ingest][mpi]") {
  const Communicator comm;
  const std::vector<std::string> words{"north", "", "west", "north", "Zed", "éast"};
  const auto all = distributed::union_of_strings(comm, my_share(words, comm));
  CHECK(all == std::vector<std::string>{"", "Zed", "north", "west", "éast"});

  std::vector<std::int64_t> ids, lines;
  for (std::int64_t i = 0; i < 100; ++i) {
    ids.push_back(i == 70 ? 30 : i == 90 ? 12 : i == 95 ? 12 : i);
    lines.push_back(i + 2);
  }
  const auto mine_ids = my_share(ids, comm);
  const auto mine_lines = my_share(lines, comm);
  const auto duplicate = distributed::find_duplicate_ids(comm, {mine_ids, &mine_lines});
  REQUIRE(duplicate);
  CHECK(duplicate->duplicated_ids == 2);
  CHECK(duplicate->id == 12);
  CHECK(duplicate->first_line == 14);
  CHECK(duplicate->second_line == 92);
  std::vector<std::int64_t> unique_ids(100);
  std::iota(unique_ids.begin(), unique_ids.end(), 0);
  const auto unique_share = my_share(unique_ids, comm);
  const auto line_share = my_share(lines, comm);
  CHECK_FALSE(distributed::find_duplicate_ids(comm, {unique_share, &line_share}));
}

TEST_CASE("ingest transactions writes RFM that the customer-table reader takes, in RFM order",
          "[ingest][mpi]") {
  const Communicator comm;
  IngestTempDir directory;
  const std::vector<LogRow> log = generated_log(4000, 250, 21);
  const std::string csv = directory.file("tx.csv");
  if (comm.is_root()) {
    std::ofstream out(csv);
    out << "when;who;amount\n";
    for (const auto& row : log) {
      out << io::format_date(row.day) << ";" << row.customer << ";" << row.amount << "\n";
    }
  }
  comm.barrier();
  pipeline::IngestTransactionsPlan config;
  config.csv = csv;
  config.customer_column = "who";
  config.date_column = "when";
  config.amount_column = "amount";
  config.delimiter = ";";
  config.as_of = "2024-09-01";
  config.as_of_day = *io::parse_date(config.as_of);
  config.output = directory.file("rfm.h5");
  std::ostringstream report;
  app::run_ingest_transactions(comm, config, report);

  // The serial answer from the same rows (amounts as printed, i.e. as parsed back).
  std::map<std::int64_t, CustomerActivity> serial;
  for (const auto& row : log) {
    std::ostringstream printed;
    printed << row.amount;
    if (row.day <= config.as_of_day) {
      serial[row.customer].add(row.day, *io::parse_finite_number(printed.str()));
    }
  }
  const io::CustomerTableSchema schema = io::inspect_customer_table(config.output, comm.native());
  CHECK(schema.layout == io::FeatureLayout::columns);
  CHECK(schema.feature_names ==
        std::vector<std::string>{"recency_days", "frequency", "monetary_total", "monetary_mean",
                                 "tenure_days", "mean_interpurchase_days", "r_score", "f_score",
                                 "m_score", "rfm_segment"});
  REQUIRE(schema.rows == static_cast<std::int64_t>(serial.size()));
  const RowRange rows = distributed::block_of_rows(schema.rows, comm.rank(), comm.size());
  const CustomerBlock block = io::read_customer_block(
      schema, io::select_features(schema, {"recency_days", "frequency", "monetary_total"}), rows,
      comm.native());
  auto expected = serial.begin();
  std::advance(expected, rows.begin);
  for (std::int64_t i = 0; i < rows.size(); ++i, ++expected) {
    const RfmFeatures f = rfm_features(expected->second, config.as_of_day);
    CHECK(block.ids[i] == expected->first);  // sorted by id
    CHECK(block.features(i, 0) == static_cast<float>(f.recency_days));
    CHECK(block.features(i, 1) == static_cast<float>(f.frequency));
    CHECK(block.features(i, 2) == static_cast<float>(f.monetary_total));
  }
  if (comm.is_root()) CHECK_THAT(report.str(), Catch::Contains("customers written to"));
}

TEST_CASE("ingest transactions stops every rank on a malformed row in the last rank's part",
          "[ingest][mpi]") {
  const Communicator comm;
  IngestTempDir directory;
  const std::string csv = directory.file("bad.csv");
  const int rows = 400;
  if (comm.is_root()) {
    std::ofstream out(csv);
    for (int i = 0; i < rows; ++i) {
      out << i % 37 << ",2024-01-" << (i % 28 + 1 < 10 ? "0" : "") << i % 28 + 1 << ","
          << (i == rows - 3 ? "12,5" : "3.5") << "\n";
    }
  }
  comm.barrier();
  pipeline::IngestTransactionsPlan config;
  config.csv = csv;
  config.customer_column = "1";
  config.date_column = "2";
  config.amount_column = "3";
  config.has_header = false;
  config.as_of_day = *io::parse_date("2024-12-31");
  config.output = directory.file("never.h5");
  std::ostringstream report;
  std::string message;
  try {
    app::run_ingest_transactions(comm, config, report);
  } catch (const distributed::AgreedError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("line 398") && Catch::Contains("expected 3 fields, found 4"));
  CHECK_FALSE(fs::exists(config.output));
}
