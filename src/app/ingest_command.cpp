// `microseg ingest`: options into plans, the pipeline (pipeline/ingest.hpp), and the report.
#include <algorithm>
#include <boost/program_options/options_description.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "microseg/app/ingest.hpp"
#include "microseg/app/option_reader.hpp"
#include "microseg/app/progress_printer.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/pipeline/plan.hpp"

namespace microseg::app {
namespace {

namespace po = boost::program_options;
using distributed::Communicator;
using pipeline::with_thousands;

// ---------------------------------------------------------------------------------------------
// Options

// A switch that takes no value on the command line (--skip-bad-rows, --no-header).
void add_flag(po::options_description& options, const char* name, const std::string& what,
              const std::string& example) {
  options.add_options()(name, po::value<std::string>()->zero_tokens()->implicit_value("true"),
                        option_help(what, "off", example).c_str());
}

void add_csv_options(po::options_description& options) {
  add_option(options, "delimiter", "field delimiter: , | ; | tab | whitespace", ",",
             "--delimiter tab");
  add_flag(options, "skip-bad-rows",
           "skip and count malformed rows instead of stopping at the first", "--skip-bad-rows");
}

po::options_description features_options() {
  po::options_description options("microseg ingest features options");
  add_option(options, "csv", "customer table: one row per customer, header row", "required",
             "--csv crm.csv");
  add_option(options, "id-column", "header name of the customer id column", "required",
             "--id-column customer_id");
  add_option(options, "output", "output HDF5 file", "required", "--output customers.h5");
  add_option(options, "categorical",
             "columns of categories, comma-separated: stored as codes with their names", "none",
             "--categorical region,channel");
  add_csv_options(options);
  return options;
}

po::options_description transactions_options() {
  po::options_description options("microseg ingest transactions options");
  add_option(options, "csv", "transaction log: one row per purchase", "required", "--csv tx.csv");
  add_option(options, "customer-column",
             "customer id column (header name, or 1-based position with --no-header)", "required",
             "--customer-column customer_id");
  add_option(options, "date-column",
             "purchase date column: YYYY-MM-DD, ISO 8601 date-time or YYYYMMDD", "required",
             "--date-column order_date");
  add_option(options, "amount-column",
             "column of each row's total money (an order total), summed as it is: never "
             "multiplied by --quantity-column",
             "required, or --unit-price-column", "--amount-column order_total");
  add_option(options, "unit-price-column",
             "column of a price per unit instead: a row is worth unit price × --quantity-column",
             "none", "--unit-price-column price");
  add_option(options, "quantity-column",
             "column of items per row, summed per customer as units; it multiplies "
             "--unit-price-column only",
             "none", "--quantity-column quantity");
  add_option(options, "as-of",
             "the date RFM is computed at (YYYY-MM-DD); later transactions are ignored", "required",
             "--as-of 2024-12-31");
  add_option(options, "window-days", "only count the N days ending on the as-of date", "every day",
             "--window-days 365");
  add_flag(options, "no-header", "the first line is data; columns are named by position",
           "--no-header");
  add_csv_options(options);
  add_option(options, "output", "output HDF5 file", "required", "--output rfm.h5");
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
  if (!pipeline::is_csv_delimiter(value)) {
    invalid_option_value("delimiter", value, ", or ; or tab or whitespace");
  }
  return value;
}

pipeline::IngestFeaturesPlan parse_features_options(const std::vector<std::string>& arguments) {
  const OptionReader options("ingest features", features_options(), arguments);
  pipeline::IngestFeaturesPlan plan;
  plan.csv = options.required("csv");
  plan.id_column = options.required("id-column");
  plan.output = options.required("output");
  plan.delimiter = checked_delimiter(options);
  plan.categorical = options.list("categorical");
  plan.skip_bad_rows = flag(options, "skip-bad-rows");
  return plan;
}

pipeline::IngestTransactionsPlan parse_transactions_options(
    const std::vector<std::string>& arguments) {
  const OptionReader options("ingest transactions", transactions_options(), arguments);
  pipeline::IngestTransactionsPlan plan;
  plan.csv = options.required("csv");
  plan.customer_column = options.required("customer-column");
  plan.date_column = options.required("date-column");
  plan.amount_column = options.text("amount-column");
  plan.unit_price_column = options.text("unit-price-column");
  plan.quantity_column = options.text("quantity-column");
  if (plan.amount_column.empty() == plan.unit_price_column.empty()) {
    throw InputError(
        "ingest transactions: give either --amount-column (each row's total) or "
        "--unit-price-column (a price per unit, multiplied by --quantity-column), " +
        std::string(plan.amount_column.empty() ? "neither was given" : "not both"));
  }
  if (!plan.unit_price_column.empty() && plan.quantity_column.empty()) {
    throw InputError(
        "ingest transactions: --unit-price-column needs --quantity-column (a row is worth "
        "unit price × quantity); for a column of row totals use --amount-column");
  }
  plan.output = options.required("output");
  plan.as_of = options.required("as-of");
  const auto day = pipeline::day_of_date(plan.as_of);
  if (!day) invalid_option_value("as-of", plan.as_of, "a date YYYY-MM-DD or YYYYMMDD");
  plan.as_of_day = *day;
  if (options.has("window-days")) {
    plan.window_days = static_cast<std::int32_t>(options.integer("window-days", "", 1, 10000000));
  }
  plan.has_header = !flag(options, "no-header");
  plan.delimiter = checked_delimiter(options);
  plan.skip_bad_rows = flag(options, "skip-bad-rows");
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Reports

void print_features_report(const pipeline::IngestFeaturesPlan& plan,
                           const pipeline::IngestFeaturesResult& result, std::ostream& log) {
  log << "microseg ingest features: " << plan.csv << ": " << with_thousands(result.customers)
      << " customers × " << result.columns.size() << " columns written to " << plan.output
      << (result.integer_ids
              ? ""
              : " (ids mapped from text keys; the keys are in /customers/external_id)")
      << "\n  malformed and skipped " << with_thousands(result.bad_rows.count) << "\n";
  for (const auto& line : result.bad_rows.first) log << "  skipped: " << line << "\n";
  for (const auto& column : result.columns) {
    if (column.missing == 0 && column.categories == 0) continue;
    log << "  " << column.name << ": ";
    if (column.categories > 0) log << column.categories << " categories, ";
    log << with_thousands(column.missing) << " empty cells (NaN)\n";
  }
}

// The first lines: the file, the customers written, and what became of the rows.
void print_transaction_counts(const pipeline::IngestTransactionsPlan& plan,
                              const pipeline::IngestTransactionsResult& result, std::ostream& log) {
  const pipeline::TransactionRowCounts& rows = result.rows;
  log << std::fixed << std::setprecision(2) << "microseg ingest transactions: " << plan.csv << " ("
      << static_cast<double>(result.input_bytes) / 1e6 << " MB, " << with_thousands(rows.rows)
      << " rows) on " << result.ranks << " ranks: " << with_thousands(result.customers)
      << " customers written to " << plan.output << "\n  rows counted "
      << with_thousands(rows.counted) << ", after the as-of date " << result.as_of_date << " "
      << with_thousands(rows.after_as_of);
  if (plan.window_days > 0) {
    log << ", before the " << plan.window_days << "-day window "
        << with_thousands(rows.before_window);
  }
  log << ", malformed and skipped " << with_thousands(result.bad_rows.count) << "\n";
  for (const auto& line : result.bad_rows.first) log << "  skipped: " << line << "\n";
  if (result.single_purchase_customers > 0) {
    log << "  mean_interpurchase_days is NaN for "
        << with_thousands(result.single_purchase_customers) << " customers with one transaction\n";
  }
}

void print_transactions_report(const pipeline::IngestTransactionsPlan& plan,
                               const pipeline::IngestTransactionsResult& result,
                               std::ostream& log) {
  print_transaction_counts(plan, result, log);
  log << "  segments:";
  for (std::size_t s = 0; s < result.segments.size(); ++s) {
    const pipeline::RfmSegmentSize& segment = result.segments[s];
    log << (s % 4 == 0 ? "\n    " : "  ") << segment.name << " "
        << with_thousands(segment.customers) << " (" << std::setprecision(1)
        << 100.0 * static_cast<double>(segment.customers) / static_cast<double>(result.customers)
        << "%)";
  }
  const pipeline::IngestTransactionsSeconds& seconds = result.seconds;
  const double megabytes = static_cast<double>(result.input_bytes) / 1e6;
  log << std::setprecision(3) << "\n  seconds: parse " << seconds.parse << ", exchange "
      << seconds.exchange << ", score " << seconds.score << ", write " << seconds.write
      << "; total " << seconds.total() << " (" << std::setprecision(1)
      << megabytes / std::max(seconds.total(), 1e-9) << " MB/s)\n"
      << std::defaultfloat;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The command

std::string ingest_usage() {
  std::ostringstream text;
  text << "usage: microseg ingest features --csv customers.csv --id-column C --output out.h5\n"
          "           [--delimiter ,|;|tab|whitespace] [--categorical a,b] [--skip-bad-rows]\n"
          "       mpiexec -n P microseg ingest transactions --csv tx.csv --customer-column C\n"
          "           --date-column D (--amount-column A | --unit-price-column P)\n"
          "           [--quantity-column Q] --as-of YYYY-MM-DD\n"
          "           [--window-days N] [--no-header] [--delimiter …] [--skip-bad-rows]\n"
          "           --output customers.h5\n\n"
       << features_options() << "\n"
       << transactions_options() << "\n"
       << common_options();
  return text.str();
}

IngestCommandPlan parse_ingest_options(const std::vector<std::string>& arguments) {
  IngestCommandPlan plan;
  plan.kind = arguments.empty() ? "" : arguments.front();
  const std::vector<std::string> rest(arguments.begin() + (arguments.empty() ? 0 : 1),
                                      arguments.end());
  if (plan.kind == "features") {
    plan.features = parse_features_options(rest);
  } else if (plan.kind == "transactions") {
    plan.transactions = parse_transactions_options(rest);
  } else {
    throw InputError("ingest: expected 'features' or 'transactions' after 'ingest'" +
                     (plan.kind.empty() ? std::string() : ", not '" + plan.kind + "'") +
                     " (see 'microseg ingest --help')");
  }
  return plan;
}

void run_ingest_features(const Communicator& comm, const pipeline::IngestFeaturesPlan& plan,
                         std::ostream& log) {
  ProgressPrinter printer(comm.is_root(), log);
  const Stopwatch stopwatch;
  const pipeline::IngestFeaturesResult result = pipeline::ingest_features(comm, plan);
  printer.note(
      row_rate_line("ingested", result.customers + result.bad_rows.count, stopwatch.elapsed()));
  print_features_report(plan, result, printer.summary());
}

// --amount-column with --quantity-column multiplied the two before this version; it now means a
// row total and a count. Said every time (this version only), so no one gets a different
// monetary value without being told.
void warn_about_amount_with_quantity(const pipeline::IngestTransactionsPlan& plan,
                                     std::ostream& err) {
  if (plan.amount_column.empty() || plan.quantity_column.empty()) return;
  err << "microseg: warning: --amount-column " << plan.amount_column << " with --quantity-column "
      << plan.quantity_column << ": '" << plan.amount_column
      << "' is each row's total (monetary_total sums it as it is) and '" << plan.quantity_column
      << "' is only counted (units). Earlier versions multiplied " << plan.amount_column << " × "
      << plan.quantity_column << "; if '" << plan.amount_column
      << "' is a price per unit, write --unit-price-column " << plan.amount_column
      << " instead. This warning is printed in this version only." << std::endl;
}

void run_ingest_transactions(const Communicator& comm, const pipeline::IngestTransactionsPlan& plan,
                             std::ostream& log) {
  if (comm.is_root()) warn_about_amount_with_quantity(plan, std::cerr);
  ProgressPrinter printer(comm.is_root(), log);
  pipeline::IngestProgress progress;
  progress.scanning = [&](std::int64_t lines, std::int64_t bytes_read, std::int64_t part_bytes,
                          double seconds) {
    std::ostringstream line;
    line << "parsing: rank 0 read " << with_thousands(lines) << " lines, " << std::fixed
         << std::setprecision(1)
         << 100.0 * static_cast<double>(bytes_read) /
                static_cast<double>(std::max<std::int64_t>(part_bytes, 1))
         << "% of its part, "
         << with_thousands(
                static_cast<std::int64_t>(static_cast<double>(lines) / std::max(seconds, 1e-9)))
         << " rows/s";
    printer.tick("parsing", line.str());
  };
  const pipeline::IngestTransactionsResult result =
      pipeline::ingest_transactions(comm, plan, progress);
  printer.note(
      row_rate_line("parsed", result.rows.rows + result.bad_rows.count, result.seconds.parse));
  print_transactions_report(plan, result, printer.summary());
}

void ingest_command(const Communicator& comm, const std::vector<std::string>& arguments) {
  const auto plan = pipeline::plan_on_root<IngestCommandPlan>(
      comm, [&] { return parse_ingest_options(arguments); });
  if (plan.kind == "features") {
    run_ingest_features(comm, plan.features, std::cout);
  } else {
    run_ingest_transactions(comm, plan.transactions, std::cout);
  }
}

}  // namespace microseg::app
