#include <boost/program_options/options_description.hpp>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "microseg/app/ingest.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/customer_exchange.hpp"
#include "microseg/io/csv_features.hpp"
#include "microseg/io/csv_file.hpp"
#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"
#include "microseg/io/csv_values.hpp"
#include "microseg/io/ingested_table.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

namespace po = boost::program_options;
using distributed::Communicator;

// ---------------------------------------------------------------------------------------------
// Options

po::options_description features_options() {
  po::options_description options("microseg ingest features options");
  options.add_options()                                                                      //
      ("csv", po::value<std::string>(), "customer table: one row per customer, header row")  //
      ("id-column", po::value<std::string>(), "header name of the customer id column")       //
      ("output", po::value<std::string>(), "output HDF5 file")                               //
      ("delimiter", po::value<std::string>(), ", (default) | ; | tab | whitespace")          //
      ("categorical", po::value<std::string>(),
       "columns of categories, comma-separated: stored as codes with their names")  //
      ("skip-bad-rows", po::value<std::string>()->zero_tokens()->implicit_value("true"),
       "skip and count malformed rows instead of stopping at the first");
  return options;
}

po::options_description transactions_options() {
  po::options_description options("microseg ingest transactions options");
  options.add_options()                                                           //
      ("csv", po::value<std::string>(), "transaction log: one row per purchase")  //
      ("customer-column", po::value<std::string>(),
       "customer id column (header name, or 1-based position with --no-header)")  //
      ("date-column", po::value<std::string>(),
       "purchase date column: YYYY-MM-DD, ISO 8601 date-time or YYYYMMDD")          //
      ("amount-column", po::value<std::string>(), "amount column (money per row)")  //
      ("quantity-column", po::value<std::string>(),
       "quantity column: a row is then worth amount × quantity")  //
      ("as-of", po::value<std::string>(),
       "the date RFM is computed at (YYYY-MM-DD); later transactions are ignored")  //
      ("window-days", po::value<std::string>(),
       "only count the N days ending on the as-of date (default: all)")  //
      ("no-header", po::value<std::string>()->zero_tokens()->implicit_value("true"),
       "the first line is data; columns are named by position")                      //
      ("delimiter", po::value<std::string>(), ", (default) | ; | tab | whitespace")  //
      ("skip-bad-rows", po::value<std::string>()->zero_tokens()->implicit_value("true"),
       "skip and count malformed rows instead of stopping at the first")  //
      ("output", po::value<std::string>(), "output HDF5 file");
  return options;
}

bool flag(const OptionReader& options, const std::string& key) {
  if (!options.has(key)) return false;
  const std::string value = options.text(key);
  if (value == "true" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "no" || value == "0") return false;
  invalid_option_value(key, value, "true or false");
}

std::string checked_delimiter(const OptionReader& options) {
  const std::string value = options.text("delimiter", ",");
  if (!io::parse_csv_delimiter(value)) {
    invalid_option_value("delimiter", value, ", or ; or tab or whitespace");
  }
  return value;
}

IngestFeaturesConfig parse_features_options(const std::vector<std::string>& arguments) {
  const OptionReader options("ingest features", features_options(), arguments);
  IngestFeaturesConfig config;
  config.csv = options.required("csv");
  config.id_column = options.required("id-column");
  config.output = options.required("output");
  config.delimiter = checked_delimiter(options);
  config.categorical = options.list("categorical");
  config.skip_bad_rows = flag(options, "skip-bad-rows");
  return config;
}

IngestTransactionsConfig parse_transactions_options(const std::vector<std::string>& arguments) {
  const OptionReader options("ingest transactions", transactions_options(), arguments);
  IngestTransactionsConfig config;
  config.csv = options.required("csv");
  config.customer_column = options.required("customer-column");
  config.date_column = options.required("date-column");
  config.amount_column = options.required("amount-column");
  config.quantity_column = options.text("quantity-column");
  config.output = options.required("output");
  config.as_of = options.required("as-of");
  const auto day = io::parse_date(config.as_of);
  if (!day) invalid_option_value("as-of", config.as_of, "a date YYYY-MM-DD or YYYYMMDD");
  config.as_of_day = *day;
  if (options.has("window-days")) {
    config.window_days = static_cast<std::int32_t>(options.integer("window-days", "", 1, 10000000));
  }
  config.has_header = !flag(options, "no-header");
  config.delimiter = checked_delimiter(options);
  config.skip_bad_rows = flag(options, "skip-bad-rows");
  return config;
}

