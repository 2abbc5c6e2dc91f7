#pragma once
/// \file Versions of the libraries io links, for a run's provenance.
#include <string>

namespace microseg::io {
/// "major.minor.release" of the HDF5 library in use.
std::string hdf5_library_version();
}  // namespace microseg::io
