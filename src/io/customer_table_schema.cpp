// Inspecting a customer table: the checks inspect_customer_table makes on /customers before any
// row is read, and the choice of features.
#include <algorithm>
#include <numeric>
#include <set>

#include "customer_file.hpp"
#include "hdf5_collective.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// The names in a 1-D string attribute, fixed- or variable-length (h5py writes either).
std::vector<std::string> read_string_array_attribute(const Object& object, const std::string& name,
                                                     const std::string& where) {
  const std::optional<Attribute> attribute = object.open_attribute(name);
  const std::optional<Shape> shape = attribute ? attribute->shape() : std::nullopt;
  if (!shape) {
    throw InputError("cannot read attribute " + name + " of " + where + with_hdf5_detail());
  }
  if (shape->type_class != H5T_STRING || shape->dims.size() != 1) {
    throw InputError("attribute " + name + " of " + where +
                     " must be a 1-D array of strings, but holds " +
                     describe_class(shape->type_class) + " as " + describe_dims(shape->dims));
  }
  auto values = attribute->read_strings();
  if (!values) {
    throw InputError("cannot read attribute " + name + " of " + where + with_hdf5_detail());
  }
  return *values;
}

std::string rows_mismatch(const std::string& object, hsize_t rows, hsize_t id_rows,
                          const std::string& path) {
  return "input file '" + path + "': " + object + " has " + std::to_string(rows) +
         " rows, but /customers/id has " + std::to_string(id_rows) +
         " (every feature needs one value per customer)";
}

// feature_names of /customers/features: as many as columns, each once; feature_<j> without it.
std::vector<std::string> matrix_feature_names(const Dataset& features, hsize_t columns,
                                              const std::string& path) {
  std::vector<std::string> names;
  const std::optional<bool> has_names = features.attribute_exists("feature_names");
  if (!has_names) {
    throw InputError("cannot read the attributes of " + in_file("/customers/features", path) +
                     with_hdf5_detail());
  }
  if (!*has_names) {
    for (hsize_t j = 0; j < columns; ++j) names.push_back("feature_" + std::to_string(j));
    return names;
  }
  names =
      read_string_array_attribute(features, "feature_names", in_file("/customers/features", path));
  if (names.size() != columns) {
    throw InputError("input file '" + path + "': attribute feature_names of " +
                     "/customers/features has " + std::to_string(names.size()) +
                     " names, but the dataset has " + std::to_string(columns) + " columns");
  }
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) {
      throw InputError("input file '" + path + "': attribute feature_names of " +
                       "/customers/features names '" + name + "' twice");
    }
  }
  return names;
}

void inspect_matrix_layout(const Group& group, hsize_t rows, CustomerTableSchema& schema) {
  const std::string& path = schema.path;
  const Dataset features = open_customers_dataset(group, "features", path);
  const Shape shape = shape_of(features, "/customers/features", path);
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
  check_stored_values(features, shape, "/customers/features", path);
  schema.feature_names = matrix_feature_names(features, columns, path);
}

// The strings of a 1-D string dataset, fixed- or variable-length.
std::vector<std::string> read_string_dataset(const Location& location, const std::string& object,
                                             const std::string& path) {
  const std::optional<Dataset> dataset = location.open_dataset(object);
  const std::optional<Shape> shape = dataset ? dataset->shape() : std::nullopt;
  if (!shape || shape->type_class != H5T_STRING || shape->dims.size() != 1) {
    throw InputError(in_file(object, path) + " must be a 1-D dataset of strings" +
                     with_hdf5_detail());
  }
  auto values = dataset->read_strings();
  if (!values) throw InputError("cannot read " + in_file(object, path) + with_hdf5_detail());
  return *values;
}

