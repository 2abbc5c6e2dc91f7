#include "microseg/io/sweep_file.hpp"

#include "microseg/core/number_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <variant>

#include "hdf5_handle.hpp"
#include "hdf5_write.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

constexpr const char* model_format = "microseg sweep model 1";
constexpr const char* table_format = "microseg sweep table 1";

// The columns of sweep.csv and of the /sweep compound dataset, in order.
struct Column {
  const char* name;
  std::size_t offset;
  bool integer;
};
const std::vector<Column>& table_columns() {
  static const std::vector<Column> columns{
      {"k", offsetof(SweepRow, k), true},
      {"inertia", offsetof(SweepRow, inertia), false},
      {"calinski_harabasz", offsetof(SweepRow, calinski_harabasz), false},
      {"davies_bouldin", offsetof(SweepRow, davies_bouldin), false},
      {"silhouette_simplified", offsetof(SweepRow, silhouette_simplified), false},
      {"silhouette_sampled", offsetof(SweepRow, silhouette_sampled), false},
      {"min_segment_size", offsetof(SweepRow, min_segment_size), true},
      {"min_segment_share", offsetof(SweepRow, min_segment_share), false},
      {"stability", offsetof(SweepRow, stability), false},
  };
  return columns;
}

// The same field of a row, as int64 or double.
std::int64_t& integer_field(SweepRow& row, const Column& c) {
  return *reinterpret_cast<std::int64_t*>(reinterpret_cast<char*>(&row) + c.offset);
}
double& real_field(SweepRow& row, const Column& c) {
  return *reinterpret_cast<double*>(reinterpret_cast<char*>(&row) + c.offset);
}

// --- writing -------------------------------------------------------------------------------

// Writes datasets and attributes into one file, naming it in every error.
class Writer {
 public:
  explicit Writer(std::string file) : file_(std::move(file)) {}

  void dataset(hid_t parent, const std::string& name, hid_t file_type, hid_t memory_type,
               const std::vector<hsize_t>& dims, const void* data) const {
    DatasetHandle dataset =
        create_dataset(parent, name, file_type, dims, Layout::contiguous, file_);
    hsize_t count = 1;
    for (hsize_t extent : dims) count *= extent;
    if (count > 0 &&
        H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      throw InputError("cannot write dataset " + name + " of output file '" + file_ + "'" +
                       with_hdf5_detail());
    }
  }
  void doubles(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
               const double* data) const {
    dataset(parent, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, dims, data);
  }
  void integers(hid_t parent, const std::string& name,
                const std::vector<std::int64_t>& values) const {
    dataset(parent, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {values.size()}, values.data());
  }
  template <class T>
  void attribute(hid_t object, const std::string& name, const T& value) const {
    write_scalar_attribute(object, name, value, file_);
  }
  void attributes(hid_t object, const RunAttributes& values) const {
    for (const auto& [name, value] : values) {
      std::visit([&](const auto& v) { write_scalar_attribute(object, name, v, file_); }, value);
    }
  }
  GroupHandle group(hid_t parent, const std::string& name) const {
    return create_group(parent, name, file_);
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// Creates `temporary` for `final_path` with plain (one-process) HDF5.
FileHandle create_serial_file(const std::string& temporary, const std::string& final_path) {
  FileHandle file(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) {
    throw InputError("cannot create output file '" + final_path + "' (written first as '" +
                     temporary + "')" + with_hdf5_detail());
  }
  return file;
}

// The packed compound type of /sweep: file (little-endian) or memory (native, SweepRow layout).
DatatypeHandle row_type(bool in_file) {
  DatatypeHandle type(
      H5Tcreate(H5T_COMPOUND, in_file ? table_columns().size() * 8 : sizeof(SweepRow)));
  std::size_t packed = 0;
  for (const Column& c : table_columns()) {
    const hid_t member = in_file ? (c.integer ? H5T_STD_I64LE : H5T_IEEE_F64LE)
                                 : (c.integer ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE);
    H5Tinsert(type.get(), c.name, in_file ? packed : c.offset, member);
    packed += 8;
  }
  return type;
}

void write_csv(const std::string& temporary, const std::string& final_path,
               const std::vector<SweepRow>& rows, const PendingOutputs& outputs) {
  std::ofstream out(temporary, std::ios::trunc);
  outputs.protect(temporary);
  const char* separator = "";
  for (const Column& c : table_columns()) {
    out << separator << c.name;
    separator = ",";
  }
  out << '\n';
  for (SweepRow row : rows) {
    separator = "";
    for (const Column& c : table_columns()) {
      out << separator
          << (c.integer ? std::to_string(integer_field(row, c))
                        : round_trip_text(real_field(row, c)));
      separator = ",";
    }
    out << '\n';
  }
  out.close();
  if (!out) throw InputError("cannot write output file '" + final_path + "'");
}

// --- reading -------------------------------------------------------------------------------

// Reads datasets and attributes of one file, naming it and the object in every error.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {
    if (!fs::is_regular_file(path_)) throw InputError("'" + path_ + "' does not exist");
    file_ = FileHandle(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!file_.valid()) throw InputError("'" + path_ + "' is not a readable HDF5 file");
  }
  hid_t file() const { return file_.get(); }

