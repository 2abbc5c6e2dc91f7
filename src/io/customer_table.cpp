// Reading a rank's block of a customer table, writing a table, and reading seed centroids.
// Inspection (inspect_customer_table, select_features) is in customer_table_schema.cpp.
#include "microseg/io/customer_table.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "customer_file.hpp"
#include "customer_group.hpp"
#include "hdf5_collective.hpp"
#include "hdf5_rows.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// ---------------------------------------------------------------------------------------------
// Reading a block

// Collective reads of one rank's rows of /customers (RowReader) that turn failures and values
// out of float32's or int64's range into messages naming the dataset and the rows. A failure is
// noted rather than thrown, since the other ranks still wait in the collectives that follow;
// the first one is reported at the end.
class BlockReader {
 public:
  BlockReader(const std::string& path, RowRange rows)
      : path_(path), rows_(rows), reader_(rows, true) {}

  const std::optional<std::string>& error() const { return error_; }
  void note(const std::string& message) {
    if (!error_) error_ = message;
  }

  void read_ids(const Dataset& dataset, std::int64_t* ids) {
    const RowRead outcome = reader_.read_column(dataset, ids, {1, 0});
    if (outcome == RowRead::out_of_range) note(out_of_range("/customers/id", "int64"));
    if (outcome == RowRead::failed) note_failure("/customers/id");
  }

  // The rows of the 1-D dataset `object` into column `where.column` of a row-major buffer.
  void read_column(const Dataset& dataset, const std::string& object, float* buffer,
                   MemoryColumn where) {
    const RowRead outcome = reader_.read_column(dataset, buffer, where);
    if (outcome == RowRead::failed) note_failure(object);
    if (outcome != RowRead::out_of_range) return;
    for (hsize_t i = 0; i < static_cast<hsize_t>(rows_.size()); ++i) {
      if (RowReader::is_out_of_range_marker(buffer[i * where.width + where.column])) {
        note(overflow_message(object, rows_.begin + static_cast<std::int64_t>(i), ""));
        return;
      }
    }
    note(out_of_range(object, "float32"));
  }

  // The rows of the given columns (ascending) of /customers/features into a row-major buffer
  // holding those columns in that order.
  void read_matrix_columns(const Dataset& dataset, const std::vector<int>& sorted_columns,
                           const std::vector<std::string>& feature_names, float* buffer) {
    const std::string object = "/customers/features";
    const RowRead outcome = reader_.read_columns(dataset, sorted_columns, buffer);
    if (outcome == RowRead::failed) note_failure(object);
    if (outcome != RowRead::out_of_range) return;
    const std::size_t width = sorted_columns.size();
    for (std::size_t i = 0; i < static_cast<std::size_t>(rows_.size()) * width; ++i) {
      if (RowReader::is_out_of_range_marker(buffer[i])) {
        const int column = sorted_columns[i % width];
        note(overflow_message(
            object, rows_.begin + static_cast<std::int64_t>(i / width),
            ", column " + std::to_string(column) + " ('" + feature_names[column] + "')"));
        return;
      }
    }
    note(overflow_message(object, -1, ""));
  }

 private:
  std::string rows_text() const {
    return std::to_string(rows_.begin) + " to " + std::to_string(rows_.end - 1);
  }

  void note_failure(const std::string& object) {
    note("cannot read rows " + rows_text() + " of " + in_file(object, path_) + with_hdf5_detail());
  }

  std::string watched_value() const {
    if (std::isnan(reader_.out_of_range_value())) return "";
    std::ostringstream text;
    text << " (" << reader_.out_of_range_value() << ")";
    return text.str();
  }

  std::string out_of_range(const std::string& object, const char* type_name) const {
    return in_file(object, path_) + " holds a value" + watched_value() + " outside the range of " +
           type_name + " in rows " + rows_text();
  }

  std::string overflow_message(const std::string& object, std::int64_t row,
                               const std::string& column) const {
    const std::string where =
        row >= 0 ? " at row " + std::to_string(row) + column : " in rows " + rows_text();
    return in_file(object, path_) + " holds a value" + watched_value() + where +
           " outside the range of float32 (features are read as float32)";
  }

  const std::string& path_;
  RowRange rows_;
  RowReader reader_;
  std::optional<std::string> error_;
};

