#pragma once
// Reading strings stored by h5py or by microseg: fixed- or variable-length, ASCII or UTF-8.
#include <hdf5.h>

#include <optional>
#include <string>
#include <vector>

namespace microseg::io::detail {

/// Where the strings are: an attribute, or the whole of a dataset.
enum class StringHolder { attribute, dataset };

/// The `count` strings of `object` (an open attribute or dataset, as `holder` says) whose file
/// type `type` is of class H5T_STRING and whose dataspace is `space`. Space padding of
/// fixed-length strings is trimmed. nullopt when HDF5 cannot read them.
std::optional<std::vector<std::string>> read_strings(hid_t object, StringHolder holder, hid_t type,
                                                     hid_t space, hsize_t count);

}  // namespace microseg::io::detail
