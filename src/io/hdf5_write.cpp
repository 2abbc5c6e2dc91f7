#include "hdf5_write.hpp"

#include <algorithm>
#include <system_error>

#include "microseg/core/types.hpp"
#include "microseg/distributed/fault_injection.hpp"

namespace microseg::io::detail {
namespace fs = std::filesystem;

namespace {

constexpr hsize_t max_chunk_rows = 65536;
constexpr hsize_t max_chunk_bytes = hsize_t{4} << 20;
// Customer data is personal: owner read/write, group read, nobody else (0640).
constexpr fs::perms output_permissions =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;

std::string where(const std::string& object, const std::string& file) {
  return object + " in output file '" + file + "'";
}

PropertyListHandle collective_transfer() {
  PropertyListHandle transfer(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE);
  return transfer;
}

template <class T>
void write_attribute(hid_t object, const std::string& name, hid_t file_type, hid_t memory_type,
                     hid_t space, const T* data, const std::string& file) {
  AttributeHandle attribute(
      H5Acreate2(object, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attribute.valid() || H5Awrite(attribute.get(), memory_type, data) < 0) {
    throw InputError("cannot write attribute " + where(name, file) + with_hdf5_detail());
  }
}

}  // namespace

PendingOutputs::~PendingOutputs() {
  if (committed_ || !comm_.is_root()) return;
  for (const auto& [temporary, final_path] : files_) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
  }
}

std::string PendingOutputs::add(const std::string& final_path) {
  const fs::path target(final_path);
  fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".partial");
  files_.emplace_back(temporary, target);
  return temporary.string();
}

void PendingOutputs::protect(const std::string& temporary) const {
  if (!comm_.is_root()) return;
  std::error_code ignored;  // commit() sets the mode again and reports failures there
  fs::permissions(temporary, output_permissions, fs::perm_options::replace, ignored);
}

void PendingOutputs::commit(const std::optional<std::string>& local_error) {
  // Tests fail one rank here, where every output is complete under its temporary name and
  // nothing is in place yet: the moment a failure must not leave a file that looks complete.
  distributed::maybe_inject_failure(comm_, "write");
  comm_.agree(local_error);
  std::optional<std::string> error;
  if (comm_.is_root()) {
    for (const auto& [temporary, final_path] : files_) {
      std::error_code code;
      // Customer data is personal: owner read/write, group read, nobody else.
      fs::permissions(temporary,
                      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read,
                      fs::perm_options::replace, code);
      if (!code) fs::rename(temporary, final_path, code);
      if (code) {
        error = "cannot move the finished output '" + temporary.string() + "' into place as '" +
                final_path.string() + "': " + code.message();
        break;
      }
    }
    committed_ = !error;
  }
  comm_.agree(error);
}

std::optional<std::string> output_location_problem(const std::string& final_path) {
  const fs::path target(final_path);
  const fs::path directory = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code code;
  if (target.filename().empty()) {
    return "output path '" + final_path + "' names a directory, not a file";
  }
  if (!fs::is_directory(directory, code)) {
    return "cannot write output file '" + final_path + "': directory '" + directory.string() +
           "' does not exist";
  }
  if (fs::is_directory(target, code)) {
    return "cannot write output file '" + final_path + "': it is an existing directory";
  }
  return std::nullopt;
}

FileHandle create_parallel_file(const std::string& temporary, const std::string& final_path,
                                MPI_Comm comm) {
  PropertyListHandle access(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(access.get(), comm, MPI_INFO_NULL);
  FileHandle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()));
  if (!file.valid()) {
    throw InputError("cannot create output file '" + final_path + "' (written first as '" +
                     temporary + "')" + with_hdf5_detail());
  }
  return file;
}

GroupHandle create_group(hid_t parent, const std::string& name, const std::string& file) {
  GroupHandle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid()) {
    throw InputError("cannot create group " + where(name, file) + with_hdf5_detail());
  }
  return group;
}