std::optional<std::string> block_argument_problem(const CustomerTableSchema& schema,
                                                  const std::vector<int>& feature_columns,
                                                  RowRange rows) {
  const int feature_count = static_cast<int>(schema.feature_names.size());
  std::optional<std::string> problem;
  if (rows.begin < 0 || rows.end < rows.begin || rows.end > schema.rows) {
    problem = "rows [" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) +
              ") are outside input file '" + schema.path + "' of " + std::to_string(schema.rows) +
              " customers";
  }
  const std::set<int> distinct(feature_columns.begin(), feature_columns.end());
  if (distinct.size() != feature_columns.size() ||
      (!distinct.empty() && (*distinct.begin() < 0 || *distinct.rbegin() >= feature_count))) {
    problem = "feature columns of input file '" + schema.path + "' must be distinct and in [0, " +
              std::to_string(feature_count) + ")";
  }
  return problem;
}

// The datasets of a block: /customers/id, then /customers/features or each selected column.
// The file may have changed since it was inspected; these checks strike every rank alike.
std::vector<Dataset> open_unchanged(const Group& group, const CustomerTableSchema& schema,
                                    const std::vector<int>& feature_columns) {
  const std::string& path = schema.path;
  const auto rows = static_cast<hsize_t>(schema.rows);
  std::vector<Dataset> datasets;
  const auto open = [&](const std::string& name, const std::vector<hsize_t>& dims,
                        bool (*expected_class)(H5T_class_t)) {
    datasets.push_back(open_customers_dataset(group, name, path));
    const Shape shape = shape_of(datasets.back(), customers_path(name), path);
    if (!expected_class(shape.type_class) || shape.dims != dims) {
      throw InputError(in_file(customers_path(name), path) +
                       " changed since the file was inspected");
    }
  };
  open("id", {rows}, [](H5T_class_t type_class) { return type_class == H5T_INTEGER; });
  if (schema.layout == FeatureLayout::matrix) {
    open("features", {rows, static_cast<hsize_t>(schema.feature_names.size())}, is_numeric);
  } else {
    for (int column : feature_columns) open(schema.feature_names[column], {rows}, is_numeric);
  }
  return datasets;
}

// Puts the columns of `features`, read in `sorted` order, into the order of `requested`.
void reorder_columns(FeatureMatrix& features, const std::vector<int>& sorted,
                     const std::vector<int>& requested) {
  const std::size_t width = requested.size();
  std::vector<Eigen::Index> source(width);
  for (std::size_t c = 0; c < width; ++c) {
    source[c] = std::find(sorted.begin(), sorted.end(), requested[c]) - sorted.begin();
  }
  std::vector<float> row(width);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (std::size_t c = 0; c < width; ++c) row[c] = features(i, source[c]);
    for (std::size_t c = 0; c < width; ++c) features(i, static_cast<Eigen::Index>(c)) = row[c];
  }
}

void read_features(BlockReader& reader, const std::vector<Dataset>& datasets,
                   const CustomerTableSchema& schema, const std::vector<int>& feature_columns,
                   CustomerBlock& block) {
  const hsize_t width = feature_columns.size();
  if (schema.layout == FeatureLayout::columns) {
    for (hsize_t c = 0; c < width; ++c) {
      reader.read_column(datasets[c + 1], customers_path(block.feature_names[c]),
                         block.features.data(), {width, c});
    }
    return;
  }
  // HDF5 delivers a selection in file order, so read the columns ascending, then reorder.
  std::vector<int> sorted(feature_columns);
  std::sort(sorted.begin(), sorted.end());
  reader.read_matrix_columns(datasets[1], sorted, schema.feature_names, block.features.data());
  if (sorted != feature_columns) reorder_columns(block.features, sorted, feature_columns);
}

// ---------------------------------------------------------------------------------------------
// Writing a table

