#include "hdf5_strings.hpp"

#include "hdf5_handle.hpp"

namespace microseg::io::detail {

std::optional<std::vector<std::string>> read_strings(hid_t object, StringHolder holder, hid_t type,
                                                     hid_t space, hsize_t count) {
  std::vector<std::string> values;
  if (count == 0) return values;
  const auto read = [&](hid_t memory_type, void* buffer) {
    return holder == StringHolder::attribute
               ? H5Aread(object, memory_type, buffer)
               : H5Dread(object, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
  };
  DatatypeHandle memory_type(H5Tcopy(H5T_C_S1));
  H5Tset_cset(memory_type.get(), H5Tget_cset(type));
  if (H5Tis_variable_str(type) > 0) {
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    std::vector<char*> buffer(count, nullptr);
    if (read(memory_type.get(), buffer.data()) < 0) return std::nullopt;
    for (char* text : buffer) values.emplace_back(text != nullptr ? text : "");
    H5Dvlen_reclaim(memory_type.get(), space, H5P_DEFAULT, buffer.data());
    return values;
  }
  // One byte more than stored, null-terminated, so every string ends within its slot.
  const std::size_t width = H5Tget_size(type) + 1;
  H5Tset_size(memory_type.get(), width);
  H5Tset_strpad(memory_type.get(), H5T_STR_NULLTERM);
  std::vector<char> buffer(count * width, '\0');
  if (read(memory_type.get(), buffer.data()) < 0) return std::nullopt;
  const bool space_padded = H5Tget_strpad(type) == H5T_STR_SPACEPAD;
  for (hsize_t i = 0; i < count; ++i) {
    std::string text(buffer.data() + i * width);
    if (space_padded) text.erase(text.find_last_not_of(' ') + 1);
    values.push_back(std::move(text));
  }
  return values;
}

}  // namespace microseg::io::detail
