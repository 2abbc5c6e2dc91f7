#include "customer_file.hpp"

#include <filesystem>
#include <system_error>

#include "microseg/core/types.hpp"

namespace microseg::io::detail {

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

File open_input_file(const std::string& path, MPI_Comm comm) {
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    throw InputError("input file '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, code)) {
    throw InputError("input file '" + path + "' is a directory, not an HDF5 file");
  }
  std::optional<File> file = File::open(path, FileAccess::mpi_io(comm));
  if (!file) {
    throw InputError("input file '" + path + "' is not a readable HDF5 file" + with_hdf5_detail());
  }
  return std::move(*file);
}

Group open_customers_group(const File& file, const std::string& path) {
  if (!file.has_link("customers")) {
    throw InputError("input file '" + path +
                     "' has no group /customers (expected /customers/id and the features)");
  }
  std::optional<Group> group = file.open_group("customers");
  if (!group) throw InputError(in_file("/customers", path) + " is not a group");
  return std::move(*group);
}

Dataset open_customers_dataset(const Group& customers, const std::string& name,
                               const std::string& path) {
  std::optional<Dataset> dataset = customers.open_dataset(name);
  if (!dataset) {
    throw InputError(in_file(customers_path(name), path) + " cannot be opened as a dataset" +
                     with_hdf5_detail());
  }
  return std::move(*dataset);
}

Shape shape_of(const Dataset& dataset, const std::string& object, const std::string& path) {
  std::optional<Shape> shape = dataset.shape();
  if (!shape) {
    throw InputError("cannot read the type and shape of " + in_file(object, path) +
                     with_hdf5_detail());
  }
  return std::move(*shape);
}

}  // namespace microseg::io::detail
