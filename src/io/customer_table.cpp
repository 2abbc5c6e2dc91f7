#include "microseg/io/customer_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "hdf5_collective.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_strings.hpp"
#include "hdf5_write.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/fault_injection.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// ---------------------------------------------------------------------------------------------
// Reading: shapes and types

struct DatasetShape {
  H5T_class_t type_class = H5T_NO_CLASS;
  std::vector<hsize_t> dims;
};

std::string describe_class(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floating-point numbers";
    case H5T_STRING:
      return "strings";
    case H5T_ENUM:
      return "an enumeration (h5py stores booleans this way)";
    case H5T_COMPOUND:
      return "a compound type";
    case H5T_BITFIELD:
      return "a bit field";
    case H5T_OPAQUE:
      return "opaque data";
    case H5T_REFERENCE:
      return "object references";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_ARRAY:
      return "fixed-size arrays";
    default:
      return "an unknown type";
  }
}

std::string describe_dims(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  std::string text = std::to_string(dims.size()) + "-D (";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    text += (i > 0 ? " × " : "") + std::to_string(dims[i]);
  }
  return text + ")";
}

bool is_numeric(H5T_class_t type_class) {
  return type_class == H5T_INTEGER || type_class == H5T_FLOAT;
}

std::string in_file(const std::string& object, const std::string& path) {
  return object + " in '" + path + "'";
}

std::string customers_path(const std::string& name) {
  return "/customers/" + name;
}

DatasetShape shape_of(hid_t dataset, const std::string& object, const std::string& path) {
  DatatypeHandle type(H5Dget_type(dataset));
  DataspaceHandle space(H5Dget_space(dataset));
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (!type.valid() || rank < 0) {
    throw InputError("cannot read the type and shape of " + in_file(object, path) +
                     with_hdf5_detail());
  }
  DatasetShape shape;
  shape.type_class = H5Tget_class(type.get());
  shape.dims.resize(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), shape.dims.data(), nullptr);
  return shape;
}

bool has_link(hid_t location, const std::string& name) {
  return H5Lexists(location, name.c_str(), H5P_DEFAULT) > 0;
}

DatasetHandle open_dataset(hid_t group, const std::string& name, const std::string& path) {
  DatasetHandle dataset(H5Dopen2(group, name.c_str(), H5P_DEFAULT));
  if (!dataset.valid()) {
    throw InputError(in_file(customers_path(name), path) + " cannot be opened as a dataset" +
                     with_hdf5_detail());
  }
  return dataset;
}

