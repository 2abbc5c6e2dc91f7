#include "microseg/io/run_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "feature_transform_file.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_strings.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

// Messages name the run directory and the file, so a user knows which run to fix.
class RunFile {
 public:
  RunFile(std::string directory, std::string file)
      : directory_(std::move(directory)), file_(std::move(file)) {}

  InputError error(const std::string& what) const {
    return InputError("run '" + directory_ + "': '" + file_ + "' " + what);
  }

  DatasetHandle dataset(hid_t file, const std::string& path) const {
    if (!path_exists(file, path)) {
      throw error("has no dataset " + path + missing_hint(path));
    }
    DatasetHandle dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
    if (!dataset.valid()) throw error("has " + path + ", but it is not a dataset");
    return dataset;
  }

  std::vector<hsize_t> dims(hid_t dataset) const {
    DataspaceHandle space(H5Dget_space(dataset));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return dims;
  }

  template <class T>
  std::vector<T> read(hid_t file, const std::string& path, hid_t memory_type,
                      const std::vector<hsize_t>& expected_dims) const {
    DatasetHandle data = dataset(file, path);
    const std::vector<hsize_t> found = dims(data.get());
    if (found != expected_dims) {
      throw error("has " + path + " of shape " + shape_text(found) + ", expected " +
                  shape_text(expected_dims));
    }
    hsize_t count = 1;
    for (hsize_t extent : found) count *= extent;
    std::vector<T> values(count);
    if (count > 0 &&
        H5Dread(data.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      throw error("cannot be read at " + path + with_hdf5_detail());
    }
    return values;
  }

  std::vector<hsize_t> dims_of(hid_t file, const std::string& path) const {
    DatasetHandle data = dataset(file, path);
    return dims(data.get());
  }

  std::string string_attribute(hid_t object, const std::string& object_path,
                               const std::string& name) const {
    const std::vector<std::string> values = strings(object, object_path, name, true);
    return values.front();
  }

  std::vector<std::string> string_array_attribute(hid_t object, const std::string& object_path,
                                                  const std::string& name) const {
    return strings(object, object_path, name, false);
  }

  std::int64_t integer_attribute(hid_t object, const std::string& object_path,
                                 const std::string& name) const {
    AttributeHandle attribute(H5Aexists(object, name.c_str()) > 0
                                  ? H5Aopen(object, name.c_str(), H5P_DEFAULT)
                                  : H5I_INVALID_HID);
    std::int64_t value = 0;
    if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) {
      throw error("has no integer attribute " + name + " on " + object_path);
    }
    return value;
  }

  double real_attribute(hid_t object, const std::string& object_path,
                        const std::string& name) const {
    AttributeHandle attribute(H5Aexists(object, name.c_str()) > 0
                                  ? H5Aopen(object, name.c_str(), H5P_DEFAULT)
                                  : H5I_INVALID_HID);
    double value = 0;
    if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value) < 0) {
      throw error("has no numeric attribute " + name + " on " + object_path);
    }
    return value;
  }

 private:
  static bool path_exists(hid_t file, const std::string& path) {
    // H5Lexists fails on a path whose parent group is missing, so walk it one link at a time.
    std::size_t at = 1;
    while (true) {
      const std::size_t slash = path.find('/', at);
      const std::string prefix = path.substr(0, slash);
      if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (slash == std::string::npos) return true;
      at = slash + 1;
    }
  }

  static std::string missing_hint(const std::string& path) {
    return path.rfind("/model", 0) == 0
               ? " (runs written before stable segment ids did not save their model; run the "
                 "segmentation again with this version of microseg)"
               : "";
  }

  static std::string shape_text(const std::vector<hsize_t>& dims) {
    std::string text = "(";
    for (std::size_t i = 0; i < dims.size(); ++i)
      text += (i ? " × " : "") + std::to_string(dims[i]);
    return text + ")";
  }

  std::vector<std::string> strings(hid_t object, const std::string& object_path,
                                   const std::string& name, bool scalar) const {
    AttributeHandle attribute(H5Aexists(object, name.c_str()) > 0
                                  ? H5Aopen(object, name.c_str(), H5P_DEFAULT)
                                  : H5I_INVALID_HID);
    if (!attribute.valid()) throw error("has no attribute " + name + " on " + object_path);
    DatatypeHandle type(H5Aget_type(attribute.get()));
    DataspaceHandle space(H5Aget_space(attribute.get()));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (H5Tget_class(type.get()) != H5T_STRING || rank != (scalar ? 0 : 1)) {
      throw error("has attribute " + name + " on " + object_path + " that is not " +
                  (scalar ? "a string" : "a 1-D array of strings"));
    }
    hsize_t count = 1;
    if (!scalar) H5Sget_simple_extent_dims(space.get(), &count, nullptr);
    auto values = detail::read_strings(attribute.get(), detail::StringHolder::attribute, type.get(),
                                       space.get(), count);
    if (!values) throw error("cannot read attribute " + name + " of " + object_path);
    return *values;
  }

  std::string directory_, file_;
};

