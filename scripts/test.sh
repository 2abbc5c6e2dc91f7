#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   scripts/test.sh                 everything
#   scripts/test.sh -LE slurm       everything but the Slurm tests (any ctest arguments pass on)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# --slurm: the suite includes tests/slurm, which starts a real Slurm (skip it with -LE slurm).
"$MICROSEG_ROOT/scripts/install-deps.sh" --slurm
microseg_build

# The sanitizer tree builds in the background, at low priority, while the Release tests run:
# those spend most of their time waiting on mpiexec start-up and on each other's ranks, so the
# two cores have room for the compiler, and the suite's wall time is not their sum.
# MICROSEG_SANITIZER_TESTS=0 skips the stage.
sanitizer_stage="${MICROSEG_SANITIZER_TESTS:-1}"
MICROSEG_ASAN_BUILD="${MICROSEG_ASAN_BUILD:-$MICROSEG_ROOT/build-asan}"
asan_build_pid=""
if [[ "$sanitizer_stage" != 0 ]]; then
  mkdir -p "$MICROSEG_ASAN_BUILD"
  (
    if [[ ! -f "$MICROSEG_ASAN_BUILD/CMakeCache.txt" ]]; then
      # -O1 keeps Eigen fast enough and its assertions on (no NDEBUG); -g1 (line tables) is all
      # the sanitizers' reports need and compiles faster than full debug information.
      cmake -S "$MICROSEG_ROOT" -B "$MICROSEG_ASAN_BUILD" -DMICROSEG_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMICROSEG_FUZZ=OFF \
        -DMICROSEG_BUILD_BENCH=OFF
    fi
    # The test executables, the HDF5 input fuzz run's reader and the binary (one file each on
    # the library the tests need); no benchmarks.
    nice -n 15 cmake --build "$MICROSEG_ASAN_BUILD" -j "$MICROSEG_JOBS" \
      --target unit_tests mpi_tests hdf5_read_probe microseg
  ) >"$MICROSEG_ASAN_BUILD/build.log" 2>&1 &
  asan_build_pid=$!
fi

# Tests run MICROSEG_TEST_JOBS at a time (default 3): most wait on process start-up, and the MPI
# tests declare their ranks (PROCESSORS), so ctest does not stack them beyond that.
cd "$MICROSEG_BUILD"
release_status=0
ctest --output-on-failure --timeout 900 -j "${MICROSEG_TEST_JOBS:-3}" "$@" || release_status=$?

# The sanitizer stage: the unit and MPI tests (1-4 ranks) again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer, and the HDF5 input fuzz run (tests/fuzz/hdf5_fuzz.py). The same
# ctest arguments apply, so `scripts/test.sh -L unit` runs the unit tests in both builds and
# `-L cli` none here.
if [[ -n "$asan_build_pid" ]]; then
  if ! wait "$asan_build_pid"; then
    cat "$MICROSEG_ASAN_BUILD/build.log" >&2
    echo "test.sh: the sanitizer build failed (log above: $MICROSEG_ASAN_BUILD/build.log)" >&2
    exit 1
  fi
  cd "$MICROSEG_ASAN_BUILD"
  ctest --output-on-failure --timeout 900 -j 1 -L sanitize "$@"
fi
exit "$release_status"
