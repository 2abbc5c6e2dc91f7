#include "microseg/io/sweep_file.hpp"

#include "microseg/core/number_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <variant>

#include "hdf5_object.hpp"
#include "microseg/distributed/communicator.hpp"
#include "output_file.hpp"

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

// A sweep file is written by one process alone, so a failed write throws at once, naming the
// dataset and the file.
Dataset write_dataset(const OutputGroup& parent, const std::string& name, ElementTypes types,
                      const std::vector<hsize_t>& dims, const void* data) {
  Dataset dataset = parent.group().create_dataset(name, types.file, dims, Layout::contiguous);
  hsize_t count = 1;
  for (hsize_t extent : dims) count *= extent;
  if (count > 0 && !dataset.write(types.memory, data)) {
    throw InputError("cannot write dataset " + name + " of output file '" +
                     *parent.group().file_name() + "'" + with_hdf5_detail());
  }
  return dataset;
}
Dataset write_doubles(const OutputGroup& parent, const std::string& name,
                      const std::vector<hsize_t>& dims, const double* data) {
  return write_dataset(parent, name, ElementTypes::of<double>(), dims, data);
}
void write_integers(const OutputGroup& parent, const std::string& name,
                    const std::vector<std::int64_t>& values) {
  write_dataset(parent, name, ElementTypes::of<std::int64_t>(), {values.size()}, values.data());
}

// Writes `path` under a temporary name with `write` (given the root group) and renames it into
// place; one process, plain HDF5. `outputs` may hold other files of the same commit.
template <class Write>
void write_file(PendingOutputs& outputs, const std::string& path, Write&& write) {
  const std::string temporary = outputs.add(path);
  OutputFile file(outputs, temporary, path, OutputFile::Driver::plain);
  write(file.root());
  if (!file.close()) {
    throw InputError("cannot write output file '" + path + "'" + with_hdf5_detail());
  }
}

// The packed compound type of /sweep: file (little-endian) or memory (native, SweepRow layout).
Datatype row_type(bool in_file) {
  std::vector<CompoundMember> members;
  std::size_t packed = 0;
  for (const Column& c : table_columns()) {
    const ElementTypes types =
        c.integer ? ElementTypes::of<std::int64_t>() : ElementTypes::of<double>();
    const hid_t member = in_file ? types.file : types.memory;
    members.push_back({c.name, in_file ? packed : c.offset, member});
    packed += 8;
  }
  return Datatype::compound(in_file ? table_columns().size() * 8 : sizeof(SweepRow), members);
}

void write_csv(const PendingFile& file, const std::vector<SweepRow>& rows,
               const PendingOutputs& outputs) {
  TextOutput text(outputs, file);
  std::ostream& out = text.out();
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
  text.close();
}

std::optional<std::string> model_problem(const SweepModel& model) {
  const auto k = static_cast<hsize_t>(model.centroids.rows());
  const auto d = static_cast<hsize_t>(model.centroids.cols());
  const auto restarts = static_cast<hsize_t>(model.restart_inertia.size());
  if (k != static_cast<hsize_t>(model.row.k) || d != model.feature_names.size() ||
      model.segment_sizes.size() != k || model.silhouette_sample_sizes.size() != k ||
      model.scaling.offset.size() != d || model.scaling.scale.size() != d ||
      model.scaling.log1p.size() != d || model.restart_iterations.size() != restarts ||
      model.restart_converged.size() != restarts ||
      model.restart_centroids.size() != restarts * k * d) {
    return "sweep model of k = " + std::to_string(model.row.k) +
           ": its parts do not match k × d = " + std::to_string(k) + " × " + std::to_string(d);
  }
  if (const auto& macro = model.macro) {
    const auto m = static_cast<std::size_t>(macro->macro_k());
    std::int64_t micro_k = 0;
    for (std::int64_t count : macro->micro_k) micro_k += count;
    if (m == 0 || static_cast<hsize_t>(macro->centroids.cols()) != d ||
        macro->micro_k.size() != m || macro->size.size() != m ||
        macro->micro_best_restart.size() != m || macro->micro_iterations.size() != m ||
        macro->micro_converged.size() != m || micro_k != model.row.k) {
      return "sweep model of k = " + std::to_string(model.row.k) +
             ": its macro level does not match " + std::to_string(m) + " macro segments of " +
             std::to_string(model.row.k) + " micro-segments in all";
    }
  }
  return std::nullopt;
}

