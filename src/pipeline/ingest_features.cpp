// `ingest features`: a customer table in, the same table as HDF5 columns out, in file order.
#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "ingest_scan.hpp"
#include "microseg/distributed/customer_exchange.hpp"
#include "microseg/io/csv_features.hpp"
#include "microseg/pipeline/ingest.hpp"

namespace microseg::pipeline {
namespace {

using distributed::Communicator;
using namespace detail;

// A name the HDF5 layout can hold as a dataset in /customers.
std::optional<std::string> column_name_problem(const std::string& name) {
  if (name.empty()) return std::string("has an empty name");
  if (name == "." || name.find('/') != std::string::npos) {
    return "has the name '" + name + "', which cannot name a dataset ('/' or '.')";
  }
  return std::nullopt;
}

// The non-id columns of the header, in file order; throws InputError for a name the table
// cannot hold, a name used twice, or no such column at all.
std::vector<std::string> feature_column_names(const std::vector<std::string>& header, int id_column,
                                              const IngestFeaturesPlan& plan) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (static_cast<int>(i) == id_column) continue;
    const std::string where =
        "the header of " + in_file(plan.csv) + ": column " + std::to_string(i + 1);
    if (const auto problem = column_name_problem(header[i])) {
      throw InputError(where + " " + *problem);
    }
    if (header[i] == "id") {
      throw InputError(where +
                       " is named 'id', which is reserved for the customer id (/customers/id)");
    }
    if (!seen.insert(header[i]).second) {
      throw InputError(where + ": the name '" + header[i] + "' appears twice");
    }
    names.push_back(header[i]);
  }
  if (names.empty()) {
    throw InputError(in_file(plan.csv) + " has no feature columns besides the id column '" +
                     plan.id_column + "'");
  }
  return names;
}

// Per field of the header: whether --categorical names it.
std::vector<bool> categorical_fields(const io::CsvHead& head, int id_column,
                                     const IngestFeaturesPlan& plan) {
  std::vector<bool> categorical(head.fields.size(), false);
  for (const auto& name : plan.categorical) {
    const int column = io::resolve_csv_column(head, true, "categorical", name, plan.csv);
    if (column == id_column) {
      throw InputError("option --categorical: '" + name + "' is the id column");
    }
    categorical[static_cast<std::size_t>(column)] = true;
  }
  return categorical;
}

// The file mapped and what its scan needs, identically on every rank.
struct FeatureInput {
  CsvInput csv;
  io::FeatureScanSpec spec;
  std::vector<std::string> column_names;  // the non-id columns, in file order
};

// Collective: every problem with the output, the header or the options is agreed.
FeatureInput open_features(const Communicator& comm, const IngestFeaturesPlan& plan) {
  comm.agree(io::ingested_table_output_problem(plan.output));
  FeatureInput input;
  comm.run_agreed([&] {
    input.csv = open_csv(plan.csv, plan.delimiter, true);
    const io::CsvHead& head = input.csv.head;
    io::FeatureScanSpec& spec = input.spec;
    spec.id_column = io::resolve_csv_column(head, true, "id-column", plan.id_column, plan.csv);
    spec.categorical = categorical_fields(head, spec.id_column, plan);
    input.column_names = feature_column_names(head.fields, spec.id_column, plan);
    spec.delimiter = input.csv.delimiter;
    spec.data_begin = head.end;
    spec.field_count = head.fields.size();
    spec.column_labels = io::csv_column_labels(head.fields, head.fields.size(), true);
    spec.skip_bad_rows = plan.skip_bad_rows;
  });
  return input;
}

// The message for an id that appears twice, or for two keys that map to one id.
std::string duplicate_message(const distributed::DuplicateId& duplicate, bool integer_ids,
                              const std::string& path) {
  if (!integer_ids && duplicate.first_key != duplicate.second_key) {
    return in_file(path) + ": customer keys '" + duplicate.first_key + "' (line " +
           std::to_string(duplicate.first_line) + ") and '" + duplicate.second_key + "' (line " +
           std::to_string(duplicate.second_line) + ") map to the same int64 id; rename one of them";
  }
  const std::string who = integer_ids ? "customer id " + std::to_string(duplicate.id)
                                      : "customer '" + duplicate.first_key + "'";
  return in_file(path) + ": " + who + " appears on lines " + std::to_string(duplicate.first_line) +
         " and " + std::to_string(duplicate.second_line) + " (" +
         with_thousands(duplicate.duplicated_ids) +
         " ids appear more than once); every customer must appear once";
}

