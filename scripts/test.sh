#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   scripts/test.sh                 everything
#   scripts/test.sh -LE slurm       everything but the Slurm tests (any ctest arguments pass on)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# --slurm: the suite includes tests/slurm, which starts a real Slurm (skip it with -LE slurm).
"$MICROSEG_ROOT/scripts/install-deps.sh" --slurm
microseg_build
cd "$MICROSEG_BUILD"
ctest --output-on-failure --timeout 900 -j 1 "$@"

# The sanitizer stage: the unit and MPI tests (1-4 ranks) again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer in a tree of their own (only those two targets: no benchmarks, no
# binary). The same ctest arguments apply, so `scripts/test.sh -L unit` runs the unit tests in
# both builds and `-L cli` none here. MICROSEG_SANITIZER_TESTS=0 skips the stage.
if [[ "${MICROSEG_SANITIZER_TESTS:-1}" != 0 ]]; then
  MICROSEG_ASAN_BUILD="${MICROSEG_ASAN_BUILD:-$MICROSEG_ROOT/build-asan}"
  if [[ ! -f "$MICROSEG_ASAN_BUILD/CMakeCache.txt" ]]; then
    # -O1 keeps Eigen fast enough and its assertions on (no NDEBUG).
    cmake -S "$MICROSEG_ROOT" -B "$MICROSEG_ASAN_BUILD" -DMICROSEG_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DMICROSEG_FUZZ=OFF \
      -DMICROSEG_BUILD_BENCH=OFF
  fi
  cmake --build "$MICROSEG_ASAN_BUILD" -j "$MICROSEG_JOBS" --target unit_tests mpi_tests
  cd "$MICROSEG_ASAN_BUILD"
  ctest --output-on-failure --timeout 900 -j 1 -L sanitize "$@"
fi