// /macro of a two-level model: the shared macro fit and the share of k of each macro segment.
void write_macro_level(const OutputGroup& root, const SweepMacroLevel& macro,
                       const std::vector<std::string>& feature_names) {
  const OutputGroup group = root.create_group("macro");
  group.attribute("macro_k", macro.macro_k());
  group.attribute("micro_k_rule", macro.micro_k_rule);
  group.attribute("best_restart", macro.best_restart);
  group.attribute("iterations", macro.iterations);
  group.attribute("converged", macro.converged);
  write_doubles(
      group, "centroids",
      {static_cast<hsize_t>(macro.centroids.rows()), static_cast<hsize_t>(macro.centroids.cols())},
      macro.centroids.data())
      .write_attribute("feature_names", feature_names);
  write_integers(group, "micro_k", macro.micro_k);
  write_integers(group, "size", macro.size);
  write_integers(group, "micro_best_restart", macro.micro_best_restart);
  write_integers(group, "micro_iterations", macro.micro_iterations);
  write_integers(group, "micro_converged", macro.micro_converged);
}

// The root attributes and /metrics: the model's row of the table.
void write_model_row(const OutputGroup& root, const SweepModel& model) {
  root.attribute("format", std::string(model_format));
  root.attribute("k", model.row.k);
  root.attribute("best_restart", model.best_restart);
  root.attribute("iterations", model.iterations);
  root.attribute("converged", model.converged);
  root.attribute("seconds", model.seconds);
  root.attribute("version_microseg", std::string(MICROSEG_VERSION));
  const OutputGroup metrics = root.create_group("metrics");
  SweepRow row = model.row;
  for (const Column& c : table_columns()) {
    if (c.name == std::string("k")) continue;
    if (c.integer) {
      metrics.attribute(c.name, integer_field(row, c));
    } else {
      metrics.attribute(c.name, real_field(row, c));
    }
  }
}

// /centroids, /scaling, /segments, /restarts and /settings.
void write_model_parts(const OutputGroup& root, const SweepModel& model) {
  const auto k = static_cast<hsize_t>(model.centroids.rows());
  const auto d = static_cast<hsize_t>(model.centroids.cols());
  const auto restarts = static_cast<hsize_t>(model.restart_inertia.size());
  write_doubles(root, "centroids", {k, d}, model.centroids.data())
      .write_attribute("feature_names", model.feature_names);
  {
    const OutputGroup scaling = root.create_group("scaling");
    scaling.attribute("kind", to_string(model.scaling.kind));
    scaling.attribute("feature_names", model.feature_names);
    write_doubles(scaling, "offset", {d}, model.scaling.offset.data());
    write_doubles(scaling, "scale", {d}, model.scaling.scale.data());
    const std::vector<std::int64_t> log1p(model.scaling.log1p.begin(), model.scaling.log1p.end());
    write_integers(scaling, "log1p", log1p);
  }
  {
    const OutputGroup segments = root.create_group("segments");
    write_integers(segments, "size", model.segment_sizes);
    write_integers(segments, "silhouette_sample_size", model.silhouette_sample_sizes);
  }
  {
    const OutputGroup group = root.create_group("restarts");
    write_doubles(group, "inertia", {restarts}, model.restart_inertia.data());
    write_integers(group, "iterations", model.restart_iterations);
    write_integers(group, "converged", model.restart_converged);
    write_doubles(group, "centroids", {restarts, k, d}, model.restart_centroids.data());
  }
  root.create_group("settings").attributes(model.settings);
  if (model.macro) write_macro_level(root, *model.macro, model.feature_names);
}