std::optional<std::string> table_argument_problem(const std::string& path,
                                                  const CustomerTableBlock& block) {
  const std::string target = "writing customer table '" + path + "': ";
  if (!block.feature_names || !block.ids || !block.features) {
    return target + "feature names, ids and features are required";
  }
  if (block.feature_names->empty()) return target + "no feature names";
  const RowRange rows = block.rows;
  if (rows.begin < 0 || rows.end < rows.begin || rows.end > block.total_rows) {
    return target + "rows [" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) +
           ") are outside the table of " + std::to_string(block.total_rows) + " rows";
  }
  const auto count = static_cast<std::size_t>(rows.size());
  const FeatureMatrix& features = *block.features;
  if (block.ids->size() != count || static_cast<std::size_t>(features.rows()) != count) {
    return target + "a block of " + std::to_string(count) + " rows came with " +
           std::to_string(block.ids->size()) + " ids and " + std::to_string(features.rows()) +
           " feature rows";
  }
  if (count > 0 && static_cast<std::size_t>(features.cols()) != block.feature_names->size()) {
    return target + "features have " + std::to_string(features.cols()) + " columns but " +
           std::to_string(block.feature_names->size()) + " names";
  }
  for (const auto* column : {block.planted_segment, block.planted_macro_segment}) {
    const std::size_t planted = column ? column->size() : 0;
    if (planted != 0 && planted != count) {
      return target + "a block of " + std::to_string(count) + " rows came with " +
             std::to_string(planted) + " planted segments";
    }
  }
  return std::nullopt;
}

// Which planted columns the table has: every rank must create the same datasets, so the ranks
// agree on them even when some hold no rows.
struct PlantedColumns {
  bool segment = false, macro_segment = false;
};

// /customers/{id, features, planted_segment, planted_macro_segment}, each rank writing its rows.
OutputGroup write_table(const OutputGroup& root, const CustomerTableBlock& block,
                        const PlantedColumns& planted) {
  OutputGroup group = root.create_group("customers");
  const RowBlock rows{block.rows.begin, block.rows.size(), static_cast<hsize_t>(block.total_rows)};
  group.write_rows("id", rows, block.ids->data());
  RowBlock feature_rows = rows;
  feature_rows.width = block.feature_names->size();
  const Dataset features = group.write_rows("features", feature_rows, block.features->data());
  features.write_attribute("feature_names", *block.feature_names);
  if (planted.segment) {
    group.write_rows("planted_segment", rows,
                     block.planted_segment ? block.planted_segment->data() : nullptr);
  }
  if (planted.macro_segment) {
    group.write_rows("planted_macro_segment", rows,
                     block.planted_macro_segment ? block.planted_macro_segment->data() : nullptr);
  }
  return group;
}

}  // namespace

namespace detail {

OutputGroup write_customers_group(const OutputGroup& root, const CustomerTableBlock& block) {
  return write_table(root, block, PlantedColumns{true, false});
}

}  // namespace detail

CustomerBlock read_customer_block(const CustomerTableSchema& schema,
                                  const std::vector<int>& feature_columns, RowRange rows,
                                  MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  communicator.agree(block_argument_problem(schema, feature_columns, rows));

  CustomerBlock block;
  block.rows = rows;
  for (int column : feature_columns) block.feature_names.push_back(schema.feature_names[column]);
  block.ids.resize(static_cast<std::size_t>(rows.size()));
  block.features.resize(rows.size(), static_cast<Eigen::Index>(feature_columns.size()));

  BlockReader reader(schema.path, rows);
  {
    File file = open_input_file(schema.path, comm);
    run_while_file_open(communicator, [&] {
      const Group group = open_customers_group(file, schema.path);
      const std::vector<Dataset> datasets = open_unchanged(group, schema, feature_columns);
      // Tests fail one rank here, between collectives, as a failed allocation or I/O error would.
      distributed::maybe_inject_failure(communicator, "read");
      reader.read_ids(datasets.front(), block.ids.data());
      read_features(reader, datasets, schema, feature_columns, block);
    });
    if (!file.close()) {
      reader.note("cannot close input file '" + schema.path + "'" + with_hdf5_detail());
    }
  }
  communicator.agree(reader.error());
  return block;
}

