#include "microseg/io/library_version.hpp"

#include "hdf5_object.hpp"

namespace microseg::io {
std::string hdf5_library_version() {
  return detail::linked_hdf5_version();
}
}  // namespace microseg::io
