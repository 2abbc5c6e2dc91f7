#include "microseg/io/checkpoint_file.hpp"

#include <filesystem>

#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"

namespace microseg::io {
namespace {

using namespace detail;

constexpr std::int64_t kFormatVersion = 1;

void write_matrix(hid_t parent, const std::string& name, const CentroidMatrix& matrix, bool root,
                  const std::string& file, herr_t& status) {
  const std::vector<hsize_t> dims{static_cast<hsize_t>(matrix.rows()),
                                  static_cast<hsize_t>(matrix.cols())};
  DatasetHandle dataset =
      create_dataset(parent, name, H5T_IEEE_F64LE, dims, Layout::contiguous, file);
  // An empty matrix (no finished restart yet) has no data to write.
  if (status >= 0 && matrix.size() > 0) {
    status = write_from_root(dataset.get(), H5T_NATIVE_DOUBLE, root, matrix.data());
  }
}

CentroidMatrix read_matrix(hid_t file, const std::string& name, const std::string& path) {
  DatasetHandle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!dataset.valid()) {
    throw InputError("checkpoint '" + path + "' has no dataset " + name);
  }
  DataspaceHandle space(H5Dget_space(dataset.get()));
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 2) {
    throw InputError("checkpoint '" + path + "': " + name + " is not 2-D");
  }
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  CentroidMatrix matrix(static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(dims[1]));
  if (matrix.size() > 0 &&
      H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, matrix.data()) < 0) {
    throw InputError("checkpoint '" + path + "': cannot read " + name);
  }
  return matrix;
}

template <class T>
T read_attribute(hid_t object, const char* name, hid_t memory_type, const std::string& path) {
  T value{};
  AttributeHandle attribute(H5Aopen(object, name, H5P_DEFAULT));
  if (!attribute.valid() || H5Aread(attribute.get(), memory_type, &value) < 0) {
    throw InputError("checkpoint '" + path + "' lacks attribute " + name);
  }
  return value;
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& path) {
  AttributeHandle attribute(H5Aopen(object, name, H5P_DEFAULT));
  if (!attribute.valid()) throw InputError("checkpoint '" + path + "' lacks attribute " + name);
  DatatypeHandle type(H5Aget_type(attribute.get()));
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    DatatypeHandle memory = utf8_string_type();
    if (H5Aread(attribute.get(), memory.get(), &text) < 0 || text == nullptr) {
      throw InputError("checkpoint '" + path + "': cannot read attribute " + name);
    }
    std::string value(text);
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attribute.get(), type.get(), value.data()) < 0) {
    throw InputError("checkpoint '" + path + "': cannot read attribute " + name);
  }
  return value.substr(0, value.find('\0'));
}

}  // namespace

void write_checkpoint(const std::string& path, MPI_Comm comm, const CheckpointRecord& record) {
  const distributed::Communicator communicator(comm);
  const bool root = communicator.is_root();
  SilenceHdf5Errors quiet;
  PendingOutputs outputs(communicator);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  herr_t status = 0;
  {
    FileHandle file = create_parallel_file(temporary, path, comm);
    outputs.protect(temporary);
    const hid_t f = file.get();
    const FitCheckpoint& fit = record.fit;
    write_scalar_attribute(f, "format_version", kFormatVersion, path);
    write_scalar_attribute(f, "configuration_fingerprint", record.configuration_fingerprint, path);
    write_scalar_attribute(f, "input_fingerprint", record.input_fingerprint, path);
    write_scalar_attribute(f, "restart", std::int64_t{fit.restart}, path);
    write_scalar_attribute(f, "iteration", std::int64_t{fit.iteration}, path);
    write_scalar_attribute(f, "best_restart", std::int64_t{fit.best_restart}, path);
    write_scalar_attribute(f, "best_iterations", std::int64_t{fit.best_model.iterations}, path);
    write_scalar_attribute(f, "best_converged", std::int64_t{fit.best_model.converged}, path);
    write_scalar_attribute(f, "best_inertia", fit.best_model.inertia, path);
    write_matrix(f, "centroids", fit.centroids, root, path, status);
    write_matrix(f, "initial", fit.initial, root, path, status);
    write_matrix(f, "best_centroids", fit.best_model.centroids, root, path, status);
    write_matrix(f, "best_initial", fit.best_initial, root, path, status);
    DatasetHandle inertias = create_dataset(f, "restart_inertias", H5T_IEEE_F64LE,
                                            {static_cast<hsize_t>(fit.restart_inertias.size())},
                                            Layout::contiguous, path);
    if (status >= 0 && !fit.restart_inertias.empty()) {
      status =
          write_from_root(inertias.get(), H5T_NATIVE_DOUBLE, root, fit.restart_inertias.data());
    }
  }
  if (status < 0) error = "cannot write checkpoint '" + path + "'" + with_hdf5_detail();
  outputs.commit(error);
}

CheckpointRecord read_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError("checkpoint '" + path + "' does not exist");
  }
  SilenceHdf5Errors quiet;
  FileHandle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) throw InputError("checkpoint '" + path + "' is not a readable HDF5 file");
  const hid_t f = file.get();
  if (read_attribute<std::int64_t>(f, "format_version", H5T_NATIVE_INT64, path) != kFormatVersion) {
    throw InputError("checkpoint '" + path + "' has an unknown format version");
  }
  CheckpointRecord record;
  record.configuration_fingerprint = read_string_attribute(f, "configuration_fingerprint", path);
  record.input_fingerprint = read_string_attribute(f, "input_fingerprint", path);
  FitCheckpoint& fit = record.fit;
  fit.restart =
      static_cast<int>(read_attribute<std::int64_t>(f, "restart", H5T_NATIVE_INT64, path));
  fit.iteration =
      static_cast<int>(read_attribute<std::int64_t>(f, "iteration", H5T_NATIVE_INT64, path));
  fit.best_restart =
      static_cast<int>(read_attribute<std::int64_t>(f, "best_restart", H5T_NATIVE_INT64, path));
  fit.best_model.iterations =
      static_cast<int>(read_attribute<std::int64_t>(f, "best_iterations", H5T_NATIVE_INT64, path));
  fit.best_model.converged =
      read_attribute<std::int64_t>(f, "best_converged", H5T_NATIVE_INT64, path) != 0;
  fit.best_model.inertia = read_attribute<double>(f, "best_inertia", H5T_NATIVE_DOUBLE, path);
  fit.centroids = read_matrix(f, "centroids", path);
  fit.initial = read_matrix(f, "initial", path);
  fit.best_model.centroids = read_matrix(f, "best_centroids", path);
  fit.best_initial = read_matrix(f, "best_initial", path);
  DatasetHandle inertias(H5Dopen2(f, "restart_inertias", H5P_DEFAULT));
  if (!inertias.valid()) throw InputError("checkpoint '" + path + "' has no restart_inertias");
  DataspaceHandle space(H5Dget_space(inertias.get()));
  fit.restart_inertias.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get())));
  if (!fit.restart_inertias.empty() && H5Dread(inertias.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                               H5P_DEFAULT, fit.restart_inertias.data()) < 0) {
    throw InputError("checkpoint '" + path + "': cannot read restart_inertias");
  }
  return record;
}

}  // namespace microseg::io
