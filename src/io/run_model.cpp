#include "microseg/io/run_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "feature_transform_file.hpp"
#include "hdf5_object.hpp"
#include "hdf5_rows.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

const char* const no_model_hint =
    " (runs written before stable segment ids did not save their model; run the segmentation "
    "again with this version of microseg)";

// Reads the parts of a run's segments.h5; messages name the run directory and the file, so a
// user knows which run to fix.
class RunFile {
 public:
  RunFile(std::string directory, std::string file)
      : directory_(std::move(directory)), file_(std::move(file)) {}

  InputError error(const std::string& what) const {
    return InputError("run '" + directory_ + "': '" + file_ + "' " + what);
  }

  Group group(const File& file, const std::string& path) const {
    if (!file.has_link(path)) throw error("has no group " + path + no_model_hint);
    std::optional<Group> group = file.open_group(path);
    if (!group) throw error("has " + path + ", but it is not a group");
    return std::move(*group);
  }

  Dataset dataset(const File& file, const std::string& path) const {
    if (!file.has_path(path)) {
      throw error("has no dataset " + path + (path.rfind("/model", 0) == 0 ? no_model_hint : ""));
    }
    std::optional<Dataset> dataset = file.open_dataset(path);
    if (!dataset) throw error("has " + path + ", but it is not a dataset");
    return std::move(*dataset);
  }

  static std::vector<hsize_t> dims(const Dataset& dataset) {
    const std::optional<Shape> shape = dataset.shape();
    return shape ? shape->dims : std::vector<hsize_t>{};
  }

  std::vector<hsize_t> dims_of(const File& file, const std::string& path) const {
    return dims(dataset(file, path));
  }

  template <class T>
  std::vector<T> read(const File& file, const std::string& path,
                      const std::vector<hsize_t>& expected_dims) const {
    const Dataset data = dataset(file, path);
    const std::vector<hsize_t> found = dims(data);
    if (found != expected_dims) {
      throw error("has " + path + " of shape " + shape_text(found) + ", expected " +
                  shape_text(expected_dims));
    }
    std::optional<std::vector<T>> values = data.read_all<T>();
    if (!values) throw error("cannot be read at " + path + with_hdf5_detail());
    return std::move(*values);
  }

  std::string string_attribute(const Object& object, const std::string& object_path,
                               const std::string& name) const {
    return strings(object, object_path, name, true).front();
  }

  std::vector<std::string> string_array_attribute(const Object& object,
                                                  const std::string& object_path,
                                                  const std::string& name) const {
    return strings(object, object_path, name, false);
  }

  std::int64_t integer_attribute(const Object& object, const std::string& object_path,
                                 const std::string& name) const {
    const std::optional<std::int64_t> value = number<std::int64_t>(object, name);
    if (!value) throw error("has no integer attribute " + name + " on " + object_path);
    return *value;
  }

  double real_attribute(const Object& object, const std::string& object_path,
                        const std::string& name) const {
    const std::optional<double> value = number<double>(object, name);
    if (!value) throw error("has no numeric attribute " + name + " on " + object_path);
    return *value;
  }

 private:
  template <class T>
  static std::optional<T> number(const Object& object, const std::string& name) {
    const std::optional<Attribute> attribute =
        object.has_attribute(name) ? object.open_attribute(name) : std::nullopt;
    return attribute ? attribute->read<T>() : std::nullopt;
  }

  static std::string shape_text(const std::vector<hsize_t>& dims) {
    std::string text = "(";
    for (std::size_t i = 0; i < dims.size(); ++i)
      text += (i ? " × " : "") + std::to_string(dims[i]);
    return text + ")";
  }

  std::vector<std::string> strings(const Object& object, const std::string& object_path,
                                   const std::string& name, bool scalar) const {
    const std::optional<Attribute> attribute =
        object.has_attribute(name) ? object.open_attribute(name) : std::nullopt;
    if (!attribute) throw error("has no attribute " + name + " on " + object_path);
    const std::optional<Shape> shape = attribute->shape();
    if (!shape || shape->type_class != H5T_STRING || shape->dims.size() != (scalar ? 0u : 1u)) {
      throw error("has attribute " + name + " on " + object_path + " that is not " +
                  (scalar ? "a string" : "a 1-D array of strings"));
    }
    auto values = attribute->read_strings();
    if (!values || (scalar && values->size() != 1)) {
      throw error("cannot read attribute " + name + " of " + object_path);
    }
    return *values;
  }

