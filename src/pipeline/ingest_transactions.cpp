// `ingest transactions`: a transaction log in, one RFM row per customer out, sorted by id.
#include <cmath>
#include <utility>
#include <variant>

#include "ingest_scan.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/customer_exchange.hpp"
#include "microseg/pipeline/ingest.hpp"

namespace microseg::pipeline {
namespace {

using distributed::Communicator;
using namespace detail;

// ---------------------------------------------------------------------------------------------
// The RFM table's columns, each with the value it holds for a customer

using IntegerValue = std::int64_t (*)(const CustomerRfm&);
using RealValue = double (*)(const CustomerRfm&);

// A column's type is the type of its value, so the list and the values cannot drift apart when
// a column is added or moved.
struct RfmColumn {
  std::string name;
  std::string description;
  std::variant<IntegerValue, RealValue> value;
  std::vector<std::string> categories;  // the names of the codes a column holds, if any
};

RfmColumn integer_rfm(std::string name, std::string description, IntegerValue value,
                      std::vector<std::string> categories = {}) {
  return {std::move(name), std::move(description), value, std::move(categories)};
}

RfmColumn real_rfm(std::string name, std::string description, RealValue value) {
  return {std::move(name), std::move(description), value, {}};
}

// The columns in file order, which is the order `microseg segment` reads the features in.
const std::vector<RfmColumn>& rfm_columns() {
  using C = const CustomerRfm&;
  static const std::vector<RfmColumn> columns{
      integer_rfm("recency_days", "as-of date minus the last purchase date, in days",
                  [](C c) -> std::int64_t { return c.features.recency_days; }),
      integer_rfm("frequency", "number of transaction rows counted",
                  [](C c) -> std::int64_t { return c.features.frequency; }),
      real_rfm("monetary_total",
               "sum of the counted rows' totals (--amount-column, or --unit-price-column × "
               "--quantity-column)",
               [](C c) { return c.features.monetary_total; }),
      real_rfm("monetary_mean", "monetary_total / frequency",
               [](C c) { return c.features.monetary_mean; }),
      integer_rfm("tenure_days", "as-of date minus the first purchase date, in days",
                  [](C c) -> std::int64_t { return c.features.tenure_days; }),
      real_rfm("mean_interpurchase_days",
               "(last − first purchase date) / (frequency − 1); NaN for one transaction",
               [](C c) { return c.features.mean_interpurchase_days; }),
      integer_rfm("r_score", "recency quintile 1-5, 5 = most recent",
                  [](C c) -> std::int64_t { return c.r_score; }),
      integer_rfm("f_score", "frequency quintile 1-5, 5 = most frequent",
                  [](C c) -> std::int64_t { return c.f_score; }),
      integer_rfm("m_score", "monetary_total quintile 1-5, 5 = largest",
                  [](C c) -> std::int64_t { return c.m_score; }),
      integer_rfm(
          "rfm_segment", "named RFM segment code (names in /categories/rfm_segment)",
          [](C c) -> std::int64_t { return c.segment; }, rfm_segment_names()),
  };
  return columns;
}

// With a quantity column: the units each customer bought, after the RFM columns.
const RfmColumn& units_column() {
  static const RfmColumn units = real_rfm("units", "sum of --quantity-column over the counted rows",
                                          [](const CustomerRfm& c) { return c.features.units; });
  return units;
}

// Collective. The columns holding this rank's customers; `missing` counts NaN over all ranks.
std::vector<io::IngestedColumn> rfm_table_columns(const Communicator& comm,
                                                  const std::vector<CustomerRfm>& customers,
                                                  bool with_units) {
  std::vector<io::IngestedColumn> columns;
  std::vector<std::int64_t> missing;
  std::vector<RfmColumn> written = rfm_columns();
  if (with_units) written.push_back(units_column());
  for (const RfmColumn& rfm : written) {
    std::int64_t nan = 0;
    io::IngestedColumn column;
    if (const auto* value = std::get_if<IntegerValue>(&rfm.value)) {
      column = integer_column(rfm.name, rfm.description);
      for (const auto& customer : customers) column.integers.push_back((*value)(customer));
    } else {
      column = real_column(rfm.name, rfm.description);
      for (const auto& customer : customers) {
        column.reals.push_back(std::get<RealValue>(rfm.value)(customer));
        nan += std::isnan(column.reals.back()) ? 1 : 0;
      }
    }
    column.categories = rfm.categories;
    columns.push_back(std::move(column));
    missing.push_back(nan);
  }
  comm.sum_in_place(missing);
  for (std::size_t c = 0; c < columns.size(); ++c) columns[c].missing = missing[c];
  return columns;
}

// ---------------------------------------------------------------------------------------------
// The file and its rows

// The columns the options name, checked to be distinct.
io::TransactionColumns transaction_columns(const CsvInput& input,
                                           const IngestTransactionsPlan& plan) {
  const auto column = [&](const std::string& option, const std::string& value) {
    return io::resolve_csv_column(input.head, plan.has_header, option, value, plan.csv);
  };
  io::TransactionColumns columns;
  columns.customer = column("customer-column", plan.customer_column);
  columns.date = column("date-column", plan.date_column);
  columns.unit_price = !plan.unit_price_column.empty();
  const std::string money_option = columns.unit_price ? "unit-price-column" : "amount-column";
  columns.amount =
      column(money_option, columns.unit_price ? plan.unit_price_column : plan.amount_column);
  if (!plan.quantity_column.empty()) {
    columns.quantity = column("quantity-column", plan.quantity_column);
  }
  const std::vector<std::pair<std::string, int>> named{{"customer-column", columns.customer},
                                                       {"date-column", columns.date},
                                                       {money_option, columns.amount},
                                                       {"quantity-column", columns.quantity}};
  for (std::size_t i = 0; i < named.size(); ++i) {
    for (std::size_t j = i + 1; j < named.size(); ++j) {
      if (named[i].second >= 0 && named[i].second == named[j].second) {
        throw InputError("options --" + named[i].first + " and --" + named[j].first +
                         " name the same column of " + in_file(plan.csv));
      }
    }
  }
  return columns;
}

// The file mapped and what its scan needs, identically on every rank.
struct TransactionInput {
  CsvInput csv;
  io::TransactionScanSpec spec;
};

// Collective: every problem with the output, the file's head or the columns is agreed.
TransactionInput open_transactions(const Communicator& comm, const IngestTransactionsPlan& plan) {
  comm.agree(io::ingested_table_output_problem(plan.output));
  TransactionInput input;
  comm.run_agreed([&] {
    input.csv = open_csv(plan.csv, plan.delimiter, plan.has_header);
    io::TransactionScanSpec& spec = input.spec;
    spec.columns = transaction_columns(input.csv, plan);
    spec.delimiter = input.csv.delimiter;
    spec.data_begin = plan.has_header ? input.csv.head.end : 0;
    spec.field_count = input.csv.head.fields.size();
    spec.column_labels =
        io::csv_column_labels(input.csv.head.fields, spec.field_count, plan.has_header);
    spec.as_of_day = plan.as_of_day;
    spec.window_days = plan.window_days;
    spec.skip_bad_rows = plan.skip_bad_rows;
  });
  return input;
}

// The row counts travel as one vector, in one allreduce.
std::vector<std::int64_t> row_counts(const io::TransactionScan& scan) {
  return {scan.rows, scan.counted_rows, scan.rows_after_as_of, scan.rows_before_window};
}

TransactionRowCounts row_counts(const std::vector<std::int64_t>& totals) {
  return {totals[0], totals[1], totals[2], totals[3]};
}

// This rank's scan, with the counts and malformed rows of all.
struct ScannedTransactions {
  io::TransactionScan scan;
  TransactionRowCounts rows;
  BadRowReport bad_rows;
};

// Collective: a log with no row to count stops every rank with the reason.
void agree_on_counted_rows(const Communicator& comm, const IngestTransactionsPlan& plan,
                           const ScannedTransactions& scanned, std::int32_t earliest_day) {
  const TransactionRowCounts& rows = scanned.rows;
  const std::string file = in_file(plan.csv);
  if (rows.rows == 0) {
    comm.agree(scanned.bad_rows.count > 0
                   ? "every data row of " + file + " is malformed (" +
                         with_thousands(scanned.bad_rows.count) +
                         " skipped; the first: " + scanned.bad_rows.first.front() + ")"
                   : "input file " + file + " has no data rows" +
                         (plan.has_header ? " after its header" : ""));
  }
  if (rows.counted > 0) return;
  const std::string as_of = io::format_date(plan.as_of_day);
  if (rows.after_as_of == rows.rows) {
    comm.agree("--as-of " + as_of + " is before every transaction in " + file +
               " (the earliest is on " + io::format_date(earliest_day) + ")");
  }
  comm.agree("no transaction of " + file + " falls in the " + std::to_string(plan.window_days) +
             " days ending on the as-of date " + as_of + " (" + with_thousands(rows.before_window) +
             " are older, " + with_thousands(rows.after_as_of) + " later)");
}

// Collective: scans this rank's part and agrees on what every rank found.
ScannedTransactions scan_transactions(const Communicator& comm, const IngestTransactionsPlan& plan,
                                      const TransactionInput& input,
                                      const IngestProgress& progress) {
  auto agreed = scan_and_agree<io::TransactionScan>(
      comm, input.csv, {plan.csv, plan.skip_bad_rows},
      [&](std::string_view text, io::ByteRange part) {
        io::TransactionScanSpec spec = input.spec;
        if (comm.is_root() && progress.scanning) {
          const Stopwatch stopwatch;
          spec.on_progress = [&, stopwatch](std::int64_t lines, std::size_t bytes_read) {
            progress.scanning(lines, static_cast<std::int64_t>(bytes_read),
                              static_cast<std::int64_t>(part.size()), stopwatch.elapsed());
          };
        }
        return io::scan_transactions(text, part, spec);
      },
      [](const io::TransactionScan& scan) { return row_counts(scan); });
  ScannedTransactions scanned{std::move(agreed.scan), row_counts(agreed.totals),
                              std::move(agreed.bad_rows)};
  const auto earliest =
      static_cast<std::int32_t>(comm.min(std::int64_t{scanned.scan.earliest_day}));
  agree_on_counted_rows(comm, plan, scanned, earliest);
  return scanned;
}

// ---------------------------------------------------------------------------------------------
// Customers to their owners

// The customers a rank owns, sorted by id, with their external keys (empty with integer ids).
struct OwnedActivity {
  bool integer_ids = true;
  std::vector<CustomerActivityRecord> records;
  std::vector<std::string> keys;
};

// This rank's customers as records under their ids. Takes the scan, so its table is freed
// before the exchange.
void collect_records(io::TransactionScan scan, OwnedActivity& owned) {
  const bool integer_ids = owned.integer_ids;
  const io::CustomerActivityTable& customers = scan.customers;
  owned.records.reserve(customers.size());
  const auto add = [&](std::string_view key, std::int64_t id, const CustomerActivity& activity) {
    owned.records.push_back({integer_ids ? id : io::mapped_customer_id(key), activity});
    if (!integer_ids) owned.keys.emplace_back(key);
  };
  customers.for_each_integer_key([&](std::int64_t id, const CustomerActivity& activity) {
    if (integer_ids) {
      add({}, id, activity);
    } else {
      add(std::to_string(id), id, activity);  // the key as written (canonical)
    }
  });
  for (std::size_t i = 0; i < customers.text_key_count(); ++i) {
    const std::string_view key = customers.text_key(i);
    add(key, integer_ids ? *io::parse_int64(key) : 0, customers.text_key_activity(i));
  }
}

// Two keys under one id, or a money total out of the exact range, on this rank.
std::optional<std::string> ownership_problem(
    const OwnedActivity& owned, const std::optional<std::pair<std::string, std::string>>& collision,
    const std::string& path) {
  if (collision) {
    return "customer keys '" + collision->first + "' and '" + collision->second + "' of " +
           in_file(path) + " map to the same int64 id; rename one of them";
  }
  for (std::size_t i = 0; i < owned.records.size(); ++i) {
    if (owned.records[i].activity.overflowed != 0) {
      return "the money total of customer " +
             (owned.integer_ids ? std::to_string(owned.records[i].id) : "'" + owned.keys[i] + "'") +
             " in " + in_file(path) +
             " or its quantity total exceeds the exact range (±2^62 for money per row and in "
             "total, ±2^31 for quantities)";
    }
  }
  return std::nullopt;
}

// Collective: every customer's activity merged on the rank that owns its id.
OwnedActivity gather_owned_activity(const Communicator& comm, io::TransactionScan&& scan,
                                    const std::string& path) {
  OwnedActivity owned;
  owned.integer_ids =
      keys_are_integers_on_every_rank(comm, scan.customers.text_key_count(),
                                      [&](std::size_t i) { return scan.customers.text_key(i); });
  collect_records(std::move(scan), owned);
  const auto collision =
      distributed::gather_activity_by_owner(comm, owned.records, owned.keys, !owned.integer_ids);
  comm.agree(ownership_problem(owned, collision, path));
  return owned;
}

// ---------------------------------------------------------------------------------------------
// Features, scores and segments

// This rank's rows of the table: customers scored over all customers, sorted by id across ranks.
struct ScoredCustomers {
  bool integer_ids = true;
  std::vector<CustomerRfm> customers;
  std::vector<std::string> keys;  // external ids, parallel to customers; empty with integer ids
  RowRange rows;
  std::int64_t total = 0;
  std::vector<std::int64_t> segment_sizes;  // over all ranks, by segment code
  std::int64_t single_purchase = 0;         // over all ranks
};

// Collective: the quintile scores need the thresholds over every rank's customers.
std::vector<CustomerRfm> scored_customers(const Communicator& comm,
                                          const std::vector<CustomerActivityRecord>& records,
                                          std::int32_t as_of_day) {
  std::vector<CustomerRfm> customers(records.size());
  std::vector<std::vector<double>> scored(3);
  for (std::size_t i = 0; i < records.size(); ++i) {
    customers[i].id = records[i].id;
    customers[i].features = rfm_features(records[i].activity, as_of_day);
    const auto values = rfm_scored_values(customers[i].features);
    for (std::size_t m = 0; m < scored.size(); ++m) scored[m].push_back(values[m]);
  }
  const std::vector<QuintileThresholds> thresholds =
      distributed::distributed_quintile_thresholds(comm, scored);
  for (auto& customer : customers) {
    score_customer(customer, {thresholds[0], thresholds[1], thresholds[2]});
  }
  return customers;
}

// Collective.
ScoredCustomers score_customers(const Communicator& comm, OwnedActivity owned,
                                std::int32_t as_of_day) {
  ScoredCustomers scored;
  scored.integer_ids = owned.integer_ids;
  scored.customers = scored_customers(comm, owned.records, as_of_day);
  owned.records = {};
  scored.keys = std::move(owned.keys);
  scored.rows = distributed::sort_by_id(comm, scored.customers, scored.keys, !scored.integer_ids);
  scored.total = comm.sum(scored.rows.size());
  scored.segment_sizes.assign(static_cast<std::size_t>(rfm_segment_count), 0);
  for (const auto& customer : scored.customers) {
    ++scored.segment_sizes[static_cast<std::size_t>(customer.segment)];
    scored.single_purchase += customer.features.frequency == 1 ? 1 : 0;
  }
  comm.sum_in_place(scored.segment_sizes);
  scored.single_purchase = comm.sum(scored.single_purchase);
  return scored;
}

// ---------------------------------------------------------------------------------------------
// The table

// Collective (the columns' missing counts).
io::IngestedTable rfm_table(const Communicator& comm, ScoredCustomers&& scored, bool with_units) {
  io::IngestedTable table;
  table.total_rows = scored.total;
  table.rows = scored.rows;
  table.has_external_ids = !scored.integer_ids;
  table.external_ids = std::move(scored.keys);
  for (const auto& customer : scored.customers) table.ids.push_back(customer.id);
  table.columns = rfm_table_columns(comm, scored.customers, with_units);
  return table;
}

// The /ingest attributes: where the table came from and what became of the rows.
void record_the_run(io::IngestedTable& table, const IngestTransactionsPlan& plan,
                    const IngestTransactionsResult& result) {
  table.text_attributes = {
      {"command", "ingest transactions"},
      {"source", plan.csv},
      {"as_of", result.as_of_date},
      {"monetary", plan.unit_price_column.empty()
                       ? "sum of " + plan.amount_column + " (row totals)"
                       : "sum of " + plan.unit_price_column + " × " + plan.quantity_column +
                             " (unit price × quantity)"},
      {"microseg_version", MICROSEG_VERSION}};
  table.count_attributes = {{"window_days", plan.window_days},
                            {"rows", result.rows.rows},
                            {"rows_counted", result.rows.counted},
                            {"rows_after_as_of", result.rows.after_as_of},
                            {"rows_before_window", result.rows.before_window},
                            {"bad_rows_skipped", result.bad_rows.count},
                            {"customers", result.customers}};
}

std::vector<RfmSegmentSize> named_segment_sizes(const std::vector<std::int64_t>& sizes) {
  std::vector<RfmSegmentSize> segments;
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    segments.push_back({rfm_segment_names()[s], sizes[s]});
  }
  return segments;
}

}  // namespace

