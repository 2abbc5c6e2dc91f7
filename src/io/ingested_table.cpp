#include "microseg/io/ingested_table.hpp"

#include <algorithm>

#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;

std::optional<std::string> table_problem(const std::string& path, const IngestedTable& table) {
  const std::string target = "writing customer table '" + path + "': ";
  const auto count = static_cast<std::size_t>(table.rows.size());
  if (table.rows.begin < 0 || table.rows.end < table.rows.begin ||
      table.rows.end > table.total_rows) {
    return target + "rows [" + std::to_string(table.rows.begin) + ", " +
           std::to_string(table.rows.end) + ") are outside the table of " +
           std::to_string(table.total_rows) + " rows";
  }
  if (table.ids.size() != count) return target + "a block's ids do not match its rows";
  if (table.has_external_ids && table.external_ids.size() != count) {
    return target + "a block's external ids do not match its rows";
  }
  for (const auto& column : table.columns) {
    const std::size_t values =
        column.type == IngestedColumn::Type::float64 ? column.reals.size() : column.integers.size();
    if (values != count) return target + "column '" + column.name + "' does not match its rows";
  }
  return std::nullopt;
}

// One feature column of /customers: this rank's block of values and the column's attributes.
void write_values(const OutputGroup& customers, const IngestedColumn& column,
                  const RowBlock& rows) {
  const bool real = column.type == IngestedColumn::Type::float64;
  const Dataset dataset = real ? customers.write_rows(column.name, rows, column.reals.data())
                               : customers.write_rows(column.name, rows, column.integers.data());
  if (!column.description.empty()) dataset.write_attribute("description", column.description);
  if (real) dataset.write_attribute("missing", column.missing);
  if (!column.categories.empty()) {
    dataset.write_attribute("categories", "/categories/" + column.name);
  }
}

// /customers/external_id: fixed-length strings `width` bytes wide, since parallel HDF5 cannot
// write variable-length data and every rank writes its own block.
void write_external_ids(const OutputGroup& customers, const IngestedTable& table, std::size_t width,
                        const RowBlock& rows) {
  const Datatype type = Datatype::fixed_utf8(width);
  const std::vector<char> packed = pack_fixed(table.external_ids, width);
  const Dataset external =
      customers.write_rows("external_id", rows, {type.id(), type.id()}, packed.data());
  external.write_attribute("description",
                           "the customer key as written in the CSV, row by row with "
                           "/customers/id");
}

// /customers and /categories. Both list their links in creation order (as h5py's
// track_order=True), so the reader takes the features in the order they were written.
void write_customers(const OutputGroup& root, const IngestedTable& table,
                     std::size_t external_width) {
  const OutputGroup customers = root.create_group("customers", LinkOrder::by_creation);
  const RowBlock rows{table.rows.begin, table.rows.size(), static_cast<hsize_t>(table.total_rows)};
  customers.write_rows("id", rows, table.ids.data());
  std::optional<OutputGroup> categories;
  for (const auto& column : table.columns) {
    write_values(customers, column, rows);
    if (column.categories.empty()) continue;
    if (!categories) categories = root.create_group("categories", LinkOrder::by_creation);
    categories->write_strings(column.name, column.categories);
  }
  if (table.has_external_ids) write_external_ids(customers, table, external_width, rows);
}

// /ingest: the source and the counts of the run.
void write_ingest_group(const OutputGroup& root, const IngestedTable& table) {
  const OutputGroup ingest = root.create_group("ingest");
  for (const auto& [name, value] : table.text_attributes) ingest.attribute(name, value);
  for (const auto& [name, value] : table.count_attributes) ingest.attribute(name, value);
}

}  // namespace

std::optional<std::string> ingested_table_output_problem(const std::string& path) {
  return output_location_problem(path);
}

void write_ingested_table(const std::string& path, MPI_Comm comm, const IngestedTable& table) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  std::optional<std::string> problem = table_problem(path, table);
  const std::int64_t written_rows = communicator.sum(table.rows.size());
  if (!problem && written_rows != table.total_rows) {
    problem = "writing customer table '" + path + "': the ranks' blocks hold " +
              std::to_string(written_rows) + " rows, expected " + std::to_string(table.total_rows);
  }
  if (!problem) problem = output_location_problem(path);
  communicator.agree(problem);
  const auto external_width = static_cast<std::size_t>(communicator.max(
      static_cast<std::int64_t>(table.has_external_ids ? longest(table.external_ids) : 0)));

  PendingOutputs outputs(communicator);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  {
    OutputFile file(outputs, temporary, path);
    write_customers(file.root(), table, external_width);
    write_ingest_group(file.root(), table);
    error = file.finish();
  }
  outputs.commit(error);
}

}  // namespace microseg::io
