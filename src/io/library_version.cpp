#include "microseg/io/library_version.hpp"

#include <hdf5.h>

#include "hdf5_object.hpp"

namespace microseg::io {
std::string hdf5_library_version() {
  return detail::linked_hdf5_version();
}

std::string hdf5_header_version() {
#ifdef H5_HAVE_PARALLEL
  const char* kind = "parallel";
#else
  const char* kind = "serial";
#endif
  return std::to_string(H5_VERS_MAJOR) + "." + std::to_string(H5_VERS_MINOR) + "." +
         std::to_string(H5_VERS_RELEASE) + " (" + kind + ")";
}
}  // namespace microseg::io