  InputError error(const std::string& what) const { return InputError("'" + path_ + "': " + what); }

  GroupHandle group(const std::string& name) const {
    GroupHandle group(H5Lexists(file_.get(), name.c_str(), H5P_DEFAULT) > 0
                          ? H5Gopen2(file_.get(), name.c_str(), H5P_DEFAULT)
                          : H5I_INVALID_HID);
    if (!group.valid()) throw error("has no group " + name);
    return group;
  }

  // A whole dataset under the root (path without a nested missing group) of the given shape.
  template <class T>
  std::vector<T> read(const std::string& name, hid_t memory_type,
                      const std::vector<hsize_t>& expected) const {
    if (!exists(name)) throw error("has no dataset " + name);
    DatasetHandle dataset(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT));
    DataspaceHandle space(H5Dget_space(dataset.get()));
    std::vector<hsize_t> dims(
        static_cast<std::size_t>(std::max(H5Sget_simple_extent_ndims(space.get()), 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    if (dims != expected) throw error("dataset " + name + " has an unexpected shape");
    hsize_t count = 1;
    for (hsize_t extent : dims) count *= extent;
    std::vector<T> values(count);
    if (count > 0 &&
        H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      throw error("cannot read dataset " + name + with_hdf5_detail());
    }
    return values;
  }

  // The first extent of a dataset (its length).
  hsize_t length(const std::string& name) const {
    if (!exists(name)) throw error("has no dataset " + name);
    DatasetHandle dataset(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT));
    DataspaceHandle space(H5Dget_space(dataset.get()));
    hsize_t dims[3] = {0, 0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) < 1) return 0;
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    return dims[0];
  }

  AttributeValue attribute(hid_t object, const std::string& object_name,
                           const std::string& name) const {
    AttributeHandle attribute(H5Aexists(object, name.c_str()) > 0
                                  ? H5Aopen(object, name.c_str(), H5P_DEFAULT)
                                  : H5I_INVALID_HID);
    if (!attribute.valid()) throw error("has no attribute " + name + " on " + object_name);
    return read_attribute(attribute.get(), object_name + " attribute " + name);
  }
  std::int64_t integer(hid_t object, const std::string& object_name,
                       const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<std::int64_t>(value)) {
      throw error(object_name + " attribute " + name + " is not an integer");
    }
    return std::get<std::int64_t>(value);
  }
  double real(hid_t object, const std::string& object_name, const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<double>(value)) {
      throw error(object_name + " attribute " + name + " is not a number");
    }
    return std::get<double>(value);
  }
  std::string text(hid_t object, const std::string& object_name, const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<std::string>(value)) {
      throw error(object_name + " attribute " + name + " is not a string");
    }
    return std::get<std::string>(value);
  }

  // A 1-D variable-length string attribute (feature_names).
  std::vector<std::string> strings(hid_t object, const std::string& object_name,
                                   const std::string& name) const {
    AttributeHandle attribute(H5Aexists(object, name.c_str()) > 0
                                  ? H5Aopen(object, name.c_str(), H5P_DEFAULT)
                                  : H5I_INVALID_HID);
    if (!attribute.valid()) throw error("has no attribute " + name + " on " + object_name);
    DataspaceHandle space(H5Aget_space(attribute.get()));
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    DatatypeHandle type = utf8_string_type();
    std::vector<char*> pointers(static_cast<std::size_t>(std::max<hssize_t>(count, 0)), nullptr);
    if (count < 0 || H5Aread(attribute.get(), type.get(), pointers.data()) < 0) {
      throw error("cannot read " + object_name + " attribute " + name + with_hdf5_detail());
    }
    std::vector<std::string> values;
    for (char* p : pointers) values.emplace_back(p != nullptr ? p : "");
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
    return values;
  }

  // Every attribute of `object` (the settings), by name.
  RunAttributes all_attributes(hid_t object, const std::string& object_name) const {
    std::vector<std::string> names;
    H5Aiterate2(
        object, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
          static_cast<std::vector<std::string>*>(data)->emplace_back(name);
          return 0;
        },
        &names);
    RunAttributes values;
    for (const auto& name : names) values.emplace_back(name, attribute(object, object_name, name));
    return values;
  }

  bool exists(const std::string& name) const {
    return H5Lexists(file_.get(), name.c_str(), H5P_DEFAULT) > 0;
  }

 private:
  AttributeValue read_attribute(hid_t attribute, const std::string& what) const {
    DatatypeHandle stored(H5Aget_type(attribute));
    switch (H5Tget_class(stored.get())) {
      case H5T_INTEGER: {
        std::int64_t value = 0;
        if (H5Aread(attribute, H5T_NATIVE_INT64, &value) < 0) break;
        return value;
      }
      case H5T_FLOAT: {
        double value = 0;
        if (H5Aread(attribute, H5T_NATIVE_DOUBLE, &value) < 0) break;
        return value;
      }
      case H5T_STRING: {
        if (H5Tis_variable_str(stored.get()) <= 0) break;
        DatatypeHandle type = utf8_string_type();
        char* pointer = nullptr;
        if (H5Aread(attribute, type.get(), &pointer) < 0) break;
        std::string value = pointer != nullptr ? pointer : "";
        H5free_memory(pointer);
        return value;
      }
      default:
        break;
    }
    throw error("cannot read " + what + " as an integer, a number or a string");
  }

  std::string path_;
  FileHandle file_;
};

}  // namespace

