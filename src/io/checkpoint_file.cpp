#include "microseg/io/checkpoint_file.hpp"

#include <filesystem>

#include "hdf5_object.hpp"
#include "output_file.hpp"

namespace microseg::io {
namespace {

using namespace detail;

constexpr std::int64_t kFormatVersion = 1;

void write_matrix(const OutputGroup& root, const std::string& name, const CentroidMatrix& matrix) {
  // An empty matrix (no finished restart yet) has no data to write.
  root.write(name, matrix.data(),
             {static_cast<hsize_t>(matrix.rows()), static_cast<hsize_t>(matrix.cols())});
}

// A two-level run's finished micro fits: their centroids one below the other, each fit's row
// count, iterations, convergence and inertia.
void write_micro_fits(const OutputGroup& root, const std::vector<LloydOutcome>& fits,
                      const FitCheckpoint& macro) {
  const Eigen::Index d = macro.centroids.cols();
  std::vector<std::int64_t> rows, iterations, converged;
  std::vector<double> inertia;
  Eigen::Index total = 0;
  for (const LloydOutcome& fit : fits) total += fit.centroids.rows();
  CentroidMatrix centroids(total, d);
  Eigen::Index at = 0;
  for (const LloydOutcome& fit : fits) {
    centroids.middleRows(at, fit.centroids.rows()) = fit.centroids;
    at += fit.centroids.rows();
    rows.push_back(fit.centroids.rows());
    iterations.push_back(fit.iterations);
    converged.push_back(fit.converged);
    inertia.push_back(fit.inertia);
  }
  root.attribute("finished_macro_segments", static_cast<std::int64_t>(fits.size()));
  write_matrix(root, "micro_centroids", centroids);
  root.write("micro_rows", rows);
  root.write("micro_iterations", iterations);
  root.write("micro_converged", converged);
  root.write("micro_inertia", inertia);
}

void write_record(const OutputGroup& root, const CheckpointRecord& record) {
  const FitCheckpoint& fit = record.fit;
  root.attribute("format_version", kFormatVersion);
  root.attribute("configuration_fingerprint", record.configuration_fingerprint);
  root.attribute("input_fingerprint", record.input_fingerprint);
  root.attribute("restart", std::int64_t{fit.restart});
  root.attribute("iteration", std::int64_t{fit.iteration});
  root.attribute("best_restart", std::int64_t{fit.best_restart});
  root.attribute("best_iterations", std::int64_t{fit.best_model.iterations});
  root.attribute("best_converged", std::int64_t{fit.best_model.converged});
  root.attribute("best_inertia", fit.best_model.inertia);
  write_matrix(root, "centroids", fit.centroids);
  write_matrix(root, "initial", fit.initial);
  write_matrix(root, "best_centroids", fit.best_model.centroids);
  write_matrix(root, "best_initial", fit.best_initial);
  root.write("restart_inertias", fit.restart_inertias);
  if (record.finished_micro_fits) write_micro_fits(root, *record.finished_micro_fits, fit);
}

// Reads the parts of one checkpoint file, naming it in every message.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path) : path_(path), file_(open(path)) {}

  template <class T>
  T number(const std::string& name) const {
    const std::optional<Attribute> attribute = file_.open_attribute(name);
    const std::optional<T> value = attribute ? attribute->read<T>() : std::nullopt;
    if (!value) throw InputError("checkpoint '" + path_ + "' lacks attribute " + name);
    return *value;
  }

  std::string text(const std::string& name) const {
    const std::optional<Attribute> attribute = file_.open_attribute(name);
    if (!attribute) throw InputError("checkpoint '" + path_ + "' lacks attribute " + name);
    const auto values = attribute->read_strings();
    if (!values || values->size() != 1) {
      throw InputError("checkpoint '" + path_ + "': cannot read attribute " + name);
    }
    return values->front();
  }

  CentroidMatrix matrix(const std::string& name) const {
    const std::optional<Dataset> dataset = file_.open_dataset(name);
    if (!dataset) throw InputError("checkpoint '" + path_ + "' has no dataset " + name);
    const std::optional<Shape> shape = dataset->shape();
    if (!shape || shape->dims.size() != 2) {
      throw InputError("checkpoint '" + path_ + "': " + name + " is not 2-D");
    }
    CentroidMatrix matrix(static_cast<Eigen::Index>(shape->dims[0]),
                          static_cast<Eigen::Index>(shape->dims[1]));
    if (matrix.size() > 0 && !dataset->read(matrix.data())) {
      throw InputError("checkpoint '" + path_ + "': cannot read " + name);
    }
    return matrix;
  }

