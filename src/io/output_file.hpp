#pragma once
// Private to src/io: how every writer writes its files. PendingOutputs places finished files
// atomically; OutputFile is an HDF5 file under its temporary name that remembers the first
// failed raw-data write; OutputGroup holds the typed writes the writers share.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hdf5_object.hpp"
#include "microseg/core/result.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io::detail {

/// Output files written under temporary names beside their final names and renamed into place
/// (by rank 0, mode 0640) only when every rank has finished all of them. A failed run removes
/// its temporaries and leaves any previous output untouched.
class PendingOutputs {
 public:
  explicit PendingOutputs(const distributed::Communicator& comm) : comm_(comm) {}
  PendingOutputs(const PendingOutputs&) = delete;
  PendingOutputs& operator=(const PendingOutputs&) = delete;
  ~PendingOutputs();

  const distributed::Communicator& comm() const { return comm_; }

  /// Registers an output and returns the temporary path to write it under. Files are renamed
  /// in the order they were added.
  std::string add(const std::string& final_path);

  /// Root only: restricts a temporary to owner read/write and group read as soon as it exists,
  /// since customer data is personal. Other ranks return at once.
  void protect(const std::string& temporary) const;

  /// Collective. Agrees on `local_error` (every rank throws the lowest failing rank's message),
  /// waits until every rank has that verdict (so no rank has exited), then renames every
  /// temporary into place and agrees on the outcome of that too. `stage` is
  /// the failure-injection stage reached first (fault_injection.hpp): "write", or "checkpoint".
  void commit(const std::optional<std::string>& local_error, const char* stage = "write");

 private:
  const distributed::Communicator& comm_;
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> files_;  // temporary, final
  bool committed_ = false;
};

/// An output file's final path and the temporary it is written under (PendingOutputs::add).
struct PendingFile {
  std::string final_path;
  std::string temporary;
};

/// A text file (CSV) written by one process under its temporary name, restricted to 0640 as
/// soon as it exists.
class TextOutput {
 public:
  TextOutput(const PendingOutputs& outputs, const PendingFile& file);
  std::ostream& out() { return out_; }
  /// Closes the file; throws InputError naming it when a write failed.
  void close();

 private:
  std::string final_path_;
  std::ofstream out_;
};

/// Collective: every rank's `text` written into one file in rank order (an exclusive prefix sum
/// of the byte counts places each rank's range of the temporary rank 0 creates). A failure is
/// kept in `error` (if it holds none yet) for PendingOutputs::commit to agree on.
void write_text_in_rank_order(const PendingFile& file, const PendingOutputs& pending,
                              const std::string& text, std::optional<std::string>& error);

/// Why `final_path` cannot be written (its directory is missing, or it is a directory), if so.
std::optional<std::string> output_location_problem(const std::string& final_path);

/// The HDF5 types of a dataset's elements in the file and in memory.
struct ElementTypes {
  hid_t file;
  hid_t memory;
  template <class T>
  static ElementTypes of() {
    return {Stored<T>::file(), Stored<T>::memory()};
  }
};

/// This rank's rows of a dataset whose rows are spread over the ranks: `count` rows from global
/// row `begin`, `total` in all, each `width` values wide (a 2-D dataset; 0 for 1-D).
struct RowBlock {
  std::int64_t begin = 0;
  std::int64_t count = 0;
  hsize_t total = 0;
  hsize_t width = 0;
};

class OutputGroup;

/// An HDF5 output file under the temporary name PendingOutputs gave it, restricted to 0640 as
/// soon as it exists. Its raw-data writes are collective and may fail on one rank alone while the
/// others wait in the next collective, so it remembers the first failure instead of throwing;
/// the ranks agree on it in PendingOutputs::commit, after the file is closed.
class OutputFile {
 public:
  enum class Driver { mpi_io, plain };
  /// Creates `temporary` for `final_path`: with MPI-IO, collective over the outputs'
  /// communicator; plain, by this process alone. Throws InputError naming `final_path`.
  OutputFile(const PendingOutputs& outputs, const std::string& temporary,
             const std::string& final_path, Driver driver = Driver::mpi_io);

  /// The root group, to write into. Groups and datasets must be closed before the file.
  OutputGroup root();
  bool is_root() const { return is_root_; }
  Driver driver() const { return driver_; }

  /// Remembers the first failure: a raw-data write of `object` (a path in the file) that
  /// returned false, as "cannot write OBJECT of output file 'FINAL'" with HDF5's message.
  void note(bool written, const std::string& object);
  /// Closes the file (collective with MPI-IO); false when HDF5 reports a failure.
  bool close() { return file_.close(); }
  /// Closes the file, noting a failed close as a failed write of "the end"; the first failure.
  std::optional<std::string> finish();

  /// HDF5's message about the first failure, as with_hdf5_detail() gave it.
  const std::string& error_detail() const { return error_detail_; }

 private:
  std::string final_path_;
  bool is_root_;
  Driver driver_;
  File file_;
  std::optional<std::string> error_;
  std::string error_detail_;
};

/// A group of an output file with the writes every writer shares. Creating groups and datasets
/// and writing attributes are collective metadata calls (every rank alike; they throw
/// InputError); raw data is written from the root or as each rank's rows, and a failure is noted
/// by the file under the dataset's path.
class OutputGroup {
 public:
  OutputGroup(OutputFile& file, Group group, std::string path);

  /// The group's path in the file: "/profiles"; "" for the root.
  const std::string& path() const { return path_; }
  const Group& group() const { return group_; }

  OutputGroup create_group(const std::string& name, LinkOrder order = LinkOrder::by_name) const;

  template <class T>
  void attribute(const std::string& name, const T& value) const {
    group_.write_attribute(name, value);
  }
  /// Scalar attributes of mixed types (a run's record, a sweep's settings), in their order.
  void attributes(const RunAttributes& values) const;

  /// A small contiguous dataset of `dims` written whole by the root (every rank creates it).
  /// An empty one takes no raw-data write.
  template <class T>
  Dataset write(const std::string& name, const T* data, const std::vector<hsize_t>& dims) const {
    return write(name, ElementTypes::of<T>(), dims, data);
  }
  /// The same, 1-D.
  template <class T>
  Dataset write(const std::string& name, const std::vector<T>& values) const {
    return write(name, values.data(), {values.size()});
  }
  Dataset write(const std::string& name, ElementTypes types, const std::vector<hsize_t>& dims,
                const void* data) const;
  /// Fixed-length UTF-8 strings (Datatype::fixed_utf8 of the longest), from the root.
  Dataset write_strings(const std::string& name, const std::vector<std::string>& values) const;

  /// A chunked dataset of rows spread over the ranks; each rank writes its block of `data`
  /// (row-major). A dataset of no rows (total 0) takes no raw-data write.
  template <class T>
  Dataset write_rows(const std::string& name, const RowBlock& rows, const T* data) const {
    return write_rows(name, rows, ElementTypes::of<T>(), data);
  }
  Dataset write_rows(const std::string& name, const RowBlock& rows, ElementTypes types,
                     const void* data) const;

 private:
  std::string path_of(const std::string& name) const { return path_ + "/" + name; }
  OutputFile* file_;
  Group group_;
  std::string path_;
};

}  // namespace microseg::io::detail