void write_table_file(const OutputGroup& root, const SweepTable& table) {
  root.attribute("format", std::string(table_format));
  root.attribute("recommended_k", table.recommendation.k);
  root.attribute("recommended_reason", table.recommendation.reason);
  root.attribute("runner_up_k", table.recommendation.runner_up_k);
  root.attribute("runner_up_reason", table.recommendation.runner_up_reason);
  root.attribute("recommendation_rule", table.rule);
  root.attribute("input_content_digest", table.content_digest);
  if (table.macro_k > 0) {  // two-level sweeps only: flat tables stay as they were
    root.attribute("macro_k", table.macro_k);
    root.attribute("level", std::string("micro"));
  }
  root.attribute("version_microseg", std::string(MICROSEG_VERSION));
  const Datatype file_type = row_type(true), memory_type = row_type(false);
  write_dataset(root, "sweep", {file_type.id(), memory_type.id()}, {table.rows.size()},
                table.rows.data());
  root.create_group("settings").attributes(table.settings);
}

// --- reading -------------------------------------------------------------------------------

// Reads datasets and attributes of one file, naming it and the object in every error.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)), file_(open(path_)) {}
  const File& file() const { return file_; }

  InputError error(const std::string& what) const { return InputError("'" + path_ + "': " + what); }

  Group group(const std::string& name) const {
    std::optional<Group> group = exists(name) ? file_.open_group(name) : std::nullopt;
    if (!group) throw error("has no group " + name);
    return std::move(*group);
  }

  // A whole dataset under the root (path without a nested missing group) of the given shape.
  template <class T>
  std::vector<T> read(const std::string& name, const std::vector<hsize_t>& expected,
                      hid_t memory_type = Stored<T>::memory()) const {
    const Dataset data = dataset(name);
    const std::optional<Shape> shape = data.shape();
    if (!shape || shape->dims != expected) {
      throw error("dataset " + name + " has an unexpected shape");
    }
    std::vector<T> values(shape->elements());
    if (!values.empty() && !data.read(memory_type, values.data())) {
      throw error("cannot read dataset " + name + with_hdf5_detail());
    }
    return values;
  }

  // The first extent of a dataset (its length).
  hsize_t length(const std::string& name) const {
    const std::optional<Shape> shape = dataset(name).shape();
    return shape && !shape->dims.empty() ? shape->dims[0] : 0;
  }

  AttributeValue attribute(const Object& object, const std::string& object_name,
                           const std::string& name) const {
    const std::optional<Attribute> attribute =
        object.has_attribute(name) ? object.open_attribute(name) : std::nullopt;
    if (!attribute) throw error("has no attribute " + name + " on " + object_name);
    if (std::optional<AttributeValue> value = typed_value(*attribute)) return *value;
    throw error("cannot read " + object_name + " attribute " + name +
                " as an integer, a number or a string");
  }
  std::int64_t integer(const Object& object, const std::string& object_name,
                       const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<std::int64_t>(value)) {
      throw error(object_name + " attribute " + name + " is not an integer");
    }
    return std::get<std::int64_t>(value);
  }
  double real(const Object& object, const std::string& object_name, const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<double>(value)) {
      throw error(object_name + " attribute " + name + " is not a number");
    }
    return std::get<double>(value);
  }
  std::string text(const Object& object, const std::string& object_name,
                   const std::string& name) const {
    const AttributeValue value = attribute(object, object_name, name);
    if (!std::holds_alternative<std::string>(value)) {
      throw error(object_name + " attribute " + name + " is not a string");
    }
    return std::get<std::string>(value);
  }

  // A 1-D string attribute (feature_names).
  std::vector<std::string> strings(const Object& object, const std::string& object_name,
                                   const std::string& name) const {
    const std::optional<Attribute> attribute =
        object.has_attribute(name) ? object.open_attribute(name) : std::nullopt;
    if (!attribute) throw error("has no attribute " + name + " on " + object_name);
    auto values = attribute->read_strings();
    if (!values) {
      throw error("cannot read " + object_name + " attribute " + name + with_hdf5_detail());
    }
    return *values;
  }

  // Every attribute of `object` (the settings), by name.
  RunAttributes all_attributes(const Object& object, const std::string& object_name) const {
    RunAttributes values;
    for (const auto& name : object.attribute_names()) {
      values.emplace_back(name, attribute(object, object_name, name));
    }
    return values;
  }

  bool exists(const std::string& name) const { return file_.has_link(name); }

 private:
  static File open(const std::string& path) {
    if (!fs::is_regular_file(path)) throw InputError("'" + path + "' does not exist");
    std::optional<File> file = File::open(path, FileAccess::plain());
    if (!file) throw InputError("'" + path + "' is not a readable HDF5 file");
    return std::move(*file);
  }

  Dataset dataset(const std::string& name) const {
    std::optional<Dataset> dataset = exists(name) ? file_.open_dataset(name) : std::nullopt;
    if (!dataset) throw error("has no dataset " + name);
    return std::move(*dataset);
  }

  // An integer, a number or a string, as the attribute's class says.
  static std::optional<AttributeValue> typed_value(const Attribute& attribute) {
    const std::optional<Shape> shape = attribute.shape();
    if (!shape) return std::nullopt;
    if (shape->type_class == H5T_INTEGER) return attribute.read<std::int64_t>();
    if (shape->type_class == H5T_FLOAT) return attribute.read<double>();
    if (shape->type_class != H5T_STRING) return std::nullopt;
    const auto texts = attribute.read_strings();
    if (!texts || texts->size() != 1) return std::nullopt;
    return texts->front();
  }

  std::string path_;
  File file_;
};