// The names of a categorical column's codes: its `categories` attribute is the path of a string
// dataset (ingest writes /categories/<column>). Empty for a column without the attribute.
std::vector<std::string> category_names(const Group& group, const Dataset& dataset,
                                        const std::string& object, const std::string& path) {
  const std::optional<bool> has_categories = dataset.attribute_exists("categories");
  if (!has_categories) {
    throw InputError("cannot read the attributes of " + in_file(object, path) + with_hdf5_detail());
  }
  if (!*has_categories) return {};
  const std::optional<Attribute> attribute = dataset.open_attribute("categories");
  const std::optional<Shape> shape = attribute ? attribute->shape() : std::nullopt;
  if (!shape || shape->type_class != H5T_STRING || !shape->dims.empty()) {
    throw InputError("attribute categories of " + in_file(object, path) +
                     " must be a string naming the dataset of its category names");
  }
  const auto texts = attribute->read_strings();
  const std::string target = texts && !texts->empty() ? texts->front() : std::string();
  if (target.empty() || !group.has_link(target)) {
    throw InputError("attribute categories of " + in_file(object, path) + " names '" + target +
                     "', which is not a dataset of the file");
  }
  return read_string_dataset(group, target, path);
}

// One link of /customers in the columns layout: a feature, a text column, or neither.
void inspect_column(const Group& group, const std::string& name, hsize_t rows,
                    CustomerTableSchema& schema) {
  const std::string& path = schema.path;
  const std::string object = customers_path(name);
  const ObjectKind kind = group.kind_of(name);
  if (kind == ObjectKind::unopenable) {
    throw InputError(in_file(object, path) + " cannot be opened" + with_hdf5_detail());
  }
  if (kind != ObjectKind::dataset) return;  // sub-groups and named types are not features
  const Dataset dataset = open_customers_dataset(group, name, path);
  const Shape shape = shape_of(dataset, object, path);
  if (shape.type_class == H5T_STRING) {  // external ids, free text: never features
    schema.text_columns.push_back(name);
    return;
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
  check_stored_values(dataset, shape, object, path);
  schema.feature_names.push_back(name);
  schema.categories.push_back(category_names(group, dataset, object, path));
}

void inspect_columns_layout(const Group& group, hsize_t rows, CustomerTableSchema& schema) {
  const std::optional<std::vector<std::string>> names = group.link_names();
  if (!names) {
    throw InputError("cannot list the datasets of " + in_file("/customers", schema.path) +
                     with_hdf5_detail());
  }
  for (const std::string& name : *names) {
    // The planted truth of a synthetic table is an answer key, never a feature.
    if (name == "id" || name == "planted_segment" || name == "planted_macro_segment") continue;
    inspect_column(group, name, rows, schema);
  }
  if (schema.feature_names.empty()) {
    throw InputError("input file '" + schema.path +
                     "' has no features: expected /customers/features (customers × features) "
                     "or 1-D numeric datasets in /customers besides id");
  }
}

// The number of customers: the length of /customers/id, checked.
hsize_t inspect_ids(const Group& group, const std::string& path) {
  if (!group.has_link("id")) {
    throw InputError("input file '" + path +
                     "' has no dataset /customers/id (expected 1-D integer customer ids)");
  }
  const Dataset ids = open_customers_dataset(group, "id", path);
  const Shape shape = shape_of(ids, "/customers/id", path);
  if (shape.type_class != H5T_INTEGER || shape.dims.size() != 1) {
    throw InputError(in_file("/customers/id", path) +
                     " must be a 1-D dataset of integer customer ids, but holds " +
                     describe_class(shape.type_class) + " as " + describe_dims(shape.dims));
  }
  if (shape.dims[0] == 0) {
    throw InputError("input file '" + path + "' holds no customers: /customers/id is empty");
  }
  check_stored_values(ids, shape, "/customers/id", path);
  return shape.dims[0];
}

CustomerTableSchema inspect_open_table(const File& file, const std::string& path) {
  CustomerTableSchema schema;
  schema.path = path;
  const Group group = open_customers_group(file, path);
  const hsize_t rows = inspect_ids(group, path);
  schema.rows = static_cast<std::int64_t>(rows);
  if (group.has_link("features")) {
    schema.layout = FeatureLayout::matrix;
    inspect_matrix_layout(group, rows, schema);
    schema.categories.resize(schema.feature_names.size());
  } else {
    schema.layout = FeatureLayout::columns;
    inspect_columns_layout(group, rows, schema);
  }
  return schema;
}

}  // namespace

CustomerTableSchema inspect_customer_table(const std::string& path, MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const File file = open_input_file(path, comm);
  CustomerTableSchema schema;
  run_while_file_open(distributed::Communicator(comm),
                      [&] { schema = inspect_open_table(file, path); });
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

}  // namespace microseg::io