std::string sweep_model_path(const std::string& directory, std::int64_t k) {
  char name[32];
  std::snprintf(name, sizeof name, "k-%04lld.h5", static_cast<long long>(k));
  return (fs::path(directory) / "models" / name).string();
}

std::vector<std::int64_t> sweep_model_ks(const std::string& directory) {
  std::vector<std::int64_t> ks;
  const fs::path models = fs::path(directory) / "models";
  std::error_code code;
  if (!fs::is_directory(models, code)) return ks;
  static const std::regex name("k-([0-9]{4,9})\\.h5");
  for (const auto& entry : fs::directory_iterator(models, code)) {
    std::smatch match;
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(file, match, name)) {
      ks.push_back(std::stoll(match[1].str()));
    }
  }
  std::sort(ks.begin(), ks.end());
  return ks;
}

void write_sweep_model(const std::string& directory, const SweepModel& model) {
  SilenceHdf5Errors silence;
  const std::string path = sweep_model_path(directory, model.row.k);
  std::error_code code;
  fs::create_directories(fs::path(path).parent_path(), code);
  if (code) {
    throw InputError("cannot create directory '" + fs::path(path).parent_path().string() +
                     "': " + code.message());
  }
  const auto k = static_cast<hsize_t>(model.centroids.rows());
  const auto d = static_cast<hsize_t>(model.centroids.cols());
  const auto restarts = static_cast<hsize_t>(model.restart_inertia.size());
  if (k != static_cast<hsize_t>(model.row.k) || d != model.feature_names.size() ||
      model.segment_sizes.size() != k || model.silhouette_sample_sizes.size() != k ||
      model.scaling.offset.size() != d || model.scaling.scale.size() != d ||
      model.scaling.log1p.size() != d || model.restart_iterations.size() != restarts ||
      model.restart_converged.size() != restarts ||
      model.restart_centroids.size() != restarts * k * d) {
    throw InputError("sweep model of k = " + std::to_string(model.row.k) +
                     ": its parts do not match k × d = " + std::to_string(k) + " × " +
                     std::to_string(d));
  }
  const distributed::Communicator self(MPI_COMM_SELF);
  PendingOutputs outputs(self);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  try {
    const Writer w(path);
    FileHandle file = create_serial_file(temporary, path);
    outputs.protect(temporary);
    const hid_t root = file.get();
    w.attribute(root, "format", std::string(model_format));
    w.attribute(root, "k", model.row.k);
    w.attribute(root, "best_restart", model.best_restart);
    w.attribute(root, "iterations", model.iterations);
    w.attribute(root, "converged", model.converged);
    w.attribute(root, "seconds", model.seconds);
    w.attribute(root, "version_microseg", std::string(MICROSEG_VERSION));
    {
      GroupHandle metrics = w.group(root, "metrics");
      SweepRow row = model.row;
      for (const Column& c : table_columns()) {
        if (c.name == std::string("k")) continue;
        if (c.integer) {
          w.attribute(metrics.get(), c.name, integer_field(row, c));
        } else {
          w.attribute(metrics.get(), c.name, real_field(row, c));
        }
      }
    }
    w.doubles(root, "centroids", {k, d}, model.centroids.data());
    {
      DatasetHandle centroids(H5Dopen2(root, "centroids", H5P_DEFAULT));
      write_string_array_attribute(centroids.get(), "feature_names", model.feature_names, path);
    }
    {
      GroupHandle scaling = w.group(root, "scaling");
      w.attribute(scaling.get(), "kind", to_string(model.scaling.kind));
      write_string_array_attribute(scaling.get(), "feature_names", model.feature_names, path);
      w.doubles(scaling.get(), "offset", {d}, model.scaling.offset.data());
      w.doubles(scaling.get(), "scale", {d}, model.scaling.scale.data());
      std::vector<std::int64_t> log1p(model.scaling.log1p.begin(), model.scaling.log1p.end());
      w.integers(scaling.get(), "log1p", log1p);
    }
    {
      GroupHandle segments = w.group(root, "segments");
      w.integers(segments.get(), "size", model.segment_sizes);
      w.integers(segments.get(), "silhouette_sample_size", model.silhouette_sample_sizes);
    }
    {
      GroupHandle group = w.group(root, "restarts");
      w.doubles(group.get(), "inertia", {restarts}, model.restart_inertia.data());
      w.integers(group.get(), "iterations", model.restart_iterations);
      w.integers(group.get(), "converged", model.restart_converged);
      w.doubles(group.get(), "centroids", {restarts, k, d}, model.restart_centroids.data());
    }
    {
      GroupHandle settings = w.group(root, "settings");
      w.attributes(settings.get(), model.settings);
    }
    if (file.close() < 0) {
      throw InputError("cannot write output file '" + path + "'" + with_hdf5_detail());
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  outputs.commit(error);
}

SweepModel read_sweep_model(const std::string& path) {
  SilenceHdf5Errors silence;
  const Reader r(path);
  const hid_t root = r.file();
  if (H5Aexists(root, "format") <= 0 || r.text(root, "/", "format") != model_format) {
    throw r.error("is not a microseg sweep model (root attribute format is not '" +
                  std::string(model_format) + "')");
  }
  SweepModel model;
  model.row.k = r.integer(root, "/", "k");
  model.best_restart = r.integer(root, "/", "best_restart");
  model.iterations = r.integer(root, "/", "iterations");
  model.converged = r.integer(root, "/", "converged");
  model.seconds = r.real(root, "/", "seconds");
  {
    GroupHandle metrics = r.group("metrics");
    for (const Column& c : table_columns()) {
      if (c.name == std::string("k")) continue;
      if (c.integer) {
        integer_field(model.row, c) = r.integer(metrics.get(), "/metrics", c.name);
      } else {
        real_field(model.row, c) = r.real(metrics.get(), "/metrics", c.name);
      }
    }
  }
  if (model.row.k < 1) throw r.error("root attribute k is " + std::to_string(model.row.k));
  const auto k = static_cast<hsize_t>(model.row.k);
  {
    DatasetHandle centroids(r.exists("centroids") ? H5Dopen2(root, "centroids", H5P_DEFAULT)
                                                  : H5I_INVALID_HID);
    if (!centroids.valid()) throw r.error("has no dataset /centroids");
    model.feature_names = r.strings(centroids.get(), "/centroids", "feature_names");
  }
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  const std::vector<double> centroids = r.read<double>("centroids", H5T_NATIVE_DOUBLE, {k, d});
  model.centroids = Eigen::Map<const CentroidMatrix>(centroids.data(), static_cast<Eigen::Index>(k),
                                                     static_cast<Eigen::Index>(d));
  {
    GroupHandle scaling = r.group("scaling");
    try {
      model.scaling.kind = parse_scale_kind(r.text(scaling.get(), "/scaling", "kind"));
    } catch (const InputError& e) {
      throw r.error(std::string("/scaling attribute kind: ") + e.what());
    }
  }
  model.scaling.offset = r.read<double>("scaling/offset", H5T_NATIVE_DOUBLE, {d});
  model.scaling.scale = r.read<double>("scaling/scale", H5T_NATIVE_DOUBLE, {d});
  for (std::int64_t flag : r.read<std::int64_t>("scaling/log1p", H5T_NATIVE_INT64, {d})) {
    model.scaling.log1p.push_back(static_cast<char>(flag != 0));
  }
  model.segment_sizes = r.read<std::int64_t>("segments/size", H5T_NATIVE_INT64, {k});
  model.silhouette_sample_sizes =
      r.read<std::int64_t>("segments/silhouette_sample_size", H5T_NATIVE_INT64, {k});
  const hsize_t restarts = r.length("restarts/inertia");
  model.restart_inertia = r.read<double>("restarts/inertia", H5T_NATIVE_DOUBLE, {restarts});
  model.restart_iterations =
      r.read<std::int64_t>("restarts/iterations", H5T_NATIVE_INT64, {restarts});
  model.restart_converged =
      r.read<std::int64_t>("restarts/converged", H5T_NATIVE_INT64, {restarts});
  model.restart_centroids =
      r.read<double>("restarts/centroids", H5T_NATIVE_DOUBLE, {restarts, k, d});
  {
    GroupHandle settings = r.group("settings");
    model.settings = r.all_attributes(settings.get(), "/settings");
  }
  return model;
}

void write_sweep_table(const std::string& directory, const SweepTable& table) {
  SilenceHdf5Errors silence;
  const fs::path dir(directory);
  const std::string csv_path = (dir / "sweep.csv").string();
  const std::string h5_path = (dir / "sweep.h5").string();
  const distributed::Communicator self(MPI_COMM_SELF);
  PendingOutputs outputs(self);
  const std::string csv_temporary = outputs.add(csv_path);
  const std::string h5_temporary = outputs.add(h5_path);
  std::optional<std::string> error;
  try {
    write_csv(csv_temporary, csv_path, table.rows, outputs);
    const Writer w(h5_path);
    FileHandle file = create_serial_file(h5_temporary, h5_path);
    outputs.protect(h5_temporary);
    const hid_t root = file.get();
    w.attribute(root, "format", std::string(table_format));
    w.attribute(root, "recommended_k", table.recommendation.k);
    w.attribute(root, "recommended_reason", table.recommendation.reason);
    w.attribute(root, "runner_up_k", table.recommendation.runner_up_k);
    w.attribute(root, "runner_up_reason", table.recommendation.runner_up_reason);
    w.attribute(root, "recommendation_rule", table.rule);
    w.attribute(root, "input_content_digest", table.content_digest);
    w.attribute(root, "version_microseg", std::string(MICROSEG_VERSION));
    {
      DatatypeHandle file_type = row_type(true), memory_type = row_type(false);
      w.dataset(root, "sweep", file_type.get(), memory_type.get(), {table.rows.size()},
                table.rows.data());
    }
    {
      GroupHandle settings = w.group(root, "settings");
      w.attributes(settings.get(), table.settings);
    }
    if (file.close() < 0) {
      throw InputError("cannot write output file '" + h5_path + "'" + with_hdf5_detail());
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  outputs.commit(error);
}

SweepTable read_sweep_table(const std::string& directory) {
  SilenceHdf5Errors silence;
  const std::string path = (fs::path(directory) / "sweep.h5").string();
  if (!fs::is_regular_file(path)) {
    throw InputError("sweep '" + directory + "' has no sweep.h5: the sweep has not finished");
  }
  const Reader r(path);
  const hid_t root = r.file();
  if (H5Aexists(root, "format") <= 0 || r.text(root, "/", "format") != table_format) {
    throw r.error("is not a microseg sweep table (root attribute format is not '" +
                  std::string(table_format) + "')");
  }
  SweepTable table;
  table.recommendation.k = r.integer(root, "/", "recommended_k");
  table.recommendation.reason = r.text(root, "/", "recommended_reason");
  table.recommendation.runner_up_k = r.integer(root, "/", "runner_up_k");
  table.recommendation.runner_up_reason = r.text(root, "/", "runner_up_reason");
  table.rule = r.text(root, "/", "recommendation_rule");
  if (H5Aexists(root, "input_content_digest") > 0) {
    table.content_digest = r.text(root, "/", "input_content_digest");
  }
  {
    DatatypeHandle memory_type = row_type(false);
    table.rows = r.read<SweepRow>("sweep", memory_type.get(), {r.length("sweep")});
  }
  {
    GroupHandle settings = r.group("settings");
    table.settings = r.all_attributes(settings.get(), "/settings");
  }
  return table;
}

}  // namespace microseg::io
