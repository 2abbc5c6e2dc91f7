#pragma once
// Private to src/io: what the writers of customer tables and segments.h5 share — atomic
// placement of output files, collective creation, and row-block and root-only writes.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hdf5_handle.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::io::detail {

// Output files written under temporary names beside their final names and renamed into place
// (by rank 0, mode 0640) only when every rank has finished all of them. A failed run removes
// its temporaries and leaves any previous output untouched.
class PendingOutputs {
 public:
  explicit PendingOutputs(const distributed::Communicator& comm) : comm_(comm) {}
  PendingOutputs(const PendingOutputs&) = delete;
  PendingOutputs& operator=(const PendingOutputs&) = delete;
  ~PendingOutputs();

  // Registers an output and returns the temporary path to write it under. Files are renamed in
  // the order they were added.
  std::string add(const std::string& final_path);

  // Root only: restricts a temporary to owner read/write and group read as soon as it exists,
  // since customer data is personal. Other ranks return at once.
  void protect(const std::string& temporary) const;

  // Collective. Agrees on `local_error` (every rank throws the lowest failing rank's message),
  // then renames every temporary into place and agrees on the outcome of that too.
  void commit(const std::optional<std::string>& local_error);

 private:
  const distributed::Communicator& comm_;
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> files_;  // temporary, final
  bool committed_ = false;
};

// Why `final_path` cannot be written (its directory is missing, or it is a directory), if so.
std::optional<std::string> output_location_problem(const std::string& final_path);

// Collective: creates `temporary` (truncating a stale one) with MPI-IO on `comm`. Throws
// InputError naming `final_path`.
FileHandle create_parallel_file(const std::string& temporary, const std::string& final_path,
                                MPI_Comm comm);

// Collective metadata operations; every rank calls them with the same arguments. `file` names
// the output in messages. They throw InputError, which strikes every rank alike.
GroupHandle create_group(hid_t parent, const std::string& name, const std::string& file);

// A dataset of `dims` (1-D or 2-D). Row datasets are chunked (a chunk holds up to 65536 rows and
// about 4 MiB) and never filled, since every row is written once; small ones are contiguous.
enum class Layout { row_chunks, contiguous };
DatasetHandle create_dataset(hid_t parent, const std::string& name, hid_t file_type,
                             const std::vector<hsize_t>& dims, Layout layout,
                             const std::string& file);

void write_string_array_attribute(hid_t object, const std::string& name,
                                  const std::vector<std::string>& values, const std::string& file);
void write_scalar_attribute(hid_t object, const std::string& name, double value,
                            const std::string& file);
void write_scalar_attribute(hid_t object, const std::string& name, std::int64_t value,
                            const std::string& file);
void write_scalar_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file);

// Collective raw-data writes. They return HDF5's status instead of throwing, because a failure
// may strike one rank alone and the others still wait in the collective that follows: callers
// note the first failure and agree on it after the file is closed.

// Rows [begin, begin + count) of a 1-D dataset, or of every column of a 2-D one, from `data`
// (row-major). A rank with count 0 takes part with an empty selection.
herr_t write_row_block(hid_t dataset, hid_t memory_type, std::int64_t begin, std::int64_t count,
                       const void* data);

// The whole dataset from the root's `data`; the other ranks take part with empty selections
// (raw data of any layout may be written by one rank, unlike metadata).
herr_t write_from_root(hid_t dataset, hid_t memory_type, bool is_root, const void* data);

}  // namespace microseg::io::detail
