#pragma once
/// \file Versions of the libraries io links, for a run's provenance and `microseg --version`.
#include <string>

namespace microseg::io {
/// "major.minor.release" of the HDF5 library in use.
std::string hdf5_library_version();
/// "major.minor.release" of the HDF5 headers microseg was compiled with, and "parallel" or
/// "serial": e.g. "1.10.8 (parallel)".
std::string hdf5_header_version();
}  // namespace microseg::io