GroupHandle open_group(hid_t file, const std::string& path, const RunFile& run) {
  if (H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0) {
    throw run.error("has no group " + path +
                    " (runs written before stable segment ids did not save their model; run the "
                    "segmentation again with this version of microseg)");
  }
  GroupHandle group(H5Gopen2(file, path.c_str(), H5P_DEFAULT));
  if (!group.valid()) throw run.error("has " + path + ", but it is not a group");
  return group;
}

std::string segments_file_of(const std::string& directory) {
  return (fs::path(directory) / "segments.h5").string();
}

}  // namespace

RunModel RunModel::with_feature_order(const std::vector<std::string>& names) const {
  std::vector<int> source;
  std::string missing, extra;
  for (const auto& name : names) {
    const auto found = std::find(feature_names.begin(), feature_names.end(), name);
    if (found == feature_names.end()) {
      missing += (missing.empty() ? "" : ", ") + name;
    } else {
      source.push_back(static_cast<int>(found - feature_names.begin()));
    }
  }
  for (const auto& name : feature_names) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      extra += (extra.empty() ? "" : ", ") + name;
    }
  }
  if (!missing.empty() || !extra.empty()) {
    std::string message = "run '" + directory + "' segmented other features than this run";
    if (!missing.empty()) message += "; not in that run: " + missing;
    if (!extra.empty()) message += "; only in that run: " + extra;
    throw InputError(message + " (select the same features with --features)");
  }
  RunModel reordered = *this;
  reordered.feature_names = names;
  for (std::size_t j = 0; j < source.size(); ++j) {
    const auto from = static_cast<std::size_t>(source[j]);
    reordered.scaling.log1p[j] = scaling.log1p[from];
    reordered.scaling.offset[j] = scaling.offset[from];
    reordered.scaling.scale[j] = scaling.scale[from];
    reordered.centroids.col(static_cast<Eigen::Index>(j)) =
        centroids.col(static_cast<Eigen::Index>(from));
    reordered.transform.features[j] = transform.features[from];
    reordered.transform.fill[j] = transform.fill[from];
    reordered.transform.clip_low[j] = transform.clip_low[from];
    reordered.transform.clip_high[j] = transform.clip_high[from];
    reordered.transform.weight[j] = transform.weight[from];
  }
  return reordered;
}

