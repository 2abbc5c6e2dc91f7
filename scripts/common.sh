# Shared by the scripts: where things are, and how MPI runs here.
# Open MPI refuses root without both variables; demos and tests may run more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
MICROSEG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# mpirun ends a job whose host stopped answering instead of waiting on it (keepalive settings).
source "$MICROSEG_ROOT/scripts/mpirun-settings.sh"
MICROSEG_BUILD="${MICROSEG_BUILD:-$MICROSEG_ROOT/build}"
MICROSEG_JOBS="${MICROSEG_JOBS:-$(nproc)}"

# Configures (once) and builds the project into $MICROSEG_BUILD.
microseg_build() {
  if [[ ! -f "$MICROSEG_BUILD/CMakeCache.txt" ]]; then
    cmake -S "$MICROSEG_ROOT" -B "$MICROSEG_BUILD" -DCMAKE_BUILD_TYPE=Release "$@"
  fi
  cmake --build "$MICROSEG_BUILD" -j "$MICROSEG_JOBS"
}