  std::string directory_, file_;
};

std::string segments_file_of(const std::string& directory) {
  return (fs::path(directory) / "segments.h5").string();
}

// /model/scaling and /model/transform: the features and how the run made them.
void read_scaling(const RunFile& run, const File& file, RunModel& model) {
  const Group scaling = run.group(file, "/model/scaling");
  model.feature_names = run.string_array_attribute(scaling, "/model/scaling", "feature_names");
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  try {
    model.scaling.kind = parse_scale_kind(run.string_attribute(scaling, "/model/scaling", "kind"));
  } catch (const InputError& e) {
    throw run.error(std::string("has an invalid /model/scaling kind: ") + e.what());
  }
  const auto log1p = run.read<std::int8_t>(file, "/model/scaling/log1p", {d});
  model.scaling.log1p.assign(log1p.begin(), log1p.end());
  model.scaling.offset = run.read<double>(file, "/model/scaling/offset", {d});
  model.scaling.scale = run.read<double>(file, "/model/scaling/scale", {d});
  model.transform = read_feature_transform(file, model.feature_names,
                                           "run '" + model.directory + "': '" + model.file + "'");
}

// Stable ids are distinct, below the counter and never retired, as a later run relies on all
// three.
bool consistent(const SegmentIdentity& identity) {
  const std::set<std::int64_t> distinct(identity.ids.begin(), identity.ids.end());
  const std::set<std::int64_t> retired(identity.retired_ids.begin(), identity.retired_ids.end());
  bool ok = distinct.size() == identity.ids.size();
  for (std::int64_t id : identity.ids) {
    ok = ok && id >= 0 && id < identity.next_id && retired.count(id) == 0;
  }
  return ok;
}

// /centroids/scaled and the segments' stable ids: distinct, below the counter and never
// retired, as a later run relies on all three.
void read_segments(const RunFile& run, const File& file, const Group& model_group,
                   RunModel& model) {
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  const std::vector<hsize_t> centroid_dims = run.dims_of(file, "/centroids/scaled");
  if (centroid_dims.size() != 2 || centroid_dims[1] != d || centroid_dims[0] == 0) {
    throw run.error("has /centroids/scaled that is not k × " + std::to_string(d));
  }
  const hsize_t k = centroid_dims[0];
  const auto flat = run.read<double>(file, "/centroids/scaled", {k, d});
  model.centroids = Eigen::Map<const CentroidMatrix>(flat.data(), static_cast<Eigen::Index>(k),
                                                     static_cast<Eigen::Index>(d));
  SegmentIdentity& identity = model.identity;
  identity.ids = run.read<std::int64_t>(file, "/model/segment_ids", {k});
  identity.next_id = run.integer_attribute(model_group, "/model", "next_segment_id");
  const std::vector<hsize_t> retired_dims = run.dims_of(file, "/model/retired_segment_ids");
  if (retired_dims.size() != 1) throw run.error("has /model/retired_segment_ids that is not 1-D");
  identity.retired_ids = run.read<std::int64_t>(file, "/model/retired_segment_ids", retired_dims);
  if (!consistent(identity)) {
    throw run.error(
        "has inconsistent /model/segment_ids (ids must be distinct, below next_segment_id and not "
        "retired)");
  }
}

