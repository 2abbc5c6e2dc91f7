#include "microseg/io/ingested_table.hpp"

#include <algorithm>

#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;

// Fixed-length UTF-8 strings: parallel HDF5 cannot write variable-length data, and every rank
// writes its own block of external ids.
DatatypeHandle fixed_string_type(std::size_t width) {
  DatatypeHandle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), std::max<std::size_t>(width, 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

std::size_t longest(const std::vector<std::string>& texts) {
  std::size_t width = 0;
  for (const auto& text : texts) width = std::max(width, text.size());
  return width;
}

std::vector<char> pack_fixed(const std::vector<std::string>& texts, std::size_t width) {
  width = std::max<std::size_t>(width, 1);
  std::vector<char> packed(texts.size() * width, '\0');
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::copy(texts[i].begin(), texts[i].end(),
              packed.begin() + static_cast<std::ptrdiff_t>(i * width));
  }
  return packed;
}

// A group whose links are listed in creation order (as h5py's track_order=True), so the reader
// takes the features in the order they were written rather than alphabetically.
GroupHandle create_ordered_group(hid_t parent, const std::string& name, const std::string& file) {
  PropertyListHandle creation(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_link_creation_order(creation.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  GroupHandle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, creation.get(), H5P_DEFAULT));
  if (!group.valid()) {
    throw InputError("cannot create group " + name + " in output file '" + file + "'" +
                     with_hdf5_detail());
  }
  return group;
}

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
  const auto note = [&](herr_t status, const std::string& object) {
    if (status < 0 && !error) {
      error = "cannot write " + object + " of output file '" + path + "'" + with_hdf5_detail();
    }
  };
  {
    FileHandle file = create_parallel_file(temporary, path, comm);
    outputs.protect(temporary);
    {
      const auto n = static_cast<hsize_t>(table.total_rows);
      GroupHandle customers = create_ordered_group(file.get(), "customers", path);
      DatasetHandle ids =
          create_dataset(customers.get(), "id", H5T_STD_I64LE, {n}, Layout::row_chunks, path);
      note(write_row_block(ids.get(), H5T_NATIVE_INT64, table.rows.begin, table.rows.size(),
                           table.ids.data()),
           "/customers/id");

      GroupHandle categories;
      for (const auto& column : table.columns) {
        const bool real = column.type == IngestedColumn::Type::float64;
        const std::string object = "/customers/" + column.name;
        DatasetHandle dataset =
            create_dataset(customers.get(), column.name, real ? H5T_IEEE_F64LE : H5T_STD_I64LE, {n},
                           Layout::row_chunks, path);
        if (!column.description.empty()) {
          write_scalar_attribute(dataset.get(), "description", column.description, path);
        }
        if (real) write_scalar_attribute(dataset.get(), "missing", column.missing, path);
        if (!column.categories.empty()) {
          write_scalar_attribute(dataset.get(), "categories", "/categories/" + column.name, path);
        }
        note(real ? write_row_block(dataset.get(), H5T_NATIVE_DOUBLE, table.rows.begin,
                                    table.rows.size(), column.reals.data())
                  : write_row_block(dataset.get(), H5T_NATIVE_INT64, table.rows.begin,
                                    table.rows.size(), column.integers.data()),
             object);
        if (column.categories.empty()) continue;
        if (!categories.valid()) categories = create_ordered_group(file.get(), "categories", path);
        const std::size_t width = longest(column.categories);
        DatatypeHandle type = fixed_string_type(width);
        DatasetHandle names = create_dataset(categories.get(), column.name, type.get(),
                                             {column.categories.size()}, Layout::contiguous, path);
        const std::vector<char> packed = pack_fixed(column.categories, width);
        note(write_from_root(names.get(), type.get(), communicator.is_root(), packed.data()),
             "/categories/" + column.name);
      }

      if (table.has_external_ids) {
        DatatypeHandle type = fixed_string_type(external_width);
        DatasetHandle external = create_dataset(customers.get(), "external_id", type.get(), {n},
                                                Layout::row_chunks, path);
        write_scalar_attribute(external.get(), "description",
                               "the customer key as written in the CSV, row by row with "
                               "/customers/id",
                               path);
        const std::vector<char> packed = pack_fixed(table.external_ids, external_width);
        note(write_row_block(external.get(), type.get(), table.rows.begin, table.rows.size(),
                             packed.data()),
             "/customers/external_id");
      }

      GroupHandle ingest = create_group(file.get(), "ingest", path);
      for (const auto& [name, value] : table.text_attributes) {
        write_scalar_attribute(ingest.get(), name, value, path);
      }
      for (const auto& [name, value] : table.count_attributes) {
        write_scalar_attribute(ingest.get(), name, value, path);
      }
    }
    note(file.close(), "the end");
  }
  outputs.commit(error);
}

}  // namespace microseg::io