// ---------------------------------------------------------------------------------------------
// Shared steps

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::string in_file(const std::string& path) {
  return "'" + path + "'";
}

// The file mapped on every rank and its first non-blank line, checked identically everywhere.
struct CsvInput {
  std::unique_ptr<io::MappedCsvFile> file;
  io::CsvHead head;
  io::CsvDelimiter delimiter = io::CsvDelimiter::comma;
};

CsvInput open_csv(const std::string& path, const std::string& delimiter_name, bool has_header) {
  CsvInput input;
  input.delimiter = *io::parse_csv_delimiter(delimiter_name);
  input.file = std::make_unique<io::MappedCsvFile>(path);
  input.head = io::read_csv_head(input.file->text(), input.delimiter);
  if (!input.head.found) {
    throw InputError("input file " + in_file(path) + " is empty" +
                     (input.file->text().empty() ? "" : " (it holds only blank lines)"));
  }
  if (input.head.error) {
    throw InputError(in_file(path) + " line " + std::to_string(input.head.line) + ", " +
                     (has_header ? "the header" : "the first row") + ": field " +
                     std::to_string(input.head.error->field) + ": " + input.head.error->what);
  }
  return input;
}

// "'file' line N, column …" or "'file' line N: …" from a BadRow found on this rank.
std::string describe_bad_row(const std::string& path, const io::BadRow& row,
                             std::int64_t first_line) {
  const bool names_column = row.what.rfind("column ", 0) == 0;
  return in_file(path) + " line " + std::to_string(first_line + row.line_index) +
         (names_column ? ", " : ": ") + row.what;
}

// Malformed rows: without --skip-bad-rows the first one in the file stops every rank (ranks hold
// consecutive parts, so the lowest failing rank holds it). With it, the count and the first few
// descriptions are returned, identical on every rank.
struct BadRowReport {
  std::int64_t count = 0;
  std::vector<std::string> first;
};

BadRowReport agree_on_bad_rows(const Communicator& comm, const std::string& path,
                               const std::vector<io::BadRow>& reported, std::int64_t local_count,
                               std::int64_t first_line, bool skip) {
  if (!skip) {
    std::optional<std::string> error;
    if (!reported.empty()) {
      error = describe_bad_row(path, reported.front(), first_line) +
              "; pass --skip-bad-rows to skip and count malformed rows";
    }
    comm.agree(error);
    return {};
  }
  BadRowReport report;
  report.count = comm.sum(local_count);
  std::string text;
  for (const auto& row : reported) text += describe_bad_row(path, row, first_line) + "\n";
  const std::vector<char> all = comm.all_gather(std::vector<char>(text.begin(), text.end()));
  std::istringstream lines(std::string(all.begin(), all.end()));
  std::string line;
  while (report.first.size() < io::max_reported_bad_rows && std::getline(lines, line)) {
    report.first.push_back(line);
  }
  return report;
}

// Customer keys become int64 ids: as integers when every key on every rank is one, otherwise all
// mapped (io::mapped_customer_id) and kept as external ids.
bool all_keys_are_integers(const Communicator& comm, const std::vector<std::string_view>& keys) {
  std::int64_t integers = 1;
  for (std::string_view key : keys) {
    if (!io::parse_int64(key)) {
      integers = 0;
      break;
    }
  }
  return comm.min(integers) == 1;
}

std::int64_t id_of_key(std::string_view key, bool integer_ids) {
  return integer_ids ? *io::parse_int64(key) : io::mapped_customer_id(key);
}

std::string with_thousands(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return (value < 0 ? "-" : "") + digits;
}

// A name the HDF5 layout can hold as a dataset in /customers.
std::optional<std::string> column_name_problem(const std::string& name) {
  if (name.empty()) return std::string("has an empty name");
  if (name == "." || name.find('/') != std::string::npos) {
    return "has the name '" + name + "', which cannot name a dataset ('/' or '.')";
  }
  return std::nullopt;
}

io::IngestedColumn real_column(const std::string& name, const std::string& description) {
  io::IngestedColumn column;
  column.name = name;
  column.type = io::IngestedColumn::Type::float64;
  column.description = description;
  return column;
}

