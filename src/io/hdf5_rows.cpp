#include "hdf5_rows.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace microseg::io::detail {
namespace {

constexpr std::uint32_t out_of_range_marker = 0x7fd1ce5eu;  // a quiet NaN

// The source value HDF5 hands a conversion callback, in the source type's byte order, as a
// double when it is a floating-point number.
std::optional<double> decode_source(const RowReader::Watch& watch, const void* source) {
  if (!watch.source_is_float ||
      (watch.source_size != sizeof(double) && watch.source_size != sizeof(long double))) {
    return std::nullopt;
  }
  unsigned char bytes[sizeof(long double)] = {};
  const std::size_t size = std::min(watch.source_size, sizeof bytes);
  std::memcpy(bytes, source, size);
  for (std::size_t i = 0; watch.swap_source_bytes && i < size / 2; ++i) {
    std::swap(bytes[i], bytes[size - 1 - i]);
  }
  if (watch.source_size == sizeof(double)) {
    double decoded = 0;
    std::memcpy(&decoded, bytes, sizeof decoded);
    return decoded;
  }
  long double decoded = 0;
  std::memcpy(&decoded, bytes, sizeof decoded);
  return static_cast<double>(decoded);
}

// Records conversions that fall outside the memory type's range: only finite values overflow.
// Overflowing float32 values become the marker, so the reader can name the row.
H5T_conv_ret_t note_out_of_range(H5T_conv_except_t kind, hid_t, hid_t, void* source,
                                 void* destination, void* watch_data) {
  auto& watch = *static_cast<RowReader::Watch*>(watch_data);
  if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW) {
    return H5T_CONV_UNHANDLED;
  }
  const std::optional<double> value = decode_source(watch, source);
  if (value && std::isinf(*value)) return H5T_CONV_UNHANDLED;
  if (!watch.found) {
    watch.found = true;
    if (value) watch.value = *value;
  }
  if (watch.mark_float && destination != nullptr) {
    std::memcpy(destination, &out_of_range_marker, sizeof out_of_range_marker);
    return H5T_CONV_HANDLED;
  }
  return H5T_CONV_UNHANDLED;
}

void select_none(hid_t file_space, hid_t memory_space) {
  H5Sselect_none(file_space);
  H5Sselect_none(memory_space);
}

}  // namespace

RowReader::RowReader(RowRange rows, bool watch_range)
    : rows_(rows), transfer_(H5Pcreate(H5P_DATASET_XFER)) {
  H5Pset_dxpl_mpio(transfer_.get(), H5FD_MPIO_COLLECTIVE);
  if (watch_range) H5Pset_type_conv_cb(transfer_.get(), &note_out_of_range, &watch_);
}

bool RowReader::is_out_of_range_marker(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == out_of_range_marker;
}

RowRead RowReader::read_column(const Dataset& dataset, hid_t memory_type, void* buffer,
                               MemoryColumn where) {
  DataspaceHandle file_space(H5Dget_space(dataset.id()));
  const auto count = static_cast<hsize_t>(rows_.size());
  const hsize_t memory_dims[2] = {std::max<hsize_t>(count, 1), where.width};
  DataspaceHandle memory_space(H5Screate_simple(2, memory_dims, nullptr));
  if (count == 0) {
    select_none(file_space.get(), memory_space.get());
  } else {
    const auto file_start = static_cast<hsize_t>(rows_.begin);
    const hsize_t memory_start[2] = {0, where.column}, memory_count[2] = {count, 1};
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &file_start, nullptr, &count, nullptr);
    H5Sselect_hyperslab(memory_space.get(), H5S_SELECT_SET, memory_start, nullptr, memory_count,
                        nullptr);
  }
  return read(dataset, memory_type, memory_space.get(), file_space.get(), buffer);
}

RowRead RowReader::read_columns(const Dataset& dataset, const std::vector<int>& sorted_columns,
                                float* buffer) {
  DataspaceHandle file_space(H5Dget_space(dataset.id()));
  const auto count = static_cast<hsize_t>(rows_.size());
  const hsize_t width = sorted_columns.size();
  const hsize_t memory_dims[2] = {std::max<hsize_t>(count, 1), width};
  DataspaceHandle memory_space(H5Screate_simple(2, memory_dims, nullptr));
  if (count == 0 || width == 0) {
    select_none(file_space.get(), memory_space.get());
  } else {
    // One hyperslab per run of adjacent columns keeps the selection as simple as possible.
    H5S_seloper_t operation = H5S_SELECT_SET;
    for (std::size_t i = 0; i < sorted_columns.size();) {
      std::size_t j = i + 1;
      while (j < sorted_columns.size() && sorted_columns[j] == sorted_columns[j - 1] + 1) ++j;
      const hsize_t start[2] = {static_cast<hsize_t>(rows_.begin),
                                static_cast<hsize_t>(sorted_columns[i])};
      const hsize_t block[2] = {count, j - i};
      H5Sselect_hyperslab(file_space.get(), operation, start, nullptr, block, nullptr);
      operation = H5S_SELECT_OR;
      i = j;
    }
  }
  return read(dataset, H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), buffer);
}

RowRead RowReader::read(const Dataset& dataset, hid_t memory_type, hid_t memory_space,
                        hid_t file_space, void* buffer) {
  DatatypeHandle file_type(H5Dget_type(dataset.id()));
  watch_ = Watch{};
  watch_.source_size = H5Tget_size(file_type.get());
  watch_.source_is_float = H5Tget_class(file_type.get()) == H5T_FLOAT;
  watch_.swap_source_bytes = H5Tget_order(file_type.get()) != H5Tget_order(H5T_NATIVE_DOUBLE);
  watch_.mark_float = memory_type == H5T_NATIVE_FLOAT;
  static char placeholder = 0;  // HDF5 wants a buffer even for an empty selection
  const bool failed =
      !dataset.read_selection({memory_type, memory_space, file_space, transfer_.get()},
                              rows_.size() == 0 || buffer == nullptr ? &placeholder : buffer);
  if (failed) return RowRead::failed;
  return watch_.found ? RowRead::out_of_range : RowRead::done;
}

}  // namespace microseg::io::detail