IngestTransactionsResult ingest_transactions(const Communicator& comm,
                                             const IngestTransactionsPlan& plan,
                                             const IngestProgress& progress) {
  Stopwatch stopwatch;
  IngestTransactionsResult result;
  result.ranks = comm.size();
  result.as_of_date = io::format_date(plan.as_of_day);
  OwnedActivity owned;
  {  // the file stays mapped only while it is read
    const TransactionInput input = open_transactions(comm, plan);
    result.input_bytes = static_cast<std::int64_t>(input.csv.file->text().size());
    ScannedTransactions scanned = scan_transactions(comm, plan, input, progress);
    result.rows = scanned.rows;
    result.bad_rows = std::move(scanned.bad_rows);
    result.seconds.parse = stopwatch.lap();
    owned = gather_owned_activity(comm, std::move(scanned.scan), plan.csv);
  }
  result.seconds.exchange = stopwatch.lap();

  ScoredCustomers scored = score_customers(comm, std::move(owned), plan.as_of_day);
  result.customers = scored.total;
  result.single_purchase_customers = scored.single_purchase;
  result.segments = named_segment_sizes(scored.segment_sizes);
  result.seconds.score = stopwatch.lap();

  io::IngestedTable table = rfm_table(comm, std::move(scored), !plan.quantity_column.empty());
  record_the_run(table, plan, result);
  distributed::mark_phase("write");
  comm.run_agreed([&] { io::write_ingested_table(plan.output, comm.native(), table); });
  result.seconds.write = stopwatch.lap();
  return result;
}

}  // namespace microseg::pipeline
