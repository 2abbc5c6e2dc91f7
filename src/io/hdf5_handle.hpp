#pragma once
// Private to src/io: ownership of HDF5 identifiers, a guard that keeps HDF5's own error stack
// dumps off the terminal, and small helpers shared by the readers and writers.
#include <hdf5.h>

#include <string>
#include <utility>
#include <vector>

namespace microseg::io::detail {

// Owns one hid_t and closes it with `Close`, so an exception never leaks an identifier. Closing
// matters beyond memory: the MPI-IO driver refuses to close a file while objects remain open.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

  /// Closes now and reports HDF5's status (a file close is where buffered writes fail).
  herr_t close() {
    const herr_t status = id_ >= 0 ? Close(id_) : 0;
    id_ = H5I_INVALID_HID;
    return status;
  }
  void reset() { close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using FileHandle = Handle<H5Fclose>;
using GroupHandle = Handle<H5Gclose>;
using DatasetHandle = Handle<H5Dclose>;
using DataspaceHandle = Handle<H5Sclose>;
using DatatypeHandle = Handle<H5Tclose>;
using AttributeHandle = Handle<H5Aclose>;
using PropertyListHandle = Handle<H5Pclose>;

// Turns off HDF5's automatic error printing for its lifetime, so users read our messages rather
// than HDF5's stack dumps; the previous handler is restored afterwards.
class SilenceHdf5Errors {
 public:
  SilenceHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  SilenceHdf5Errors(const SilenceHdf5Errors&) = delete;
  SilenceHdf5Errors& operator=(const SilenceHdf5Errors&) = delete;
  ~SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

// The innermost message on HDF5's error stack (the most specific one), or "" when empty.
// Call right after the failing HDF5 call: the next API call clears the stack.
inline std::string hdf5_error_detail() {
  std::string detail;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* error, void* text) -> herr_t {
        auto& out = *static_cast<std::string*>(text);
        if (out.empty() && error->desc != nullptr) out = error->desc;
        return 0;
      },
      &detail);
  return detail;
}

// " (HDF5: <detail>)" or "" — appended to our messages where HDF5 knows more.
inline std::string with_hdf5_detail() {
  const std::string detail = hdf5_error_detail();
  return detail.empty() ? std::string() : " (HDF5: " + detail + ")";
}

// A dataspace of the given dimensions.
inline DataspaceHandle simple_dataspace(const std::vector<hsize_t>& dims) {
  return DataspaceHandle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
}

// Variable-length UTF-8 strings: what h5py reads back as Python str.
inline DatatypeHandle utf8_string_type() {
  DatatypeHandle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

}  // namespace microseg::io::detail