FileHandle open_for_reading(const std::string& path, MPI_Comm comm) {
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    throw InputError("input file '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, code)) {
    throw InputError("input file '" + path + "' is a directory, not an HDF5 file");
  }
  PropertyListHandle access(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(access.get(), comm, MPI_INFO_NULL);
  FileHandle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
  if (!file.valid()) {
    throw InputError("input file '" + path + "' is not a readable HDF5 file" + with_hdf5_detail());
  }
  return file;
}

GroupHandle open_customers_group(hid_t file, const std::string& path) {
  if (!has_link(file, "customers")) {
    throw InputError("input file '" + path +
                     "' has no group /customers (expected /customers/id and the features)");
  }
  GroupHandle group(H5Gopen2(file, "customers", H5P_DEFAULT));
  if (!group.valid()) throw InputError(in_file("/customers", path) + " is not a group");
  return group;
}

// The names in a 1-D string attribute, fixed- or variable-length (h5py writes either).
std::vector<std::string> read_string_array_attribute(hid_t object, const std::string& name,
                                                     const std::string& where) {
  AttributeHandle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  DatatypeHandle type(attribute.valid() ? H5Aget_type(attribute.get()) : H5I_INVALID_HID);
  DataspaceHandle space(attribute.valid() ? H5Aget_space(attribute.get()) : H5I_INVALID_HID);
  if (!type.valid() || !space.valid()) {
    throw InputError("cannot read attribute " + name + " of " + where + with_hdf5_detail());
  }
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (H5Tget_class(type.get()) != H5T_STRING || rank != 1) {
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    throw InputError("attribute " + name + " of " + where +
                     " must be a 1-D array of strings, but holds " +
                     describe_class(H5Tget_class(type.get())) + " as " + describe_dims(dims));
  }
  hsize_t count = 0;
  H5Sget_simple_extent_dims(space.get(), &count, nullptr);
  auto values = detail::read_strings(attribute.get(), detail::StringHolder::attribute, type.get(),
                                     space.get(), count);
  if (!values) {
    throw InputError("cannot read attribute " + name + " of " + where + with_hdf5_detail());
  }
  return *values;
}

// Link names of a group in the order h5py lists them: creation order where the file tracks it
// (h5py's track_order=True), otherwise alphabetical by name.
std::vector<std::string> link_names(hid_t group) {
  PropertyListHandle creation(H5Gget_create_plist(group));
  unsigned order_flags = 0;
  H5Pget_link_creation_order(creation.get(), &order_flags);
  const H5_index_t index =
      (order_flags & H5P_CRT_ORDER_INDEXED) != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  H5Literate(
      group, index, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

std::string rows_mismatch(const std::string& object, hsize_t rows, hsize_t id_rows,
                          const std::string& path) {
  return "input file '" + path + "': " + object + " has " + std::to_string(rows) +
         " rows, but /customers/id has " + std::to_string(id_rows) +
         " (every feature needs one value per customer)";
}

void inspect_matrix_layout(hid_t group, hsize_t rows, CustomerTableSchema& schema) {
  const std::string& path = schema.path;
  DatasetHandle features = open_dataset(group, "features", path);
  const DatasetShape shape = shape_of(features.get(), "/customers/features", path);
  if (!is_numeric(shape.type_class) || shape.dims.size() != 2) {
    throw InputError(in_file("/customers/features", path) +
                     " must be a 2-D numeric dataset (customers × features), but holds " +
                     describe_class(shape.type_class) + " as " + describe_dims(shape.dims));
  }
  if (shape.dims[0] != rows) {
    throw InputError(rows_mismatch("/customers/features", shape.dims[0], rows, path));
  }
  const hsize_t columns = shape.dims[1];
  if (columns == 0) throw InputError(in_file("/customers/features", path) + " has no columns");
  if (H5Aexists(features.get(), "feature_names") > 0) {
    schema.feature_names = read_string_array_attribute(features.get(), "feature_names",
                                                       in_file("/customers/features", path));
    if (schema.feature_names.size() != columns) {
      throw InputError("input file '" + path + "': attribute feature_names of " +
                       "/customers/features has " + std::to_string(schema.feature_names.size()) +
                       " names, but the dataset has " + std::to_string(columns) + " columns");
    }
    std::set<std::string> seen;
    for (const auto& name : schema.feature_names) {
      if (!seen.insert(name).second) {
        throw InputError("input file '" + path + "': attribute feature_names of " +
                         "/customers/features names '" + name + "' twice");
      }
    }
  } else {
    for (hsize_t j = 0; j < columns; ++j)
      schema.feature_names.push_back("feature_" + std::to_string(j));
  }
}

// The strings of a 1-D string dataset, fixed- or variable-length.
std::vector<std::string> read_string_dataset(hid_t location, const std::string& object,
                                             const std::string& path) {
  DatasetHandle dataset(H5Dopen2(location, object.c_str(), H5P_DEFAULT));
  DatatypeHandle type(dataset.valid() ? H5Dget_type(dataset.get()) : H5I_INVALID_HID);
  DataspaceHandle space(dataset.valid() ? H5Dget_space(dataset.get()) : H5I_INVALID_HID);
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_STRING ||
      H5Sget_simple_extent_ndims(space.get()) != 1) {
    throw InputError(in_file(object, path) + " must be a 1-D dataset of strings" +
                     with_hdf5_detail());
  }
  hsize_t count = 0;
  H5Sget_simple_extent_dims(space.get(), &count, nullptr);
  auto values = detail::read_strings(dataset.get(), detail::StringHolder::dataset, type.get(),
                                     space.get(), count);
  if (!values) throw InputError("cannot read " + in_file(object, path) + with_hdf5_detail());
  return *values;
}

// The names of a categorical column's codes: its `categories` attribute is the path of a string
// dataset (ingest writes /categories/<column>). Empty for a column without the attribute.
std::vector<std::string> category_names(hid_t group, hid_t dataset, const std::string& object,
                                        const std::string& path) {
  if (H5Aexists(dataset, "categories") <= 0) return {};
  AttributeHandle attribute(H5Aopen(dataset, "categories", H5P_DEFAULT));
  DatatypeHandle type(attribute.valid() ? H5Aget_type(attribute.get()) : H5I_INVALID_HID);
  DataspaceHandle space(attribute.valid() ? H5Aget_space(attribute.get()) : H5I_INVALID_HID);
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_STRING ||
      H5Sget_simple_extent_ndims(space.get()) != 0) {
    throw InputError("attribute categories of " + in_file(object, path) +
                     " must be a string naming the dataset of its category names");
  }
  std::string target;
  if (H5Tis_variable_str(type.get()) > 0) {
    DatatypeHandle memory_type(H5Tcopy(H5T_C_S1));
    H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    char* text = nullptr;
    if (H5Aread(attribute.get(), memory_type.get(), &text) >= 0 && text != nullptr) {
      target = text;
      H5free_memory(text);
    }
  } else {
    const std::size_t width = H5Tget_size(type.get());
    DatatypeHandle memory_type(H5Tcopy(H5T_C_S1));
    H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
    H5Tset_size(memory_type.get(), width + 1);
    H5Tset_strpad(memory_type.get(), H5T_STR_NULLTERM);
    std::vector<char> buffer(width + 1, '\0');
    if (H5Aread(attribute.get(), memory_type.get(), buffer.data()) >= 0) target = buffer.data();
  }
  if (target.empty() || H5Lexists(group, target.c_str(), H5P_DEFAULT) <= 0) {
    throw InputError("attribute categories of " + in_file(object, path) + " names '" + target +
                     "', which is not a dataset of the file");
  }
  return read_string_dataset(group, target, path);
}

void inspect_columns_layout(hid_t group, hsize_t rows, CustomerTableSchema& schema) {
  const std::string& path = schema.path;
  for (const std::string& name : link_names(group)) {
    // The planted truth of a synthetic table is an answer key, never a feature.
    if (name == "id" || name == "planted_segment") continue;
    const std::string object = customers_path(name);
    hid_t opened = H5Oopen(group, name.c_str(), H5P_DEFAULT);
    if (opened < 0) {
      throw InputError(in_file(object, path) + " cannot be opened" + with_hdf5_detail());
    }
    const bool is_dataset = H5Iget_type(opened) == H5I_DATASET;
    H5Oclose(opened);
    if (!is_dataset) continue;  // sub-groups and named types are not features
    DatasetHandle dataset = open_dataset(group, name, path);
    const DatasetShape shape = shape_of(dataset.get(), object, path);
    if (shape.type_class == H5T_STRING) {  // external ids, free text: never features
      schema.text_columns.push_back(name);
      continue;
    }
    if (!is_numeric(shape.type_class)) {
      throw InputError(in_file(object, path) +
                       " must be numeric (integers or floating-point numbers), but holds " +
                       describe_class(shape.type_class));
    }
    if (shape.dims.size() != 1) {
      throw InputError(in_file(object, path) + " must be 1-D with one value per customer, but is " +
                       describe_dims(shape.dims));
    }
    if (shape.dims[0] != rows) throw InputError(rows_mismatch(object, shape.dims[0], rows, path));
    schema.feature_names.push_back(name);
    schema.categories.push_back(category_names(group, dataset.get(), object, path));
  }
}

CustomerTableSchema inspect_open_table(hid_t file, const std::string& path) {
  CustomerTableSchema schema;
  schema.path = path;
  GroupHandle group = open_customers_group(file, path);
  if (!has_link(group.get(), "id")) {
    throw InputError("input file '" + path +
                     "' has no dataset /customers/id (expected 1-D integer customer ids)");
  }
  DatasetHandle ids = open_dataset(group.get(), "id", path);
  const DatasetShape id_shape = shape_of(ids.get(), "/customers/id", path);
  if (id_shape.type_class != H5T_INTEGER || id_shape.dims.size() != 1) {
    throw InputError(in_file("/customers/id", path) +
                     " must be a 1-D dataset of integer customer ids, but holds " +
                     describe_class(id_shape.type_class) + " as " + describe_dims(id_shape.dims));
  }
  const hsize_t rows = id_shape.dims[0];
  if (rows == 0) {
    throw InputError("input file '" + path + "' holds no customers: /customers/id is empty");
  }
  schema.rows = static_cast<std::int64_t>(rows);
  if (has_link(group.get(), "features")) {
    schema.layout = FeatureLayout::matrix;
    inspect_matrix_layout(group.get(), rows, schema);
    schema.categories.resize(schema.feature_names.size());
  } else {
    schema.layout = FeatureLayout::columns;
    inspect_columns_layout(group.get(), rows, schema);
    if (schema.feature_names.empty()) {
      throw InputError("input file '" + path +
                       "' has no features: expected /customers/features (customers × features) "
                       "or 1-D numeric datasets in /customers besides id");
    }
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Reading: values

// Records conversions that fall outside the memory type's range. HDF5 1.10 reports ±inf in
// the file as out of range too, so the source value is checked: only finite values overflow.
// Overflowing float32 values are replaced by a NaN with a payload of our own, so the reader can
// name the row.
struct OverflowWatch {
  std::size_t source_size = 0;
  bool source_is_float = false;
  bool swap_source_bytes = false;  // the source's byte order is not the machine's
  bool mark_float = false;
  bool found = false;
  double value = std::nan("");  // the first finite value out of range, when it could be decoded
};

constexpr std::uint32_t overflow_marker = 0x7fd1ce5eu;  // a quiet NaN

bool is_overflow_marker(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == overflow_marker;
}

H5T_conv_ret_t note_overflow(H5T_conv_except_t kind, hid_t, hid_t, void* source, void* destination,
                             void* watch_data) {
  auto& watch = *static_cast<OverflowWatch*>(watch_data);
  if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW) {
    return H5T_CONV_UNHANDLED;
  }
  // HDF5 hands the callback the source value in the source type's byte order.
  std::optional<double> value;
  if (watch.source_is_float &&
      (watch.source_size == sizeof(double) || watch.source_size == sizeof(long double))) {
    unsigned char bytes[sizeof(long double)] = {};
    const std::size_t size = std::min(watch.source_size, sizeof bytes);
    std::memcpy(bytes, source, size);
    for (std::size_t i = 0; watch.swap_source_bytes && i < size / 2; ++i) {
      std::swap(bytes[i], bytes[size - 1 - i]);
    }
    if (watch.source_size == sizeof(double)) {
      double decoded = 0;
      std::memcpy(&decoded, bytes, sizeof decoded);
      value = decoded;
    } else {
      long double decoded = 0;
      std::memcpy(&decoded, bytes, sizeof decoded);
      value = static_cast<double>(decoded);
    }
  }
  if (value && std::isinf(*value)) return H5T_CONV_UNHANDLED;
  if (!watch.found) {
    watch.found = true;
    if (value) watch.value = *value;
  }
  if (watch.mark_float && destination != nullptr) {
    std::memcpy(destination, &overflow_marker, sizeof overflow_marker);
    return H5T_CONV_HANDLED;
  }
  return H5T_CONV_UNHANDLED;
}

// Collective reads of one rank's rows. Failures are noted rather than thrown, since the other
// ranks still wait in the collectives that follow; the first one is reported at the end.
class BlockReader {
 public:
  BlockReader(const std::string& path, RowRange rows) : path_(path), rows_(rows) {
    H5Pset_dxpl_mpio(transfer_.get(), H5FD_MPIO_COLLECTIVE);
    H5Pset_type_conv_cb(transfer_.get(), &note_overflow, &watch_);
  }

  const std::optional<std::string>& error() const { return error_; }
  void note(const std::string& message) {
    if (!error_) error_ = message;
  }

  // Reads the rank's rows of a 1-D dataset into column `column` of a row-major buffer with
  // `width` columns.
  void read_column(hid_t dataset, const std::string& object, hid_t memory_type, void* buffer,
                   hsize_t width, hsize_t column, const char* memory_type_name) {
    DataspaceHandle file_space(H5Dget_space(dataset));
    const hsize_t count = static_cast<hsize_t>(rows_.size());
    DataspaceHandle memory_space = simple_dataspace({std::max<hsize_t>(count, 1), width});
    if (count == 0) {
      H5Sselect_none(file_space.get());
      H5Sselect_none(memory_space.get());
    } else {
      const hsize_t file_start = static_cast<hsize_t>(rows_.begin);
      const hsize_t memory_start[2] = {0, column}, memory_count[2] = {count, 1};
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &file_start, nullptr, &count, nullptr);
      H5Sselect_hyperslab(memory_space.get(), H5S_SELECT_SET, memory_start, nullptr, memory_count,
                          nullptr);
    }
    if (!read_overflowed(dataset, object, memory_type, memory_space.get(), file_space.get(),
                         buffer)) {
      return;
    }
    if (memory_type == H5T_NATIVE_FLOAT) {
      const auto* values = static_cast<const float*>(buffer);
      for (hsize_t i = 0; i < count; ++i) {
        if (is_overflow_marker(values[i * width + column])) {
          note(overflow_message(object, rows_.begin + static_cast<std::int64_t>(i), ""));
          return;
        }
      }
    }
    note(in_file(object, path_) + " holds a value" + watched_value() + " outside the range of " +
         memory_type_name + " in rows " + std::to_string(rows_.begin) + " to " +
         std::to_string(rows_.end - 1));
  }

  // Reads the rank's rows of the given columns (ascending) of a 2-D dataset into a row-major
  // buffer holding those columns in that order.
  void read_matrix_columns(hid_t dataset, const std::string& object,
                           const std::vector<int>& sorted_columns,
                           const std::vector<std::string>& feature_names, float* buffer) {
    DataspaceHandle file_space(H5Dget_space(dataset));
    const hsize_t count = static_cast<hsize_t>(rows_.size());
    const hsize_t width = sorted_columns.size();
    DataspaceHandle memory_space = simple_dataspace({std::max<hsize_t>(count, 1), width});
    if (count == 0 || width == 0) {
      H5Sselect_none(file_space.get());
      H5Sselect_none(memory_space.get());
    } else {
      // One hyperslab per run of adjacent columns keeps the selection as simple as possible.
      H5S_seloper_t operation = H5S_SELECT_SET;
      for (std::size_t i = 0; i < sorted_columns.size();) {
        std::size_t j = i + 1;
        while (j < sorted_columns.size() && sorted_columns[j] == sorted_columns[j - 1] + 1) ++j;
        const hsize_t start[2] = {static_cast<hsize_t>(rows_.begin),
                                  static_cast<hsize_t>(sorted_columns[i])};
        const hsize_t block[2] = {count, j - i};
        H5Sselect_hyperslab(file_space.get(), operation, start, nullptr, block, nullptr);
        operation = H5S_SELECT_OR;
        i = j;
      }
    }
    if (!read_overflowed(dataset, object, H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(),
                         buffer)) {
      return;
    }
    for (hsize_t i = 0; i < count * width; ++i) {
      if (is_overflow_marker(buffer[i])) {
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
  // Reads the selection; true when it succeeded but a value did not fit the memory type (the
  // caller locates it). A failed read is noted here.
  bool read_overflowed(hid_t dataset, const std::string& object, hid_t memory_type,
                       hid_t memory_space, hid_t file_space, void* buffer) {
    DatatypeHandle file_type(H5Dget_type(dataset));
    watch_ = OverflowWatch{};
    watch_.source_size = H5Tget_size(file_type.get());
    watch_.source_is_float = H5Tget_class(file_type.get()) == H5T_FLOAT;
    watch_.swap_source_bytes = H5Tget_order(file_type.get()) != H5Tget_order(H5T_NATIVE_DOUBLE);
    watch_.mark_float = memory_type == H5T_NATIVE_FLOAT;
    static char placeholder = 0;  // HDF5 wants a buffer even for an empty selection
    const herr_t status = H5Dread(dataset, memory_type, memory_space, file_space, transfer_.get(),
                                  buffer != nullptr ? buffer : &placeholder);
    if (status < 0) {
      note("cannot read rows " + std::to_string(rows_.begin) + " to " +
           std::to_string(rows_.end - 1) + " of " + in_file(object, path_) + with_hdf5_detail());
      return false;
    }
    return watch_.found;
  }

  std::string watched_value() const {
    if (std::isnan(watch_.value)) return "";
    std::ostringstream text;
    text << " (" << watch_.value << ")";
    return text.str();
  }

  std::string overflow_message(const std::string& object, std::int64_t row,
                               const std::string& column) const {
    const std::string where = row >= 0 ? " at row " + std::to_string(row) + column
                                       : " in rows " + std::to_string(rows_.begin) + " to " +
                                             std::to_string(rows_.end - 1);
    return in_file(object, path_) + " holds a value" + watched_value() + where +
           " outside the range of float32 (features are read as float32)";
  }

  const std::string& path_;
  RowRange rows_;
  PropertyListHandle transfer_{H5Pcreate(H5P_DATASET_XFER)};
  OverflowWatch watch_;
  std::optional<std::string> error_;
};

// ---------------------------------------------------------------------------------------------
// Writing

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
  const std::size_t planted = block.planted_segment ? block.planted_segment->size() : 0;
  if (planted != 0 && planted != count) {
    return target + "a block of " + std::to_string(count) + " rows came with " +
           std::to_string(planted) + " planted segments";
  }
  return std::nullopt;
}

}  // namespace

CustomerTableSchema inspect_customer_table(const std::string& path, MPI_Comm comm) {
  SilenceHdf5Errors silence;
  FileHandle file = open_for_reading(path, comm);
  CustomerTableSchema schema;
  run_while_file_open(distributed::Communicator(comm),
                      [&] { schema = inspect_open_table(file.get(), path); });
  return schema;
}

std::vector<int> select_features(const CustomerTableSchema& schema,
                                 const std::vector<std::string>& requested) {
  std::vector<int> columns;
  if (requested.empty()) {
    columns.resize(schema.feature_names.size());
    std::iota(columns.begin(), columns.end(), 0);
    return columns;
  }
  for (const auto& name : requested) {
    const auto found = std::find(schema.feature_names.begin(), schema.feature_names.end(), name);
    if (found == schema.feature_names.end() &&
        std::find(schema.text_columns.begin(), schema.text_columns.end(), name) !=
            schema.text_columns.end()) {
      throw InputError("feature '" + name + "' of input file '" + schema.path +
                       "' holds text, not numbers, so it cannot be a feature");
    }
    if (found == schema.feature_names.end()) {
      std::string available;
      for (const auto& known : schema.feature_names) {
        available += (available.empty() ? "" : ", ") + known;
      }
      throw InputError("feature '" + name + "' is not in input file '" + schema.path +
                       "'; available features: " + available);
    }
    const int column = static_cast<int>(found - schema.feature_names.begin());
    if (std::find(columns.begin(), columns.end(), column) != columns.end()) {
      throw InputError("feature '" + name + "' is selected twice");
    }
    columns.push_back(column);
  }
  return columns;
}

CustomerBlock read_customer_block(const CustomerTableSchema& schema,
                                  const std::vector<int>& feature_columns, RowRange rows,
                                  MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const int feature_count = static_cast<int>(schema.feature_names.size());
  std::optional<std::string> bad_arguments;
  if (rows.begin < 0 || rows.end < rows.begin || rows.end > schema.rows) {
    bad_arguments = "rows [" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) +
                    ") are outside input file '" + schema.path + "' of " +
                    std::to_string(schema.rows) + " customers";
  }
  std::set<int> distinct(feature_columns.begin(), feature_columns.end());
  if (distinct.size() != feature_columns.size() ||
      (!distinct.empty() && (*distinct.begin() < 0 || *distinct.rbegin() >= feature_count))) {
    bad_arguments = "feature columns of input file '" + schema.path +
                    "' must be distinct and in [0, " + std::to_string(feature_count) + ")";
  }
  communicator.agree(bad_arguments);

  const auto count = static_cast<std::size_t>(rows.size());
  const auto width = static_cast<hsize_t>(feature_columns.size());
  CustomerBlock block;
  block.rows = rows;
  for (int column : feature_columns) block.feature_names.push_back(schema.feature_names[column]);
  block.ids.resize(count);
  block.features.resize(static_cast<Eigen::Index>(count), static_cast<Eigen::Index>(width));

  BlockReader reader(schema.path, rows);
  {
    FileHandle file = open_for_reading(schema.path, comm);
    run_while_file_open(communicator, [&] {
      GroupHandle group = open_customers_group(file.get(), schema.path);
      // The file may have changed since it was inspected; these checks strike every rank alike.
      const auto changed = [&](const std::string& object) {
        return InputError(in_file(object, schema.path) + " changed since the file was inspected");
      };
      const auto expected_rows = static_cast<hsize_t>(schema.rows);
      DatasetHandle ids = open_dataset(group.get(), "id", schema.path);
      const DatasetShape id_shape = shape_of(ids.get(), "/customers/id", schema.path);
      if (id_shape.type_class != H5T_INTEGER ||
          id_shape.dims != std::vector<hsize_t>{expected_rows}) {
        throw changed("/customers/id");
      }
      std::vector<DatasetHandle> datasets;
      if (schema.layout == FeatureLayout::matrix) {
        datasets.push_back(open_dataset(group.get(), "features", schema.path));
        const DatasetShape shape =
            shape_of(datasets.back().get(), "/customers/features", schema.path);
        if (!is_numeric(shape.type_class) ||
            shape.dims !=
                std::vector<hsize_t>{expected_rows, static_cast<hsize_t>(feature_count)}) {
          throw changed("/customers/features");
        }
      } else {
        for (int column : feature_columns) {
          const std::string& name = schema.feature_names[column];
          datasets.push_back(open_dataset(group.get(), name, schema.path));
          const DatasetShape shape =
              shape_of(datasets.back().get(), customers_path(name), schema.path);
          if (!is_numeric(shape.type_class) || shape.dims != std::vector<hsize_t>{expected_rows}) {
            throw changed(customers_path(name));
          }
        }
      }

      // Tests fail one rank here, between collectives, as a failed allocation or I/O error would.
      distributed::maybe_inject_failure(communicator, "read");
      reader.read_column(ids.get(), "/customers/id", H5T_NATIVE_INT64, block.ids.data(), 1, 0,
                         "int64");
      if (schema.layout == FeatureLayout::matrix) {
        // HDF5 delivers a selection in file order, so read the columns ascending, then reorder.
        std::vector<int> sorted(feature_columns);
        std::sort(sorted.begin(), sorted.end());
        reader.read_matrix_columns(datasets.front().get(), "/customers/features", sorted,
                                   schema.feature_names, block.features.data());
        if (sorted != feature_columns) {
          std::vector<Eigen::Index> source(width);
          for (hsize_t c = 0; c < width; ++c) {
            source[c] =
                std::find(sorted.begin(), sorted.end(), feature_columns[c]) - sorted.begin();
          }
          std::vector<float> row(width);
          for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
            for (hsize_t c = 0; c < width; ++c) row[c] = block.features(i, source[c]);
            for (hsize_t c = 0; c < width; ++c) block.features(i, c) = row[c];
          }
        }
      } else {
        for (hsize_t c = 0; c < width; ++c) {
          reader.read_column(datasets[c].get(), customers_path(block.feature_names[c]),
                             H5T_NATIVE_FLOAT, block.features.data(), width, c, "float32");
        }
      }
    });
    if (file.close() < 0)
      reader.note("cannot close input file '" + schema.path + "'" + with_hdf5_detail());
  }
  communicator.agree(reader.error());
  return block;
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
  const bool planted = communicator.max(std::int64_t{has_planted}) > 0;
  if (!problem && written_rows != block.total_rows) {
    problem = "writing customer table '" + path + "': the ranks' blocks hold " +
              std::to_string(written_rows) + " rows, expected " + std::to_string(block.total_rows);
  }
  if (!problem && planted && !has_planted && rows.size() != 0) {
    problem = "writing customer table '" + path + "': rows [" + std::to_string(rows.begin) + ", " +
              std::to_string(rows.end) + ") have no planted segments";
  }
  if (!problem) problem = output_location_problem(path);
  communicator.agree(problem);

  PendingOutputs outputs(communicator);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  const auto note = [&](herr_t status, const std::string& object) {
    if (status < 0 && !error) {
      error = "cannot write " + object + " of output file '" + path + "'" + with_hdf5_detail();
    }
  };
  {
    FileHandle file = create_parallel_file(temporary, path, comm);
    outputs.protect(temporary);
    run_while_file_open(communicator, [&] {
      const auto n = static_cast<hsize_t>(block.total_rows);
      const auto d = static_cast<hsize_t>(block.feature_names->size());
      GroupHandle group = create_group(file.get(), "customers", path);
      DatasetHandle id_dataset =
          create_dataset(group.get(), "id", H5T_STD_I64LE, {n}, Layout::row_chunks, path);
      DatasetHandle feature_dataset =
          create_dataset(group.get(), "features", H5T_IEEE_F32LE, {n, d}, Layout::row_chunks, path);
      write_string_array_attribute(feature_dataset.get(), "feature_names", *block.feature_names,
                                   path);
      DatasetHandle planted_dataset;
      if (planted) {
        planted_dataset = create_dataset(group.get(), "planted_segment", H5T_STD_I32LE, {n},
                                         Layout::row_chunks, path);
      }
      note(write_row_block(id_dataset.get(), H5T_NATIVE_INT64, rows.begin, rows.size(),
                           block.ids->data()),
           "/customers/id");
      note(write_row_block(feature_dataset.get(), H5T_NATIVE_FLOAT, rows.begin, rows.size(),
                           block.features->data()),
           "/customers/features");
      if (planted) {
        note(write_row_block(planted_dataset.get(), H5T_NATIVE_INT32, rows.begin, rows.size(),
                             block.planted_segment ? block.planted_segment->data() : nullptr),
             "/customers/planted_segment");
      }
    });
    note(file.close(), "the end");
  }
  outputs.commit(error);
}