  template <class T>
  std::vector<T> vector(const std::string& name) const {
    const std::optional<Dataset> dataset = file_.open_dataset(name);
    if (!dataset) throw InputError("checkpoint '" + path_ + "' has no " + name);
    auto values = dataset->read_all<T>();
    if (!values) throw InputError("checkpoint '" + path_ + "': cannot read " + name);
    return *values;
  }

  bool has_attribute(const std::string& name) const { return file_.has_attribute(name); }

  // A two-level run's finished micro fits (write_micro_fits).
  std::vector<LloydOutcome> micro_fits() const {
    const auto count = number<std::int64_t>("finished_macro_segments");
    const CentroidMatrix centroids = matrix("micro_centroids");
    const auto rows = vector<std::int64_t>("micro_rows");
    const auto iterations = vector<std::int64_t>("micro_iterations");
    const auto converged = vector<std::int64_t>("micro_converged");
    const auto inertia = vector<double>("micro_inertia");
    const auto n = static_cast<std::size_t>(count);
    bool valid = count >= 0 && rows.size() == n && iterations.size() == n &&
                 converged.size() == n && inertia.size() == n;
    std::int64_t total = 0;
    for (std::int64_t r : rows) {
      valid = valid && r >= 0;
      total += r;
    }
    if (!valid || total != centroids.rows()) {
      throw InputError("checkpoint '" + path_ + "': its micro fits do not add up (damaged file)");
    }
    std::vector<LloydOutcome> fits(n);
    Eigen::Index at = 0;
    for (std::size_t m = 0; m < n; ++m) {
      fits[m].centroids = centroids.middleRows(at, static_cast<Eigen::Index>(rows[m]));
      at += static_cast<Eigen::Index>(rows[m]);
      fits[m].iterations = static_cast<int>(iterations[m]);
      fits[m].converged = converged[m] != 0;
      fits[m].inertia = inertia[m];
    }
    return fits;
  }

 private:
  static File open(const std::string& path) {
    std::optional<File> file = File::open(path, FileAccess::plain());
    if (!file) throw InputError("checkpoint '" + path + "' is not a readable HDF5 file");
    return std::move(*file);
  }

  std::string path_;
  File file_;
};

}  // namespace

void write_checkpoint(const std::string& path, MPI_Comm comm, const CheckpointRecord& record) {
  const distributed::Communicator communicator(comm);
  SilenceHdf5Errors quiet;
  PendingOutputs outputs(communicator);
  const std::string temporary = outputs.add(path);
  std::optional<std::string> error;
  {
    OutputFile file(outputs, temporary, path);
    write_record(file.root(), record);
    if (file.finish()) error = "cannot write checkpoint '" + path + "'" + file.error_detail();
  }
  outputs.commit(error, "checkpoint");
}

CheckpointRecord read_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError("checkpoint '" + path + "' does not exist");
  }
  SilenceHdf5Errors quiet;
  const CheckpointReader r(path);
  if (r.number<std::int64_t>("format_version") != kFormatVersion) {
    throw InputError("checkpoint '" + path + "' has an unknown format version");
  }
  CheckpointRecord record;
  record.configuration_fingerprint = r.text("configuration_fingerprint");
  record.input_fingerprint = r.text("input_fingerprint");
  FitCheckpoint& fit = record.fit;
  fit.restart = static_cast<int>(r.number<std::int64_t>("restart"));
  fit.iteration = static_cast<int>(r.number<std::int64_t>("iteration"));
  fit.best_restart = static_cast<int>(r.number<std::int64_t>("best_restart"));
  fit.best_model.iterations = static_cast<int>(r.number<std::int64_t>("best_iterations"));
  fit.best_model.converged = r.number<std::int64_t>("best_converged") != 0;
  fit.best_model.inertia = r.number<double>("best_inertia");
  fit.centroids = r.matrix("centroids");
  fit.initial = r.matrix("initial");
  fit.best_model.centroids = r.matrix("best_centroids");
  fit.best_initial = r.matrix("best_initial");
  fit.restart_inertias = r.vector<double>("restart_inertias");
  if (r.has_attribute("finished_macro_segments")) record.finished_micro_fits = r.micro_fits();
  return record;
}

}  // namespace microseg::io
