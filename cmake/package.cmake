# The Debian package: `cpack -G DEB` in the build tree (docs/operations.md, "Installing"). Shared
# libraries the program links are declared by dpkg-shlibdeps (Open MPI, parallel HDF5, Boost,
# libgomp, libcrypto); mpiexec comes from openmpi-bin. The headers, the static library and the
# CMake package are in the same package, so what a downstream build needs is recommended.
# The default build (MICROSEG_NATIVE off) is portable, so its package runs on any x86-64 node;
# the kernels pick their vector ISA at run time.
set(CPACK_PACKAGE_NAME microseg)
set(CPACK_PACKAGE_VENDOR "microseg developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "customer micro-segmentation with distributed k-means")
set(CPACK_PACKAGE_DESCRIPTION
    "microseg splits a customer base into many small, homogeneous micro-segments with k-means on
an MPI cluster, reading and writing parallel HDF5, with results identical for any rank count.
It ships the microseg program, its Slurm scripts, a man page, an environment module, and the
library with its headers, CMake package and pkg-config file.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "microseg developers <microseg@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "libopenmpi-dev, libhdf5-openmpi-dev, libeigen3-dev, libboost-program-options-dev, \
libboost-serialization-dev, libssl-dev, python3-h5py, python3-matplotlib, bash-completion")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "slurm-client, environment-modules | lmod")
include(CPack)
