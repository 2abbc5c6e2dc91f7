#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   scripts/test.sh                 everything
#   scripts/test.sh -LE slurm       everything but the Slurm tests (any ctest arguments pass on)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# --slurm: the suite includes tests/slurm, which starts a real Slurm (skip it with -LE slurm).
"$MICROSEG_ROOT/scripts/install-deps.sh" --slurm
microseg_build

# The sanitizer stage: the unit and MPI tests (1-4 ranks) again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer, and the HDF5 input fuzz run (tests/fuzz/hdf5_fuzz.py). Its tree is
# built here, before any test runs: built in the background it starved behind the tests' ranks
# and finished only after them, so the two stages ran one after the other. Its tests then run in
# the background, at a lower priority, beside the Release tests, which spend much of their time
# waiting (Slurm, injected stalls, mpiexec start-up). Their output goes to
# build-asan/sanitize.log, shown at the end. The same ctest arguments apply, so
# `scripts/test.sh -L unit` runs the unit tests in both builds and `-L cli` none there.
# MICROSEG_SANITIZER_TESTS=0 skips the stage.
sanitizer_stage="${MICROSEG_SANITIZER_TESTS:-1}"
MICROSEG_ASAN_BUILD="${MICROSEG_ASAN_BUILD:-$MICROSEG_ROOT/build-asan}"
sanitizer_pid=""
if [[ "$sanitizer_stage" != 0 ]]; then
  if [[ ! -f "$MICROSEG_ASAN_BUILD/CMakeCache.txt" ]]; then
    # -O1 keeps Eigen fast enough and its assertions on (no NDEBUG); -g1 (line tables) is all
    # the sanitizers' reports need and compiles faster than full debug information.
    cmake -S "$MICROSEG_ROOT" -B "$MICROSEG_ASAN_BUILD" -DMICROSEG_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMICROSEG_FUZZ=OFF \
      -DMICROSEG_BUILD_BENCH=OFF
  fi
  # The test executables, the HDF5 input fuzz run's reader and the binary (one file each on the
  # library the tests need); no benchmarks.
  cmake --build "$MICROSEG_ASAN_BUILD" -j "$MICROSEG_JOBS" \
    --target unit_tests mpi_tests hdf5_read_probe microseg
  (
    cd "$MICROSEG_ASAN_BUILD"
    nice -n 10 ctest --output-on-failure --timeout 900 -j 2 -L sanitize "$@" >sanitize.log 2>&1
  ) &
  sanitizer_pid=$!
fi

# Tests run MICROSEG_TEST_JOBS at a time (default 4): most of them wait much of the time (on
# process start-up, on each other's ranks), and the MPI tests declare their ranks (PROCESSORS),
# so ctest does not stack them beyond that.
cd "$MICROSEG_BUILD"
release_status=0
ctest --output-on-failure --timeout 900 -j "${MICROSEG_TEST_JOBS:-4}" "$@" || release_status=$?

sanitizer_status=0
if [[ -n "$sanitizer_pid" ]]; then
  wait "$sanitizer_pid" || sanitizer_status=$?
  echo "--- the sanitizer stage ($MICROSEG_ASAN_BUILD/sanitize.log) ---"
  cat "$MICROSEG_ASAN_BUILD/sanitize.log"
fi
((release_status != 0)) && exit "$release_status"
exit "$sanitizer_status"