RunModel read_run_model(const std::string& directory) {
  SilenceHdf5Errors silence;
  std::error_code code;
  if (!fs::is_directory(directory, code)) {
    throw InputError("run directory '" + directory + "' does not exist or is not a directory");
  }
  RunModel model;
  model.directory = directory;
  model.file = segments_file_of(directory);
  if (!fs::is_regular_file(model.file, code)) {
    throw InputError("run directory '" + directory +
                     "' holds no segments.h5 (is it the output directory of microseg segment?)");
  }
  const RunFile run(directory, model.file);
  // Small datasets, read by each rank on its own: plain HDF5, shared read locks.
  PropertyListHandle access(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(access.get(), true, true);
  FileHandle file(H5Fopen(model.file.c_str(), H5F_ACC_RDONLY, access.get()));
  if (!file.valid()) throw run.error("is not a readable HDF5 file" + with_hdf5_detail());

  GroupHandle model_group = open_group(file.get(), "/model", run);
  GroupHandle scaling_group = open_group(file.get(), "/model/scaling", run);
  model.feature_names =
      run.string_array_attribute(scaling_group.get(), "/model/scaling", "feature_names");
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  try {
    model.scaling.kind =
        parse_scale_kind(run.string_attribute(scaling_group.get(), "/model/scaling", "kind"));
  } catch (const InputError& e) {
    throw run.error(std::string("has an invalid /model/scaling kind: ") + e.what());
  }
  const auto log1p =
      run.read<std::int8_t>(file.get(), "/model/scaling/log1p", H5T_NATIVE_INT8, {d});
  model.scaling.log1p.assign(log1p.begin(), log1p.end());
  model.scaling.offset =
      run.read<double>(file.get(), "/model/scaling/offset", H5T_NATIVE_DOUBLE, {d});
  model.scaling.scale =
      run.read<double>(file.get(), "/model/scaling/scale", H5T_NATIVE_DOUBLE, {d});
  model.transform = read_feature_transform(file.get(), model.feature_names,
                                           "run '" + directory + "': '" + model.file + "'");

  const std::vector<hsize_t> centroid_dims = run.dims_of(file.get(), "/centroids/scaled");
  if (centroid_dims.size() != 2 || centroid_dims[1] != d || centroid_dims[0] == 0) {
    throw run.error("has /centroids/scaled that is not k × " + std::to_string(d));
  }
  const hsize_t k = centroid_dims[0];
  const auto flat = run.read<double>(file.get(), "/centroids/scaled", H5T_NATIVE_DOUBLE, {k, d});
  model.centroids = Eigen::Map<const CentroidMatrix>(flat.data(), static_cast<Eigen::Index>(k),
                                                     static_cast<Eigen::Index>(d));

  model.identity.ids =
      run.read<std::int64_t>(file.get(), "/model/segment_ids", H5T_NATIVE_INT64, {k});
  model.identity.next_id = run.integer_attribute(model_group.get(), "/model", "next_segment_id");
  const std::vector<hsize_t> retired_dims = run.dims_of(file.get(), "/model/retired_segment_ids");
  if (retired_dims.size() != 1) throw run.error("has /model/retired_segment_ids that is not 1-D");
  model.identity.retired_ids = run.read<std::int64_t>(file.get(), "/model/retired_segment_ids",
                                                      H5T_NATIVE_INT64, retired_dims);
  // Ids are distinct, below the counter and never retired; a later run relies on all three.
  const std::set<std::int64_t> distinct(model.identity.ids.begin(), model.identity.ids.end());
  const std::set<std::int64_t> retired(model.identity.retired_ids.begin(),
                                       model.identity.retired_ids.end());
  bool consistent = distinct.size() == model.identity.ids.size();
  for (std::int64_t id : model.identity.ids) {
    consistent = consistent && id >= 0 && id < model.identity.next_id && retired.count(id) == 0;
  }
  if (!consistent) {
    throw run.error(
        "has inconsistent /model/segment_ids (ids must be distinct, below next_segment_id and not "
        "retired)");
  }
  model.sizes = run.read<std::int64_t>(file.get(), "/profiles/size", H5T_NATIVE_INT64, {k});
  model.value_feature = run.string_attribute(model_group.get(), "/model", "value_feature");
  if (!model.value_feature.empty()) {
    model.value_total =
        run.read<double>(file.get(), "/profiles/value_total", H5T_NATIVE_DOUBLE, {k});
    model.value_mean = run.read<double>(file.get(), "/profiles/value_mean", H5T_NATIVE_DOUBLE, {k});
  }
  const std::vector<hsize_t> assignment_dims = run.dims_of(file.get(), "/assignments/id");
  if (assignment_dims.size() != 1) throw run.error("has /assignments/id that is not 1-D");
  model.customers = static_cast<std::int64_t>(assignment_dims[0]);
  model.assignments_have_value = H5Lexists(file.get(), "/assignments/value", H5P_DEFAULT) > 0;
  GroupHandle quality_group = open_group(file.get(), "/quality", run);
  const double inertia = run.real_attribute(quality_group.get(), "/quality", "inertia");
  if (!(inertia >= 0) || model.customers == 0) {
    throw run.error("has a /quality inertia that is not a number ≥ 0");
  }
  model.customer_spread = std::sqrt(inertia / static_cast<double>(model.customers));
  return model;
}

std::vector<distributed::PreviousAssignment> read_run_assignments(const RunModel& model,
                                                                  RowRange rows, MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const RunFile run(model.directory, model.file);
  std::optional<std::string> error;
  const auto count = static_cast<std::size_t>(rows.size());
  std::vector<std::int64_t> ids(count);
  std::vector<std::int32_t> segments(count);
  std::vector<double> distances(count), values(count, std::nan(""));
  {
    PropertyListHandle access(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_mpio(access.get(), comm, MPI_INFO_NULL);
    FileHandle file(H5Fopen(model.file.c_str(), H5F_ACC_RDONLY, access.get()));
    // Every rank opens the same file, so a failure here strikes every rank alike.
    if (!file.valid()) throw run.error("cannot be opened for reading" + with_hdf5_detail());
    const auto total = static_cast<hsize_t>(model.customers);
    PropertyListHandle transfer(H5Pcreate(H5P_DATASET_XFER));
    H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE);
    const auto read_rows = [&](const std::string& path, hid_t memory_type, void* buffer) {
      DatasetHandle dataset = run.dataset(file.get(), path);
      if (run.dims(dataset.get()) != std::vector<hsize_t>{total}) {
        throw run.error("has " + path + " of another length than /assignments/id");
      }
      DataspaceHandle file_space(H5Dget_space(dataset.get()));
      const hsize_t start = static_cast<hsize_t>(rows.begin), rows_here = count;
      DataspaceHandle memory_space = simple_dataspace({std::max<hsize_t>(rows_here, 1)});
      if (rows_here == 0) {
        H5Sselect_none(file_space.get());
        H5Sselect_none(memory_space.get());
      } else {
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &rows_here, nullptr);
      }
      static char placeholder = 0;  // HDF5 wants a buffer even for an empty selection
      if (H5Dread(dataset.get(), memory_type, memory_space.get(), file_space.get(), transfer.get(),
                  rows_here ? buffer : &placeholder) < 0 &&
          !error) {
        error = "run '" + model.directory + "': cannot read rows " + std::to_string(rows.begin) +
                " to " + std::to_string(rows.end - 1) + " of " + path + " in '" + model.file + "'" +
                with_hdf5_detail();
      }
    };
    read_rows("/assignments/id", H5T_NATIVE_INT64, ids.data());
    read_rows("/assignments/segment", H5T_NATIVE_INT32, segments.data());
    read_rows("/assignments/distance", H5T_NATIVE_DOUBLE, distances.data());
    if (model.assignments_have_value) {
      read_rows("/assignments/value", H5T_NATIVE_DOUBLE, values.data());
    }
  }
  communicator.agree(error);
  std::vector<distributed::PreviousAssignment> records(count);
  for (std::size_t i = 0; i < count; ++i) {
    records[i].id = ids[i];
    records[i].segment = segments[i];
    records[i].distance = distances[i];
    records[i].value = values[i];
  }
  return records;
}

}  // namespace microseg::io
