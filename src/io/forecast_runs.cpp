#include "microseg/io/forecast_runs.hpp"

#include <cmath>
#include <filesystem>

#include "hdf5_object.hpp"
#include "hdf5_rows.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

InputError run_error(const ChainRun& run, const std::string& what) {
  return InputError("run '" + run.directory + "': '" + run.file + "' " + what);
}

Dataset open_dataset(const ChainRun& run, const File& file, const std::string& path) {
  std::optional<Dataset> dataset =
      file.has_path(path) ? file.open_dataset(path) : std::optional<Dataset>();
  if (!dataset) throw run_error(run, "has no dataset " + path);
  return std::move(*dataset);
}

std::vector<hsize_t> dims_of(const Dataset& dataset) {
  const std::optional<Shape> shape = dataset.shape();
  return shape ? shape->dims : std::vector<hsize_t>{};
}

template <class T>
std::vector<T> read_vector(const ChainRun& run, const File& file, const std::string& path) {
  const Dataset dataset = open_dataset(run, file, path);
  if (dims_of(dataset).size() != 1) throw run_error(run, "has " + path + " that is not 1-D");
  std::optional<std::vector<T>> values = dataset.read_all<T>();
  if (!values) throw run_error(run, "cannot be read at " + path + with_hdf5_detail());
  return std::move(*values);
}

std::vector<std::int64_t> id_labels(const ChainRun& run, const Dataset& counts,
                                    const std::string& name, std::size_t expected) {
  std::optional<Attribute> attribute =
      counts.has_attribute(name) ? counts.open_attribute(name) : std::nullopt;
  std::optional<std::vector<std::int64_t>> ids =
      attribute ? attribute->read_all<std::int64_t>() : std::nullopt;
  if (!ids || ids->size() != expected || ids->back() != -1) {
    throw run_error(run, "has /migration/counts without a readable attribute " + name + " of " +
                             std::to_string(expected) + " ids ending in -1");
  }
  ids->pop_back();
  return std::move(*ids);
}

MigrationLink read_link(const ChainRun& run, const File& file) {
  const Dataset counts = open_dataset(run, file, "/migration/counts");
  const std::vector<hsize_t> dims = dims_of(counts);
  if (dims.size() != 2 || dims[0] < 1 || dims[1] < 1) {
    throw run_error(run, "has /migration/counts that is not a matrix");
  }
  MigrationLink link;
  link.previous_ids = id_labels(run, counts, "prev_segment_ids", dims[0]);
  link.current_ids = id_labels(run, counts, "new_segment_ids", dims[1]);
  std::optional<std::vector<std::int64_t>> values = counts.read_all<std::int64_t>();
  if (!values) throw run_error(run, "cannot be read at /migration/counts" + with_hdf5_detail());
  link.counts = std::move(*values);
  return link;
}

std::string previous_run_of(const ChainRun& run, const File& file) {
  std::optional<Group> group = file.has_link("/run") ? file.open_group("/run") : std::nullopt;
  std::optional<Attribute> attribute = group && group->has_attribute("previous_run")
                                           ? group->open_attribute("previous_run")
                                           : std::nullopt;
  std::optional<std::vector<std::string>> text =
      attribute ? attribute->read_strings() : std::nullopt;
  if (!text || text->size() != 1) {
    throw run_error(run, "has no readable /run attribute previous_run");
  }
  return text->front();
}

}  // namespace

ChainRun read_chain_run(const std::string& directory) {
  SilenceHdf5Errors silence;
  ChainRun run;
  run.directory = directory;
  run.file = (fs::path(directory) / "segments.h5").string();
  std::error_code code;
  if (!fs::is_directory(directory, code)) {
    throw InputError("run '" + directory + "' does not exist or is not a directory");
  }
  if (!fs::is_regular_file(run.file, code)) {
    throw InputError("run '" + directory + "' holds no segments.h5 (not a microseg segment run)");
  }
  const std::optional<File> file = File::open(run.file, FileAccess::shared_lock());
  if (!file) throw run_error(run, "cannot be opened for reading" + with_hdf5_detail());
  run.previous_run = previous_run_of(run, *file);
  if (file->has_link("/migration")) run.link = read_link(run, *file);
  run.segment_ids = read_vector<std::int64_t>(run, *file, "/profiles/segment_id");
  run.sizes = read_vector<std::int64_t>(run, *file, "/profiles/size");
  if (file->has_path("/profiles/value_mean")) {
    run.value_mean = read_vector<double>(run, *file, "/profiles/value_mean");
  } else {
    run.value_mean.assign(run.segment_ids.size(), std::nan(""));
  }
  if (run.sizes.size() != run.segment_ids.size() ||
      run.value_mean.size() != run.segment_ids.size()) {
    throw run_error(run, "has /profiles datasets of different lengths");
  }
  const std::vector<hsize_t> rows = dims_of(open_dataset(run, *file, "/assignments/id"));
  run.customers = rows.size() == 1 ? static_cast<std::int64_t>(rows[0]) : 0;
  if (file->has_path("/migration/at_risk/id")) {
    const std::vector<hsize_t> flagged = dims_of(open_dataset(run, *file, "/migration/at_risk/id"));
    run.at_risk_customers = flagged.size() == 1 ? static_cast<std::int64_t>(flagged[0]) : 0;
  }
  return run;
}

IdSegmentRows read_id_segment_rows(const ChainRun& run, CustomerList list, RowRange rows,
                                   MPI_Comm comm) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const bool assignments = list == CustomerList::assignments;
  const std::string id_path = assignments ? "/assignments/id" : "/migration/at_risk/id";
  const std::string segment_path =
      assignments ? "/assignments/segment" : "/migration/at_risk/new_segment";
  const auto total = static_cast<hsize_t>(assignments ? run.customers : run.at_risk_customers);
  const auto count = static_cast<std::size_t>(rows.size());
  IdSegmentRows result{std::vector<std::int64_t>(count), std::vector<std::int32_t>(count)};
  // An empty list (no move flagged at risk: a run without a value feature) has nothing to read,
  // and HDF5 refuses a collective read of a dataset that was never allocated. Same on every rank.
  if (total == 0) return result;
  std::optional<std::string> error;
  {
    const std::optional<File> file = File::open(run.file, FileAccess::mpi_io(comm));
    // Every rank opens the same file, so a failure here strikes every rank alike.
    if (!file) throw run_error(run, "cannot be opened for reading" + with_hdf5_detail());
    RowReader reader(rows, false);
    const auto read_rows = [&](const std::string& path, auto* buffer) {
      const Dataset dataset = open_dataset(run, *file, path);
      if (dims_of(dataset) != std::vector<hsize_t>{total}) {
        throw run_error(run, "has " + path + " of another length than " + id_path);
      }
      if (reader.read_column(dataset, buffer, {1, 0}) == RowRead::failed && !error) {
        error = "run '" + run.directory + "': cannot read rows " + std::to_string(rows.begin) +
                " to " + std::to_string(rows.end - 1) + " of " + path + " in '" + run.file + "'" +
                with_hdf5_detail();
      }
    };
    read_rows(id_path, result.ids.data());
    read_rows(segment_path, result.segments.data());
  }
  communicator.agree(error);
  return result;
}

}  // namespace microseg::io