CentroidMatrix read_centroids(const std::string& path, int expected_k, int expected_d) {
  SilenceHdf5Errors silence;
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    throw InputError("centroids file '" + path + "' does not exist");
  }
  // Every rank reads this small file on its own, so plain (non-MPI) access.
  PropertyListHandle access(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(access.get(), true, true);
  FileHandle file(std::filesystem::is_directory(path, code)
                      ? H5I_INVALID_HID
                      : H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
  if (!file.valid()) {
    throw InputError("centroids file '" + path + "' is not a readable HDF5 file" +
                     with_hdf5_detail());
  }
  if (!has_link(file.get(), "centroids")) {
    throw InputError("centroids file '" + path + "' has no dataset /centroids");
  }
  hid_t opened = H5Oopen(file.get(), "centroids", H5P_DEFAULT);
  const bool is_dataset = opened >= 0 && H5Iget_type(opened) == H5I_DATASET;
  if (opened >= 0) H5Oclose(opened);
  if (!is_dataset) {
    throw InputError(in_file("/centroids", path) + " is not a dataset (expected " +
                     std::to_string(expected_k) + " × " + std::to_string(expected_d) +
                     " centroids)");
  }
  DatasetHandle dataset(H5Dopen2(file.get(), "centroids", H5P_DEFAULT));
  const DatasetShape shape = shape_of(dataset.get(), "/centroids", path);
  const std::vector<hsize_t> expected{static_cast<hsize_t>(expected_k),
                                      static_cast<hsize_t>(expected_d)};
  if (!is_numeric(shape.type_class) || shape.dims != expected) {
    throw InputError("centroids file '" + path + "': /centroids must be numeric with shape " +
                     describe_dims(expected) + " (k × features), but holds " +
                     describe_class(shape.type_class) + " as " + describe_dims(shape.dims));
  }
  CentroidMatrix centroids(expected_k, expected_d);
  if (centroids.size() > 0 && H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                      H5P_DEFAULT, centroids.data()) < 0) {
    throw InputError("cannot read " + in_file("/centroids", path) + with_hdf5_detail());
  }
  return centroids;
}

}  // namespace microseg::io