std::vector<float> read_customer_column(const CustomerTableSchema& schema, const std::string& name,
                                        RowRange rows, MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  communicator.agree(block_argument_problem(schema, {}, rows));
  const std::string& path = schema.path;
  const std::string object = customers_path(name);
  std::vector<float> values(static_cast<std::size_t>(rows.size()));
  BlockReader reader(path, rows);
  {
    File file = open_input_file(path, comm);
    run_while_file_open(communicator, [&] {
      const Group group = open_customers_group(file, path);
      if (name.empty() || !group.has_link(name) || group.kind_of(name) != ObjectKind::dataset) {
        throw InputError("input file '" + path + "' has no dataset " + object);
      }
      const Dataset dataset = open_customers_dataset(group, name, path);
      const Shape shape = shape_of(dataset, object, path);
      const std::vector<hsize_t> expected{static_cast<hsize_t>(schema.rows)};
      if (!is_numeric(shape.type_class) || shape.dims != expected) {
        throw InputError(in_file(object, path) + " must be 1-D and numeric with one value per " +
                         "customer (" + describe_dims(expected) + "), but holds " +
                         describe_class(shape.type_class) + " as " + describe_dims(shape.dims));
      }
      check_stored_values(dataset, shape, object, path);
      reader.read_column(dataset, object, values.data(), {1, 0});
    });
    if (!file.close()) reader.note("cannot close input file '" + path + "'" + with_hdf5_detail());
  }
  communicator.agree(reader.error());
  return values;
}

void write_customer_table(const std::string& path, MPI_Comm comm, const CustomerTableBlock& block) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  std::optional<std::string> problem = table_argument_problem(path, block);
  const RowRange rows = block.rows;
  // Every rank must create the same datasets, so the ranks agree whether there is a planted
  // column even when some of them hold no rows.
  const std::int64_t written_rows = communicator.sum(rows.size());
  const bool has_planted = block.planted_segment && !block.planted_segment->empty();
  const bool has_macro = block.planted_macro_segment && !block.planted_macro_segment->empty();
  const PlantedColumns planted{communicator.any(has_planted), communicator.any(has_macro)};
  if (!problem && written_rows != block.total_rows) {
    problem = "writing customer table '" + path + "': the ranks' blocks hold " +
              std::to_string(written_rows) + " rows, expected " + std::to_string(block.total_rows);
  }
  if (!problem && ((planted.segment && !has_planted) || (planted.macro_segment && !has_macro)) &&
      rows.size() != 0) {
    problem = "writing customer table '" + path + "': rows [" + std::to_string(rows.begin) + ", " +
              std::to_string(rows.end) + ") have no planted segments";
  }
  if (!problem) problem = output_location_problem(path);
  communicator.agree(problem);

  PendingOutputs outputs(communicator);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  {
    OutputFile file(outputs, temporary, path);
    run_while_file_open(communicator, [&] { write_table(file.root(), block, planted); });
    error = file.finish();
  }
  outputs.commit(error);
}

CentroidMatrix read_centroids(const std::string& path, int expected_k, int expected_d) {
  SilenceHdf5Errors silence;
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    throw InputError("centroids file '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, code)) {
    throw InputError("centroids file '" + path + "' is not a readable HDF5 file");
  }
  // Every rank reads this small file on its own, so plain (non-MPI) access.
  const std::optional<File> file = File::open(path, FileAccess::shared_lock());
  if (!file) {
    throw InputError("centroids file '" + path + "' is not a readable HDF5 file" +
                     with_hdf5_detail());
  }
  if (!file->has_link("centroids")) {
    throw InputError("centroids file '" + path + "' has no dataset /centroids");
  }
  const std::optional<Dataset> dataset = file->kind_of("centroids") == ObjectKind::dataset
                                             ? file->open_dataset("centroids")
                                             : std::nullopt;
  if (!dataset) {
    throw InputError(in_file("/centroids", path) + " is not a dataset (expected " +
                     std::to_string(expected_k) + " × " + std::to_string(expected_d) +
                     " centroids)");
  }
  const Shape shape = shape_of(*dataset, "/centroids", path);
  const std::vector<hsize_t> expected{static_cast<hsize_t>(expected_k),
                                      static_cast<hsize_t>(expected_d)};
  if (!is_numeric(shape.type_class) || shape.dims != expected) {
    throw InputError("centroids file '" + path + "': /centroids must be numeric with shape " +
                     describe_dims(expected) + " (k × features), but holds " +
                     describe_class(shape.type_class) + " as " + describe_dims(shape.dims));
  }
  CentroidMatrix centroids(expected_k, expected_d);
  if (centroids.size() > 0 && !dataset->read(centroids.data())) {
    throw InputError("cannot read " + in_file("/centroids", path) + with_hdf5_detail());
  }
  return centroids;
}

}  // namespace microseg::io