// /centroids, /scaling, /segments and /restarts of a model of k = model.row.k.
void read_model_parts(const Reader& r, SweepModel& model) {
  const auto k = static_cast<hsize_t>(model.row.k);
  {
    std::optional<Dataset> centroids =
        r.exists("centroids") ? r.file().open_dataset("centroids") : std::nullopt;
    if (!centroids) throw r.error("has no dataset /centroids");
    model.feature_names = r.strings(*centroids, "/centroids", "feature_names");
  }
  const auto d = static_cast<hsize_t>(model.feature_names.size());
  const std::vector<double> centroids = r.read<double>("centroids", {k, d});
  model.centroids = Eigen::Map<const CentroidMatrix>(centroids.data(), static_cast<Eigen::Index>(k),
                                                     static_cast<Eigen::Index>(d));
  const Group scaling = r.group("scaling");
  try {
    model.scaling.kind = parse_scale_kind(r.text(scaling, "/scaling", "kind"));
  } catch (const InputError& e) {
    throw r.error(std::string("/scaling attribute kind: ") + e.what());
  }
  model.scaling.offset = r.read<double>("scaling/offset", {d});
  model.scaling.scale = r.read<double>("scaling/scale", {d});
  for (std::int64_t flag : r.read<std::int64_t>("scaling/log1p", {d})) {
    model.scaling.log1p.push_back(static_cast<char>(flag != 0));
  }
  model.segment_sizes = r.read<std::int64_t>("segments/size", {k});
  model.silhouette_sample_sizes = r.read<std::int64_t>("segments/silhouette_sample_size", {k});
  const hsize_t restarts = r.length("restarts/inertia");
  model.restart_inertia = r.read<double>("restarts/inertia", {restarts});
  model.restart_iterations = r.read<std::int64_t>("restarts/iterations", {restarts});
  model.restart_converged = r.read<std::int64_t>("restarts/converged", {restarts});
  model.restart_centroids = r.read<double>("restarts/centroids", {restarts, k, d});
}