// Collective: this rank's ids (integers, or mapped keys kept as external ids) into `table`;
// every id must appear once over all ranks. Returns whether the ids are the keys as integers.
bool add_customer_ids(const Communicator& comm, const AgreedScan<io::FeatureScan>& agreed,
                      const std::string& path, io::IngestedTable& table) {
  const io::FeatureScan& scan = agreed.scan;
  const auto rows = static_cast<std::size_t>(scan.rows);
  const bool integer_ids =
      keys_are_integers_on_every_rank(comm, rows, [&](std::size_t i) { return scan.id(i); });
  table.has_external_ids = !integer_ids;
  std::vector<std::int64_t> lines(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    table.ids.push_back(integer_ids ? *io::parse_int64(scan.id(i))
                                    : io::mapped_customer_id(scan.id(i)));
    if (!integer_ids) table.external_ids.emplace_back(scan.id(i));
    lines[i] = agreed.first_line + scan.row_line_index[i];
  }
  const distributed::IdsToCheck check{table.ids, &lines,
                                      integer_ids ? nullptr : &table.external_ids};
  if (const auto duplicate = distributed::find_duplicate_ids(comm, check)) {
    comm.agree(duplicate_message(*duplicate, integer_ids, path));
  }
  return integer_ids;
}

// Collective: category codes into the sorted union of every rank's categories (NaN if empty).
void add_category_codes(const Communicator& comm, const io::ScannedColumn& scanned,
                        io::IngestedColumn& column) {
  column.categories = distributed::union_of_strings(comm, scanned.categories);
  column.description =
      "category codes (names in /categories/" + column.name + "); NaN for an empty cell";
  std::vector<double> global_code(scanned.categories.size());
  for (std::size_t k = 0; k < scanned.categories.size(); ++k) {
    global_code[k] =
        static_cast<double>(std::lower_bound(column.categories.begin(), column.categories.end(),
                                             scanned.categories[k]) -
                            column.categories.begin());
  }
  for (std::int32_t code : scanned.codes) {
    column.reals.push_back(code < 0 ? std::nan("") : global_code[static_cast<std::size_t>(code)]);
  }
}

// Collective: the scanned columns as float64 columns, numbers as they are, categories as codes;
// `missing` counts empty cells over all ranks.
std::vector<io::IngestedColumn> feature_columns(const Communicator& comm,
                                                std::vector<io::ScannedColumn>& scanned,
                                                const std::vector<std::string>& names) {
  std::vector<io::IngestedColumn> columns;
  std::vector<std::int64_t> missing;
  for (std::size_t c = 0; c < scanned.size(); ++c) {
    io::IngestedColumn column = real_column(names[c], "");
    missing.push_back(scanned[c].missing);
    if (scanned[c].categorical) {
      add_category_codes(comm, scanned[c], column);
    } else {
      column.reals = std::move(scanned[c].numbers);
    }
    columns.push_back(std::move(column));
  }
  comm.sum_in_place(missing);
  for (std::size_t c = 0; c < columns.size(); ++c) columns[c].missing = missing[c];
  return columns;
}

// The /ingest attributes: where the table came from and what became of the rows.
void record_the_run(io::IngestedTable& table, const IngestFeaturesPlan& plan,
                    const IngestFeaturesResult& result) {
  table.text_attributes = {{"command", "ingest features"},
                           {"source", plan.csv},
                           {"id_column", plan.id_column},
                           {"microseg_version", MICROSEG_VERSION}};
  table.count_attributes = {{"rows", result.customers},
                            {"bad_rows_skipped", result.bad_rows.count}};
}

std::vector<IngestedColumnSummary> column_summaries(
    const std::vector<io::IngestedColumn>& columns) {
  std::vector<IngestedColumnSummary> summaries;
  for (const auto& column : columns) {
    summaries.push_back({column.name, column.categories.size(), column.missing});
  }
  return summaries;
}

}  // namespace

IngestFeaturesResult ingest_features(const Communicator& comm, const IngestFeaturesPlan& plan) {
  const FeatureInput input = open_features(comm, plan);
  auto agreed = scan_and_agree<io::FeatureScan>(
      comm, input.csv, {plan.csv, plan.skip_bad_rows},
      [&](std::string_view text, io::ByteRange part) {
        return io::scan_features(text, part, input.spec);
      },
      [](const io::FeatureScan& scan) { return std::vector<std::int64_t>{scan.rows}; });
  IngestFeaturesResult result;
  result.customers = agreed.totals.front();
  result.bad_rows = std::move(agreed.bad_rows);
  if (result.customers == 0) {
    comm.agree(result.bad_rows.count > 0
                   ? "every data row of " + in_file(plan.csv) + " is malformed (" +
                         with_thousands(result.bad_rows.count) + " skipped)"
                   : "input file " + in_file(plan.csv) + " has no data rows after its header");
  }
  const std::int64_t row_begin = comm.exclusive_prefix_sum(agreed.scan.rows);

  io::IngestedTable table;
  table.total_rows = result.customers;
  table.rows = {row_begin, row_begin + agreed.scan.rows};
  result.integer_ids = add_customer_ids(comm, agreed, plan.csv, table);
  table.columns = feature_columns(comm, agreed.scan.columns, input.column_names);
  result.columns = column_summaries(table.columns);
  record_the_run(table, plan, result);
  distributed::mark_phase("write");
  comm.run_agreed([&] { io::write_ingested_table(plan.output, comm.native(), table); });
  return result;
}

}  // namespace microseg::pipeline
