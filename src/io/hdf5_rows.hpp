#pragma once
// Private to src/io: collective reads of one rank's rows (part of the HDF5 object layer).
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "hdf5_object.hpp"
#include "microseg/core/types.hpp"

namespace microseg::io::detail {

/// How a collective read ended.
enum class RowRead {
  failed,        ///< HDF5 could not read (with_hdf5_detail() says why)
  done,          ///< every value read
  out_of_range,  ///< read, but a value did not fit the memory type (with a range watch)
};

/// Where the values of a 1-D dataset go: column `column` of a row-major buffer `width` wide.
struct MemoryColumn {
  hsize_t width = 1;
  hsize_t column = 0;
};

/// Collective reads of rows [rows.begin, rows.end) of datasets in a file opened with MPI-IO.
/// Every rank makes each read (a rank without rows takes part with an empty selection), so a
/// failure is returned, not thrown: the caller notes it and the ranks agree after the reads.
///
/// With `watch_range`, a finite value that does not fit the memory type makes the read
/// out_of_range (HDF5 1.10 reports ±inf as out of range too, so the source value is checked),
/// and float32 ones are replaced by a marker NaN so the caller can name the row.
class RowReader {
 public:
  RowReader(RowRange rows, bool watch_range);
  RowReader(const RowReader&) = delete;  // HDF5 holds a pointer to the watch
  RowReader& operator=(const RowReader&) = delete;

  /// The rows of a 1-D dataset, converted to `memory_type`, into `buffer` as `where` says.
  RowRead read_column(const Dataset& dataset, hid_t memory_type, void* buffer, MemoryColumn where);
  template <class T>
  RowRead read_column(const Dataset& dataset, T* buffer, MemoryColumn where) {
    return read_column(dataset, Stored<T>::memory(), buffer, where);
  }
  /// The rows of the given columns (ascending) of a 2-D dataset as float32, into a row-major
  /// buffer holding those columns in that order.
  RowRead read_columns(const Dataset& dataset, const std::vector<int>& sorted_columns,
                       float* buffer);

  /// The first finite value out of range in the last read, when it could be decoded; else NaN.
  double out_of_range_value() const { return watch_.value; }
  /// Whether a float32 read out_of_range holds the marker of an overflowing value.
  static bool is_out_of_range_marker(float value);

  /// What the conversion callback needs to know and records (public for the callback only).
  struct Watch {
    std::size_t source_size = 0;
    bool source_is_float = false;
    bool swap_source_bytes = false;  // the source's byte order is not the machine's
    bool mark_float = false;
    bool found = false;
    double value = std::nan("");
  };

 private:
  RowRead read(const Dataset& dataset, hid_t memory_type, hid_t memory_space, hid_t file_space,
               void* buffer);
  RowRange rows_;
  PropertyListHandle transfer_;
  Watch watch_;
};

}  // namespace microseg::io::detail