// /macro of a two-level model (d features).
SweepMacroLevel read_macro_level(const Reader& r, hsize_t d) {
  const Group group = r.group("macro");
  SweepMacroLevel macro;
  const std::int64_t m = r.integer(group, "/macro", "macro_k");
  if (m < 1) throw r.error("/macro attribute macro_k is " + std::to_string(m));
  const auto macro_k = static_cast<hsize_t>(m);
  macro.micro_k_rule = r.text(group, "/macro", "micro_k_rule");
  macro.best_restart = r.integer(group, "/macro", "best_restart");
  macro.iterations = r.integer(group, "/macro", "iterations");
  macro.converged = r.integer(group, "/macro", "converged");
  const std::vector<double> centroids = r.read<double>("macro/centroids", {macro_k, d});
  macro.centroids = Eigen::Map<const CentroidMatrix>(
      centroids.data(), static_cast<Eigen::Index>(macro_k), static_cast<Eigen::Index>(d));
  macro.micro_k = r.read<std::int64_t>("macro/micro_k", {macro_k});
  macro.size = r.read<std::int64_t>("macro/size", {macro_k});
  macro.micro_best_restart = r.read<std::int64_t>("macro/micro_best_restart", {macro_k});
  macro.micro_iterations = r.read<std::int64_t>("macro/micro_iterations", {macro_k});
  macro.micro_converged = r.read<std::int64_t>("macro/micro_converged", {macro_k});
  return macro;
}

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
  if (const std::optional<std::string> problem = model_problem(model)) throw InputError(*problem);
  const distributed::Communicator self(MPI_COMM_SELF);
  PendingOutputs outputs(self);
  std::optional<std::string> error;
  try {
    write_file(outputs, path, [&](const OutputGroup& root) {
      write_model_row(root, model);
      write_model_parts(root, model);
    });
  } catch (const std::exception& e) {
    error = e.what();
  }
  outputs.commit(error);
}

SweepModel read_sweep_model(const std::string& path) {
  SilenceHdf5Errors silence;
  const Reader r(path);
  const File& root = r.file();
  if (!root.has_attribute("format") || r.text(root, "/", "format") != model_format) {
    throw r.error("is not a microseg sweep model (root attribute format is not '" +
                  std::string(model_format) + "')");
  }
  SweepModel model;
  model.row.k = r.integer(root, "/", "k");
  model.best_restart = r.integer(root, "/", "best_restart");
  model.iterations = r.integer(root, "/", "iterations");
  model.converged = r.integer(root, "/", "converged");
  model.seconds = r.real(root, "/", "seconds");
  const Group metrics = r.group("metrics");
  for (const Column& c : table_columns()) {
    if (c.name == std::string("k")) continue;
    if (c.integer) {
      integer_field(model.row, c) = r.integer(metrics, "/metrics", c.name);
    } else {
      real_field(model.row, c) = r.real(metrics, "/metrics", c.name);
    }
  }
  if (model.row.k < 1) throw r.error("root attribute k is " + std::to_string(model.row.k));
  read_model_parts(r, model);
  model.settings = r.all_attributes(r.group("settings"), "/settings");
  if (r.exists("macro")) {
    model.macro = read_macro_level(r, static_cast<hsize_t>(model.feature_names.size()));
    if (const std::optional<std::string> problem = model_problem(model)) throw r.error(*problem);
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
  const PendingFile csv{csv_path, outputs.add(csv_path)};
  std::optional<std::string> error;
  try {
    write_csv(csv, table.rows, outputs);
    write_file(outputs, h5_path, [&](const OutputGroup& root) { write_table_file(root, table); });
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
  const File& root = r.file();
  if (!root.has_attribute("format") || r.text(root, "/", "format") != table_format) {
    throw r.error("is not a microseg sweep table (root attribute format is not '" +
                  std::string(table_format) + "')");
  }
  SweepTable table;
  table.recommendation.k = r.integer(root, "/", "recommended_k");
  table.recommendation.reason = r.text(root, "/", "recommended_reason");
  table.recommendation.runner_up_k = r.integer(root, "/", "runner_up_k");
  table.recommendation.runner_up_reason = r.text(root, "/", "runner_up_reason");
  table.rule = r.text(root, "/", "recommendation_rule");
  if (root.has_attribute("input_content_digest")) {
    table.content_digest = r.text(root, "/", "input_content_digest");
  }
  if (root.has_attribute("macro_k")) table.macro_k = r.integer(root, "/", "macro_k");
  const Datatype memory_type = row_type(false);
  table.rows = r.read<SweepRow>("sweep", {r.length("sweep")}, memory_type.id());
  table.settings = r.all_attributes(r.group("settings"), "/settings");
  return table;
}

}  // namespace microseg::io
