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

// The dataset's type when it holds strings (fixed-length or variable-length); an invalid
// handle for any other type.
DatatypeHandle string_type(const Dataset& dataset) {
  DatatypeHandle type(H5Dget_type(dataset.id()));
  if (type.valid() && H5Tget_class(type.get()) != H5T_STRING) return DatatypeHandle();
  return type;
}

// Rows [rows.begin, rows.end) of a fixed-length string dataset, NUL padding removed; a failed
// read is noted.
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

// The same for variable-length strings (h5py's default for str), read as C strings in the
// dataset's character set and freed by HDF5.
std::vector<std::string> read_variable_strings(const Dataset& dataset, const DatatypeHandle& type,
                                               RowRange rows, const std::string& where,
                                               std::optional<std::string>& error) {
  const auto count = static_cast<std::size_t>(rows.size());
  DatatypeHandle memory(H5Tcopy(H5T_C_S1));
  H5Tset_size(memory.get(), H5T_VARIABLE);
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
  std::vector<char*> texts(std::max<std::size_t>(count, 1), nullptr);
  RowReader reader(rows, false);
  if (reader.read_column(dataset, memory.get(), texts.data(), {1, 0}) != RowRead::done) {
    error = "cannot read " + where + with_hdf5_detail();
  }
  std::vector<std::string> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (texts[i]) values[i] = texts[i];
  }
  for (char* text : texts) {
    if (text) H5free_memory(text);
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
      const DatatypeHandle type = string_type(dataset);
      // A numeric column of that name is no text key: inspection made it a feature.
      if (!type.valid()) return;
      const std::vector<hsize_t> expected{static_cast<hsize_t>(schema.rows)};
      if (shape.dims != expected) {
        throw InputError(in_file(object, path) + " must hold one string per customer (" +
                         describe_dims(expected) + "), but holds strings as " +
                         describe_dims(shape.dims));
      }
      check_stored_values(dataset, shape, object, path);
      const std::string where = in_file(object, path);
      if (H5Tis_variable_str(type.get()) > 0) {
        // The output's fixed width is the longest key of any rank.
        std::vector<std::string> values = read_variable_strings(dataset, type, rows, where, error);
        const auto width =
            static_cast<std::size_t>(communicator.max(static_cast<std::int64_t>(longest(values))));
        ids = ExternalIds{width, std::move(values)};
      } else {
        ids = ExternalIds{H5Tget_size(type.get()),
                          read_fixed_strings(dataset, type, rows, where, error)};
      }
    });
    if (!file.close() && !error) error = "cannot close input file '" + path + "'";
  }
  communicator.agree(error);
  return ids;
}

}  // namespace microseg::io