DatasetHandle create_dataset(hid_t parent, const std::string& name, hid_t file_type,
                             const std::vector<hsize_t>& dims, Layout layout,
                             const std::string& file) {
  PropertyListHandle creation(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_fill_time(creation.get(), H5D_FILL_TIME_NEVER);
  // A chunk may not exceed a fixed-size dimension, so an empty dataset stays contiguous.
  if (layout == Layout::row_chunks && dims[0] > 0) {
    hsize_t row_bytes = H5Tget_size(file_type);
    for (std::size_t i = 1; i < dims.size(); ++i) row_bytes *= std::max<hsize_t>(dims[i], 1);
    std::vector<hsize_t> chunk(dims);
    chunk[0] =
        std::min({max_chunk_rows, std::max<hsize_t>(1, max_chunk_bytes / row_bytes), dims[0]});
    for (std::size_t i = 1; i < chunk.size(); ++i) chunk[i] = std::max<hsize_t>(chunk[i], 1);
    H5Pset_chunk(creation.get(), static_cast<int>(chunk.size()), chunk.data());
  }
  DataspaceHandle space = simple_dataspace(dims);
  DatasetHandle dataset(H5Dcreate2(parent, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                   creation.get(), H5P_DEFAULT));
  if (!dataset.valid()) {
    throw InputError("cannot create dataset " + where(name, file) + with_hdf5_detail());
  }
  return dataset;
}

void write_string_array_attribute(hid_t object, const std::string& name,
                                  const std::vector<std::string>& values, const std::string& file) {
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  DatatypeHandle type = utf8_string_type();
  DataspaceHandle space = simple_dataspace({values.size()});
  const char* none = "";
  write_attribute(object, name, type.get(), type.get(), space.get(),
                  pointers.empty() ? &none : pointers.data(), file);
}

void write_scalar_attribute(hid_t object, const std::string& name, double value,
                            const std::string& file) {
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  write_attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), &value, file);
}

void write_scalar_attribute(hid_t object, const std::string& name, std::int64_t value,
                            const std::string& file) {
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  write_attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), &value, file);
}

void write_scalar_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file) {
  DatatypeHandle type = utf8_string_type();
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  const char* pointer = value.c_str();
  write_attribute(object, name, type.get(), type.get(), space.get(), &pointer, file);
}

herr_t write_row_block(hid_t dataset, hid_t memory_type, std::int64_t begin, std::int64_t count,
                       const void* data) {
  DataspaceHandle file_space(H5Dget_space(dataset));
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  if (rank < 1 || rank > 2) return -1;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);

  std::vector<hsize_t> start(dims.size(), 0), block(dims);
  start[0] = static_cast<hsize_t>(begin);
  block[0] = static_cast<hsize_t>(count);
  // Memory of an empty block is one (unselected) row, since empty dataspaces need care.
  std::vector<hsize_t> memory_dims(block);
  memory_dims[0] = std::max<hsize_t>(block[0], 1);
  DataspaceHandle memory_space = simple_dataspace(memory_dims);
  bool empty = count == 0;
  for (hsize_t extent : block) empty = empty || extent == 0;
  if (empty) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  } else if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                 block.data(), nullptr) < 0) {
    return -1;
  }
  PropertyListHandle transfer = collective_transfer();
  static const char placeholder = 0;  // HDF5 wants a buffer even for an empty selection
  return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), transfer.get(),
                  empty || data == nullptr ? &placeholder : data);
}

herr_t write_from_root(hid_t dataset, hid_t memory_type, bool is_root, const void* data) {
  DataspaceHandle file_space(H5Dget_space(dataset));
  DataspaceHandle memory_space(H5Scopy(file_space.get()));
  const bool empty = H5Sget_simple_extent_npoints(file_space.get()) == 0;
  if (!is_root || empty) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  }
  PropertyListHandle transfer = collective_transfer();
  static const char placeholder = 0;
  return H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), transfer.get(),
                  !is_root || empty || data == nullptr ? &placeholder : data);
}

}  // namespace microseg::io::detail