// /model/macro of a two-level run: the macro centroids and ids, and each micro row's macro id.
void read_macro(const RunFile& run, const File& file, RunModel& model) {
  if (!file.has_link("/model/macro")) return;
  const Group macro_group = run.group(file, "/model/macro");
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  const std::vector<hsize_t> dims = run.dims_of(file, "/model/macro/centroids");
  if (dims.size() != 2 || dims[1] != d || dims[0] == 0) {
    throw run.error("has /model/macro/centroids that is not macro_k × " + std::to_string(d));
  }
  MacroModel macro;
  const auto flat = run.read<double>(file, "/model/macro/centroids", dims);
  macro.centroids = Eigen::Map<const CentroidMatrix>(
      flat.data(), static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(d));
  macro.identity.ids = run.read<std::int64_t>(file, "/model/macro/segment_ids", {dims[0]});
  macro.identity.next_id = run.integer_attribute(macro_group, "/model/macro", "next_segment_id");
  const std::vector<hsize_t> retired = run.dims_of(file, "/model/macro/retired_segment_ids");
  macro.identity.retired_ids =
      run.read<std::int64_t>(file, "/model/macro/retired_segment_ids", retired);
  if (retired.size() != 1 || !consistent(macro.identity)) {
    throw run.error(
        "has inconsistent /model/macro/segment_ids (ids must be distinct, below the "
        "next_segment_id of /model/macro and not retired)");
  }
  macro.macro_of_segment =
      run.read<std::int64_t>(file, "/model/macro_of_segment", {static_cast<hsize_t>(model.k())});
  for (std::int64_t id : macro.macro_of_segment) {
    if (macro.identity.row_of(id) < 0) {
      throw run.error("has /model/macro_of_segment naming macro segment " + std::to_string(id) +
                      ", which is not among /model/macro/segment_ids");
    }
  }
  // Not the hint of a run written before stable ids: a two-level run writes both groups.
  if (!file.has_link("/macro/quality")) {
    throw run.error("has /model/macro but no group /macro/quality (a two-level run writes both)");
  }
  const double inertia =
      run.real_attribute(run.group(file, "/macro/quality"), "/macro/quality", "inertia");
  if (!(inertia >= 0)) throw run.error("has a /macro/quality inertia that is not a number ≥ 0");
  macro.customer_spread = std::sqrt(inertia / static_cast<double>(model.customers));
  model.macro = std::move(macro);
}

// Sizes and values per segment, the customers of /assignments and their spread (/quality).
void read_population(const RunFile& run, const File& file, const Group& model_group,
                     RunModel& model) {
  const auto k = static_cast<hsize_t>(model.k());
  model.sizes = run.read<std::int64_t>(file, "/profiles/size", {k});
  model.value_feature = run.string_attribute(model_group, "/model", "value_feature");
  if (!model.value_feature.empty()) {
    model.value_total = run.read<double>(file, "/profiles/value_total", {k});
    model.value_mean = run.read<double>(file, "/profiles/value_mean", {k});
  }
  const std::vector<hsize_t> assignment_dims = run.dims_of(file, "/assignments/id");
  if (assignment_dims.size() != 1) throw run.error("has /assignments/id that is not 1-D");
  model.customers = static_cast<std::int64_t>(assignment_dims[0]);
  model.assignments_have_value = file.has_link("/assignments/value");
  const Group quality = run.group(file, "/quality");
  const double inertia = run.real_attribute(quality, "/quality", "inertia");
  if (!(inertia >= 0) || model.customers == 0) {
    throw run.error("has a /quality inertia that is not a number ≥ 0");
  }
  model.customer_spread = std::sqrt(inertia / static_cast<double>(model.customers));
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
    if (macro) {
      reordered.macro->centroids.col(static_cast<Eigen::Index>(j)) =
          macro->centroids.col(static_cast<Eigen::Index>(from));
    }
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
  const std::optional<File> file = File::open(model.file, FileAccess::shared_lock());
  if (!file) throw run.error("is not a readable HDF5 file" + with_hdf5_detail());
  const Group model_group = run.group(*file, "/model");
  read_scaling(run, *file, model);
  read_segments(run, *file, model_group, model);
  read_population(run, *file, model_group, model);
  read_macro(run, *file, model);
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
    const std::optional<File> file = File::open(model.file, FileAccess::mpi_io(comm));
    // Every rank opens the same file, so a failure here strikes every rank alike.
    if (!file) throw run.error("cannot be opened for reading" + with_hdf5_detail());
    const auto total = static_cast<hsize_t>(model.customers);
    RowReader reader(rows, false);
    const auto read_rows = [&](const std::string& path, auto* buffer) {
      const Dataset dataset = run.dataset(*file, path);
      if (RunFile::dims(dataset) != std::vector<hsize_t>{total}) {
        throw run.error("has " + path + " of another length than /assignments/id");
      }
      if (reader.read_column(dataset, buffer, {1, 0}) == RowRead::failed && !error) {
        error = "run '" + model.directory + "': cannot read rows " + std::to_string(rows.begin) +
                " to " + std::to_string(rows.end - 1) + " of " + path + " in '" + model.file + "'" +
                with_hdf5_detail();
      }
    };
    read_rows("/assignments/id", ids.data());
    read_rows("/assignments/segment", segments.data());
    read_rows("/assignments/distance", distances.data());
    if (model.assignments_have_value) {
      read_rows("/assignments/value", values.data());
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