io::IngestedColumn integer_column(const std::string& name, const std::string& description) {
  io::IngestedColumn column = real_column(name, description);
  column.type = io::IngestedColumn::Type::int64;
  return column;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The command

std::string ingest_usage() {
  std::ostringstream text;
  text << "usage: microseg ingest features --csv customers.csv --id-column C --output out.h5\n"
          "           [--delimiter ,|;|tab|whitespace] [--categorical a,b] [--skip-bad-rows]\n"
          "       mpiexec -n P microseg ingest transactions --csv tx.csv --customer-column C\n"
          "           --date-column D --amount-column A [--quantity-column Q] --as-of YYYY-MM-DD\n"
          "           [--window-days N] [--no-header] [--delimiter …] [--skip-bad-rows]\n"
          "           --output customers.h5\n\n"
       << features_options() << "\n"
       << transactions_options();
  return text.str();
}

IngestConfig parse_ingest_options(const std::vector<std::string>& arguments) {
  IngestConfig config;
  config.kind = arguments.empty() ? "" : arguments.front();
  const std::vector<std::string> rest(arguments.begin() + (arguments.empty() ? 0 : 1),
                                      arguments.end());
  if (config.kind == "features") {
    config.features = parse_features_options(rest);
  } else if (config.kind == "transactions") {
    config.transactions = parse_transactions_options(rest);
  } else {
    throw InputError("ingest: expected 'features' or 'transactions' after 'ingest'" +
                     (config.kind.empty() ? std::string() : ", not '" + config.kind + "'") +
                     " (see 'microseg ingest --help')");
  }
  return config;
}

void ingest_command(const Communicator& comm, const std::vector<std::string>& arguments) {
  const IngestConfig config =
      pipeline::plan_on_root<IngestConfig>(comm, [&] { return parse_ingest_options(arguments); });
  if (config.kind == "features") {
    run_ingest_features(comm, config.features, std::cout);
  } else {
    run_ingest_transactions(comm, config.transactions, std::cout);
  }
}

// ---------------------------------------------------------------------------------------------
// ingest transactions

void run_ingest_transactions(const Communicator& comm, const IngestTransactionsConfig& config,
                             std::ostream& log) {
  Stopwatch stopwatch;
  const std::string& path = config.csv;
  comm.agree(io::ingested_table_output_problem(config.output));

  // The head of the file and the columns, identically on every rank.
  CsvInput input;
  io::TransactionScanSpec spec;
  comm.run_agreed([&] {
    input = open_csv(path, config.delimiter, config.has_header);
    const auto column = [&](const std::string& option, const std::string& value) {
      return io::resolve_csv_column(input.head, config.has_header, option, value, path);
    };
    spec.columns.customer = column("customer-column", config.customer_column);
    spec.columns.date = column("date-column", config.date_column);
    spec.columns.amount = column("amount-column", config.amount_column);
    if (!config.quantity_column.empty()) {
      spec.columns.quantity = column("quantity-column", config.quantity_column);
    }
    const std::vector<std::pair<std::string, int>> named{
        {"customer-column", spec.columns.customer},
        {"date-column", spec.columns.date},
        {"amount-column", spec.columns.amount},
        {"quantity-column", spec.columns.quantity}};
    for (std::size_t i = 0; i < named.size(); ++i) {
      for (std::size_t j = i + 1; j < named.size(); ++j) {
        if (named[i].second >= 0 && named[i].second == named[j].second) {
          throw InputError("options --" + named[i].first + " and --" + named[j].first +
                           " name the same column of " + in_file(path));
        }
      }
    }
    spec.delimiter = input.delimiter;
    spec.data_begin = config.has_header ? input.head.end : 0;
    spec.field_count = input.head.fields.size();
    spec.column_labels =
        io::csv_column_labels(input.head.fields, spec.field_count, config.has_header);
    spec.as_of_day = config.as_of_day;
    spec.window_days = config.window_days;
    spec.skip_bad_rows = config.skip_bad_rows;
  });

  // Parse this rank's part. Whatever goes wrong here stays local until every rank has finished
  // its part, then the ranks agree on it, so no rank waits alone in a collective.
  const std::string_view text = input.file->text();
  const io::ByteRange part = io::line_aligned_part(text, comm.rank(), comm.size());
  input.file->will_read(part);
  io::TransactionScan scan;
  std::optional<std::string> scan_failure;
  try {
    scan = io::scan_transactions(text, part, spec);
  } catch (const std::exception& e) {
    scan_failure =
        "reading " + in_file(path) + " on rank " + std::to_string(comm.rank()) + ": " + e.what();
  }
  // The allreduce of the counts waits for the slowest part, so the agreements after it meet
  // every rank at once, however early one rank stopped at a bad row.
  const std::int64_t first_line = 1 + comm.exclusive_prefix_sum(scan.lines);
  std::vector<std::int64_t> counts{scan.rows, scan.counted_rows, scan.rows_after_as_of,
                                   scan.rows_before_window};
  comm.sum_in_place(counts);
  comm.agree(scan_failure);
  const BadRowReport bad_rows = agree_on_bad_rows(comm, path, scan.reported_bad_rows, scan.bad_rows,
                                                  first_line, config.skip_bad_rows);
  const std::int64_t rows = counts[0], counted = counts[1], after_as_of = counts[2],
                     before_window = counts[3];
  const auto earliest = static_cast<std::int32_t>(comm.min(std::int64_t{scan.earliest_day}));
  const double seconds_parse = stopwatch.lap();
  if (rows == 0) {
    comm.agree(bad_rows.count > 0 ? "every data row of " + in_file(path) + " is malformed (" +
                                        with_thousands(bad_rows.count) +
                                        " skipped; the first: " + bad_rows.first.front() + ")"
                                  : "input file " + in_file(path) + " has no data rows" +
                                        (config.has_header ? " after its header" : ""));
  }
  if (counted == 0) {
    if (after_as_of == rows) {
      comm.agree("--as-of " + io::format_date(config.as_of_day) +
                 " is before every transaction in " + in_file(path) + " (the earliest is on " +
                 io::format_date(earliest) + ")");
    }
    comm.agree("no transaction of " + in_file(path) + " falls in the " +
               std::to_string(config.window_days) + " days ending on the as-of date " +
               io::format_date(config.as_of_day) + " (" + with_thousands(before_window) +
               " are older, " + with_thousands(after_as_of) + " later)");
  }

  // Customer ids, then every customer's activity to the rank that owns it.
  std::int64_t local_integer_ids = 1;
  for (std::size_t i = 0; i < scan.customers.text_key_count(); ++i) {
    if (!io::parse_int64(scan.customers.text_key(i))) {
      local_integer_ids = 0;
      break;
    }
  }
  const bool integer_ids = comm.min(local_integer_ids) == 1;
  std::vector<CustomerActivityRecord> activity;
  std::vector<std::string> keys;
  activity.reserve(scan.customers.size());
  const auto add_customer = [&](std::string_view key, std::int64_t id,
                                const CustomerActivity& customer) {
    activity.push_back({integer_ids ? id : io::mapped_customer_id(key), customer});
    if (!integer_ids) keys.emplace_back(key);
  };
  scan.customers.for_each_integer_key([&](std::int64_t id, const CustomerActivity& customer) {
    if (integer_ids) {
      add_customer({}, id, customer);
    } else {
      add_customer(std::to_string(id), id, customer);  // the key as written (canonical)
    }
  });
  for (std::size_t i = 0; i < scan.customers.text_key_count(); ++i) {
    const std::string_view key = scan.customers.text_key(i);
    add_customer(key, integer_ids ? *io::parse_int64(key) : 0, scan.customers.text_key_activity(i));
  }
  scan = io::TransactionScan{};
  const auto collision = distributed::gather_activity_by_owner(comm, activity, keys, !integer_ids);
  std::optional<std::string> problem;
  if (collision) {
    problem = "customer keys '" + collision->first + "' and '" + collision->second + "' of " +
              in_file(path) + " map to the same int64 id; rename one of them";
  }
  for (std::size_t i = 0; !problem && i < activity.size(); ++i) {
    if (activity[i].activity.overflowed != 0) {
      problem = "the money total of customer " +
                (integer_ids ? std::to_string(activity[i].id) : "'" + keys[i] + "'") + " in " +
                in_file(path) + " exceeds ±2^62 (amount × quantity per row must stay below it)";
    }
  }
  comm.agree(problem);
  const double seconds_exchange = stopwatch.lap();

  // Features, scores over all customers, segments.
  std::vector<CustomerRfm> customers(activity.size());
  std::vector<std::vector<double>> scored(3);
  for (std::size_t i = 0; i < activity.size(); ++i) {
    customers[i].id = activity[i].id;
    customers[i].features = rfm_features(activity[i].activity, config.as_of_day);
    const auto values = rfm_scored_values(customers[i].features);
    for (int m = 0; m < 3; ++m) scored[m].push_back(values[m]);
  }
  activity.clear();
  const std::vector<QuintileThresholds> thresholds =
      distributed::distributed_quintile_thresholds(comm, scored);
  scored.clear();
  for (auto& customer : customers) {
    score_customer(customer, {thresholds[0], thresholds[1], thresholds[2]});
  }
  const RowRange block = distributed::sort_by_id(comm, customers, keys, !integer_ids);
  const std::int64_t customer_count = comm.sum(block.size());
  std::vector<std::int64_t> segment_sizes(rfm_segment_count, 0);
  std::int64_t single_purchase = 0;
  for (const auto& customer : customers) {
    ++segment_sizes[static_cast<std::size_t>(customer.segment)];
    single_purchase += customer.features.frequency == 1 ? 1 : 0;
  }
  comm.sum_in_place(segment_sizes);
  single_purchase = comm.sum(single_purchase);
  const double seconds_score = stopwatch.lap();

  // The table.
  io::IngestedTable table;
  table.total_rows = customer_count;
  table.rows = block;
  table.has_external_ids = !integer_ids;
  table.external_ids = std::move(keys);
  table.columns = {
      integer_column("recency_days", "as-of date minus the last purchase date, in days"),
      integer_column("frequency", "number of transaction rows counted"),
      real_column("monetary_total", "sum of amount (× quantity) over the counted rows"),
      real_column("monetary_mean", "monetary_total / frequency"),
      integer_column("tenure_days", "as-of date minus the first purchase date, in days"),
      real_column("mean_interpurchase_days",
                  "(last − first purchase date) / (frequency − 1); NaN for one transaction"),
      integer_column("r_score", "recency quintile 1-5, 5 = most recent"),
      integer_column("f_score", "frequency quintile 1-5, 5 = most frequent"),
      integer_column("m_score", "monetary_total quintile 1-5, 5 = largest"),
      integer_column("rfm_segment", "named RFM segment code (names in /categories/rfm_segment)"),
  };
  for (const auto& customer : customers) {
    const RfmFeatures& f = customer.features;
    table.ids.push_back(customer.id);
    table.columns[0].integers.push_back(f.recency_days);
    table.columns[1].integers.push_back(f.frequency);
    table.columns[2].reals.push_back(f.monetary_total);
    table.columns[3].reals.push_back(f.monetary_mean);
    table.columns[4].integers.push_back(f.tenure_days);
    table.columns[5].reals.push_back(f.mean_interpurchase_days);
    table.columns[6].integers.push_back(customer.r_score);
    table.columns[7].integers.push_back(customer.f_score);
    table.columns[8].integers.push_back(customer.m_score);
    table.columns[9].integers.push_back(customer.segment);
  }
  table.columns[5].missing = single_purchase;
  table.columns[9].categories = rfm_segment_names();
  table.text_attributes = {{"command", "ingest transactions"},
                           {"source", path},
                           {"as_of", io::format_date(config.as_of_day)},
                           {"microseg_version", MICROSEG_VERSION}};
  table.count_attributes = {{"window_days", config.window_days},
                            {"rows", rows},
                            {"rows_counted", counted},
                            {"rows_after_as_of", after_as_of},
                            {"rows_before_window", before_window},
                            {"bad_rows_skipped", bad_rows.count},
                            {"customers", customer_count}};
  comm.run_agreed([&] { io::write_ingested_table(config.output, comm.native(), table); });
  const double seconds_write = stopwatch.lap();

  if (!comm.is_root()) return;
  const double megabytes = static_cast<double>(text.size()) / 1e6;
  const double seconds_total = seconds_parse + seconds_exchange + seconds_score + seconds_write;
  log << std::fixed << std::setprecision(2) << "microseg ingest transactions: " << path << " ("
      << megabytes << " MB, " << with_thousands(rows) << " rows) on " << comm.size()
      << " ranks: " << with_thousands(customer_count) << " customers written to " << config.output
      << "\n  rows counted " << with_thousands(counted) << ", after the as-of date "
      << io::format_date(config.as_of_day) << " " << with_thousands(after_as_of);
  if (config.window_days > 0) {
    log << ", before the " << config.window_days << "-day window " << with_thousands(before_window);
  }
  log << ", malformed and skipped " << with_thousands(bad_rows.count) << "\n";
  for (const auto& line : bad_rows.first) log << "  skipped: " << line << "\n";
  if (single_purchase > 0) {
    log << "  mean_interpurchase_days is NaN for " << with_thousands(single_purchase)
        << " customers with one transaction\n";
  }
  log << "  segments:";
  for (int s = 0; s < rfm_segment_count; ++s) {
    log << (s % 4 == 0 ? "\n    " : "  ") << rfm_segment_names()[s] << " "
        << with_thousands(segment_sizes[s]) << " (" << std::setprecision(1)
        << 100.0 * static_cast<double>(segment_sizes[s]) / static_cast<double>(customer_count)
        << "%)";
  }
  log << std::setprecision(3) << "\n  seconds: parse " << seconds_parse << ", exchange "
      << seconds_exchange << ", score " << seconds_score << ", write " << seconds_write
      << "; total " << seconds_total << " (" << std::setprecision(1)
      << megabytes / std::max(seconds_total, 1e-9) << " MB/s)\n"
      << std::defaultfloat;
}

// ---------------------------------------------------------------------------------------------
// ingest features

void run_ingest_features(const Communicator& comm, const IngestFeaturesConfig& config,
                         std::ostream& log) {
  const std::string& path = config.csv;
  comm.agree(io::ingested_table_output_problem(config.output));

  CsvInput input;
  io::FeatureScanSpec spec;
  std::vector<std::string> column_names;  // the non-id columns, in file order
  comm.run_agreed([&] {
    input = open_csv(path, config.delimiter, true);
    const auto& header = input.head.fields;
    spec.id_column = io::resolve_csv_column(input.head, true, "id-column", config.id_column, path);
    spec.categorical.assign(header.size(), false);
    for (const auto& name : config.categorical) {
      const int column = io::resolve_csv_column(input.head, true, "categorical", name, path);
      if (column == spec.id_column) {
        throw InputError("option --categorical: '" + name + "' is the id column");
      }
      spec.categorical[static_cast<std::size_t>(column)] = true;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (static_cast<int>(i) == spec.id_column) continue;
      const std::string where =
          "the header of " + in_file(path) + ": column " + std::to_string(i + 1);
      if (const auto problem = column_name_problem(header[i]))
        throw InputError(where + " " + *problem);
      if (header[i] == "id") {
        throw InputError(where +
                         " is named 'id', which is reserved for the customer id (/customers/id)");
      }
      if (!seen.insert(header[i]).second) {
        throw InputError(where + ": the name '" + header[i] + "' appears twice");
      }
      column_names.push_back(header[i]);
    }
    if (column_names.empty()) {
      throw InputError(in_file(path) + " has no feature columns besides the id column '" +
                       config.id_column + "'");
    }
    spec.delimiter = input.delimiter;
    spec.data_begin = input.head.end;
    spec.field_count = header.size();
    spec.column_labels = io::csv_column_labels(header, header.size(), true);
    spec.skip_bad_rows = config.skip_bad_rows;
  });

  const std::string_view text = input.file->text();
  const io::ByteRange part = io::line_aligned_part(text, comm.rank(), comm.size());
  input.file->will_read(part);
  io::FeatureScan scan;
  std::optional<std::string> scan_failure;
  try {
    scan = io::scan_features(text, part, spec);
  } catch (const std::exception& e) {
    scan_failure =
        "reading " + in_file(path) + " on rank " + std::to_string(comm.rank()) + ": " + e.what();
  }
  // As for transactions: the sum waits for the slowest part before any agreement.
  const std::int64_t first_line = 1 + comm.exclusive_prefix_sum(scan.lines);
  const std::int64_t total_rows = comm.sum(scan.rows);
  comm.agree(scan_failure);
  const BadRowReport bad_rows = agree_on_bad_rows(comm, path, scan.reported_bad_rows, scan.bad_rows,
                                                  first_line, config.skip_bad_rows);
  if (total_rows == 0) {
    comm.agree(bad_rows.count > 0
                   ? "every data row of " + in_file(path) + " is malformed (" +
                         with_thousands(bad_rows.count) + " skipped)"
                   : "input file " + in_file(path) + " has no data rows after its header");
  }
  const std::int64_t row_begin = comm.exclusive_prefix_sum(scan.rows);
  const auto local_rows = static_cast<std::size_t>(scan.rows);

  // Ids: integers, or mapped keys kept as external ids; every id once.
  std::vector<std::string_view> key_views(local_rows);
  for (std::size_t i = 0; i < local_rows; ++i) key_views[i] = scan.id(i);
  const bool integer_ids = all_keys_are_integers(comm, key_views);
  io::IngestedTable table;
  table.total_rows = total_rows;
  table.rows = {row_begin, row_begin + scan.rows};
  table.has_external_ids = !integer_ids;
  std::vector<std::int64_t> lines(local_rows);
  for (std::size_t i = 0; i < local_rows; ++i) {
    table.ids.push_back(id_of_key(key_views[i], integer_ids));
    if (!integer_ids) table.external_ids.emplace_back(key_views[i]);
    lines[i] = first_line + scan.row_line_index[i];
  }
  distributed::IdsToCheck check{table.ids, &lines, integer_ids ? nullptr : &table.external_ids};
  if (const auto duplicate = distributed::find_duplicate_ids(comm, check)) {
    const bool same_key = integer_ids || duplicate->first_key == duplicate->second_key;
    const std::string who = integer_ids ? "customer id " + std::to_string(duplicate->id)
                                        : "customer '" + duplicate->first_key + "'";
    comm.agree(same_key
                   ? in_file(path) + ": " + who + " appears on lines " +
                         std::to_string(duplicate->first_line) + " and " +
                         std::to_string(duplicate->second_line) + " (" +
                         with_thousands(duplicate->duplicated_ids) +
                         " ids appear more than once); every customer must appear once"
                   : in_file(path) + ": customer keys '" + duplicate->first_key + "' (line " +
                         std::to_string(duplicate->first_line) + ") and '" + duplicate->second_key +
                         "' (line " + std::to_string(duplicate->second_line) +
                         ") map to the same int64 id; rename one of them");
  }

  // Columns: numbers as they are, categories as codes into the sorted union of every rank's.
  std::vector<std::int64_t> missing;
  for (std::size_t c = 0; c < scan.columns.size(); ++c) {
    io::ScannedColumn& scanned = scan.columns[c];
    io::IngestedColumn column = real_column(column_names[c], "");
    missing.push_back(scanned.missing);
    if (!scanned.categorical) {
      column.reals = std::move(scanned.numbers);
    } else {
      column.categories = distributed::union_of_strings(comm, scanned.categories);
      column.description =
          "category codes (names in /categories/" + column_names[c] + "); NaN for an empty cell";
      std::vector<double> global_code(scanned.categories.size());
      for (std::size_t k = 0; k < scanned.categories.size(); ++k) {
        global_code[k] =
            static_cast<double>(std::lower_bound(column.categories.begin(), column.categories.end(),
                                                 scanned.categories[k]) -
                                column.categories.begin());
      }
      for (std::int32_t code : scanned.codes) {
        column.reals.push_back(code < 0 ? std::nan("")
                                        : global_code[static_cast<std::size_t>(code)]);
      }
    }
    table.columns.push_back(std::move(column));
  }
  comm.sum_in_place(missing);
  for (std::size_t c = 0; c < table.columns.size(); ++c) table.columns[c].missing = missing[c];
  table.text_attributes = {{"command", "ingest features"},
                           {"source", path},
                           {"id_column", config.id_column},
                           {"microseg_version", MICROSEG_VERSION}};
  table.count_attributes = {{"rows", total_rows}, {"bad_rows_skipped", bad_rows.count}};
  comm.run_agreed([&] { io::write_ingested_table(config.output, comm.native(), table); });

  if (!comm.is_root()) return;
  log << "microseg ingest features: " << path << ": " << with_thousands(total_rows)
      << " customers × " << table.columns.size() << " columns written to " << config.output
      << (integer_ids ? "" : " (ids mapped from text keys; the keys are in /customers/external_id)")
      << "\n  malformed and skipped " << with_thousands(bad_rows.count) << "\n";
  for (const auto& line : bad_rows.first) log << "  skipped: " << line << "\n";
  for (const auto& column : table.columns) {
    if (column.missing == 0 && column.categories.empty()) continue;
    log << "  " << column.name << ": ";
    if (!column.categories.empty()) log << column.categories.size() << " categories, ";
    log << with_thousands(column.missing) << " empty cells (NaN)\n";
  }
}

}  // namespace microseg::app
