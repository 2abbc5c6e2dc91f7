// /customers/external_id of an input table, read as each rank's block of rows so that a run can
// carry the customers' own keys into its outputs (docs/file-format.md, "/assignments").
#include <algorithm>

#include "customer_file.hpp"
#include "hdf5_collective.hpp"
#include "hdf5_rows.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// Rows [rows.begin, rows.end) of the dataset, NUL padding removed; a failed read is noted.
// The dataset's type when it is fixed-length strings (its width, padding and character set);
// an invalid handle for any other type.
DatatypeHandle fixed_string_type(const Dataset& dataset) {
  DatatypeHandle type(H5Dget_type(dataset.id()));
  if (type.valid() &&
      (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0)) {
    return DatatypeHandle();
  }
  return type;
}

// The dataset's own type is the memory type: HDF5 does not convert ASCII to UTF-8.
std::vector<std::string> read_fixed_strings(const Dataset& dataset, const DatatypeHandle& type,
                                            RowRange rows, const std::string& where,
                                            std::optional<std::string>& error) {
  const auto count = static_cast<std::size_t>(rows.size());
  const std::size_t width = H5Tget_size(type.get());
  std::vector<char> packed(std::max<std::size_t>(count, 1) * width, '\0');
  RowReader reader(rows, false);
  if (reader.read_column(dataset, type.get(), packed.data(), {1, 0}) != RowRead::done) {
    error = "cannot read " + where + with_hdf5_detail();
  }
  std::vector<std::string> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const char* text = packed.data() + i * width;
    std::size_t length = 0;
    while (length < width && text[length] != '\0') ++length;
    values[i].assign(text, length);
  }
  return values;
}

}  // namespace

std::optional<ExternalIds> read_external_ids(const CustomerTableSchema& schema, RowRange rows,
                                             MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const std::string& path = schema.path;
  const std::string object = customers_path("external_id");
  std::optional<ExternalIds> ids;
  std::optional<std::string> error;
  {
    File file = open_input_file(path, comm);
    run_while_file_open(communicator, [&] {
      const Group group = open_customers_group(file, path);
      if (!group.has_link("external_id")) return;
      const Dataset dataset = open_customers_dataset(group, "external_id", path);
      const Shape shape = shape_of(dataset, object, path);
      const DatatypeHandle type = fixed_string_type(dataset);
      const std::vector<hsize_t> expected{static_cast<hsize_t>(schema.rows)};
      if (!type.valid() || shape.dims != expected) {
        const std::string held =
            type.valid() ? std::string("fixed-length strings")
                         : describe_class(shape.type_class) +
                               (shape.type_class == H5T_STRING ? " of variable length" : "");
        throw InputError(in_file(object, path) +
                         " must hold one fixed-length string per customer (" +
                         describe_dims(expected) + ", as 'microseg ingest' writes it), but holds " +
                         held + " as " + describe_dims(shape.dims));
      }
      ids = ExternalIds{H5Tget_size(type.get()),
                        read_fixed_strings(dataset, type, rows, in_file(object, path), error)};
    });
    if (!file.close() && !error) error = "cannot close input file '" + path + "'";
  }
  communicator.agree(error);
  return ids;
}

}  // namespace microseg::io
