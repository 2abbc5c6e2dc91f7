# shellcheck shell=bash
# Shared by the microseg batch scripts (sourced, not run). They work from a clone
# (scripts/slurm) and from an installed tree (PREFIX/share/microseg/slurm).
#
# sbatch copies a batch script to the node's spool directory, so a script cannot find this file
# next to itself: it looks in MICROSEG_SLURM_DIR (the environment module sets it), then in the
# clone it was submitted from (MICROSEG_ROOT, default the submit directory), then in the
# installed tree of the `microseg` on PATH (docs/operations.md).
#
#   MICROSEG_SLURM_DIR     the directory of these scripts (default: where this file is)
#   MICROSEG_ROOT          a clone of the repository, or the directory runs go under (default:
#                          $SLURM_SUBMIT_DIR)
#   MICROSEG_BIN           the microseg binary (default: the installed tree's PREFIX/bin/microseg
#                          when these scripts are installed, else $MICROSEG_ROOT/build/microseg
#                          when it exists, else microseg on PATH)
#   MICROSEG_RUNS          where run directories go (default: $MICROSEG_ROOT/runs)
#   MICROSEG_MAX_REQUEUES  requeues after a time-limit signal before giving up (default 3)
#   MICROSEG_SRUN_MPI      srun's --mpi plugin (default pmix, what Debian's Open MPI works with;
#                          `srun --mpi=list` shows a site's choices)
#   MICROSEG_STALL_TIMEOUT every step gets `--stall-timeout` this many seconds unless its options
#                          hold one (default 120, below the scripts' --signal lead of 300 s;
#                          set it empty to leave it to the job file or the program's 300 s;
#                          docs/operations.md, "Stalls")
#
# Threads: a job submitted with --cpus-per-task=C runs every step with C CPUs per rank and
# `--threads C` (unless the options already hold --threads), so a hybrid MPI x threads run is
# chosen at submission (docs/operations.md, "Ranks and threads").

# Open MPI refuses to run as root without both; harmless otherwise. srun passes them to the ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

MICROSEG_SLURM_DIR="${MICROSEG_SLURM_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
MICROSEG_ROOT="${MICROSEG_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}"
# An installed tree: PREFIX/share/microseg/slurm beside PREFIX/bin.
microseg_prefix=""
if [[ "$MICROSEG_SLURM_DIR" == */share/microseg/slurm ]]; then
  microseg_prefix="${MICROSEG_SLURM_DIR%/share/microseg/slurm}"
fi
if [[ -z "${MICROSEG_BIN:-}" ]]; then
  if [[ -n "$microseg_prefix" && -x "$microseg_prefix/bin/microseg" ]]; then
    MICROSEG_BIN="$microseg_prefix/bin/microseg"
  elif [[ -x "$MICROSEG_ROOT/build/microseg" ]]; then
    MICROSEG_BIN="$MICROSEG_ROOT/build/microseg"
  else
    MICROSEG_BIN="$(command -v microseg || echo "$MICROSEG_ROOT/build/microseg")"
  fi
fi
if [[ -n "$microseg_prefix" ]]; then
  MICROSEG_PLOT_SWEEP="$microseg_prefix/bin/microseg-plot-sweep"
else
  MICROSEG_PLOT_SWEEP="$MICROSEG_SLURM_DIR/../plot_sweep.py"
fi
MICROSEG_RUNS="${MICROSEG_RUNS:-$MICROSEG_ROOT/runs}"
MICROSEG_MAX_REQUEUES="${MICROSEG_MAX_REQUEUES:-3}"
MICROSEG_SRUN_MPI="${MICROSEG_SRUN_MPI:-pmix}"
MICROSEG_STALL_TIMEOUT="${MICROSEG_STALL_TIMEOUT-120}"
# A job that submits another (quarterly's successor) finds the same scripts and program.
export MICROSEG_SLURM_DIR MICROSEG_BIN

microseg_log() {
  echo "microseg-slurm [$(date '+%F %T')] job ${SLURM_JOB_ID:-?}: $*"
}

microseg_die() {
  microseg_log "error: $*" >&2
  exit 2
}

# Checks made before any work: the binary exists; the job config exists.
microseg_check_binary() {
  [[ -x "$MICROSEG_BIN" ]] ||
    microseg_die "no microseg binary at '$MICROSEG_BIN' (set MICROSEG_BIN, put microseg on PATH, or submit from a clone with build/microseg)"
}
microseg_check_config() {
  [[ -n "$1" && -r "$1" ]] || microseg_die "job config '$1' does not exist or cannot be read"
}

# The run directory of this job: RUNS/KIND/DATE-ID. A requeued job (same id) finds the directory
# it made before, even on another day, so a resumed run writes to the same place.
#   microseg_run_directory KIND [ID] [DATE]
microseg_run_directory() {
  local kind="$1" id="${2:-$SLURM_JOB_ID}" date="${3:-}"
  local existing
  existing=$(compgen -G "$MICROSEG_RUNS/$kind/*-$id" | head -n 1 || true)
  if [[ -n "$existing" ]]; then
    echo "$existing"
  else
    echo "$MICROSEG_RUNS/$kind/${date:-$(date +%F)}-$id"
  fi
}

# The srun options of a step: the MPI plugin; a rank that ends with an error ends the whole step
# at once (--kill-on-bad-exit), instead of leaving the others waiting in a collective; and the
# job's CPUs per task, which srun (Slurm >= 22.05) no longer takes from the allocation itself.
microseg_srun_options() {
  local options=(--mpi="$MICROSEG_SRUN_MPI" --kill-on-bad-exit=1)
  [[ -n "${SLURM_CPUS_PER_TASK:-}" ]] && options+=(--cpus-per-task="$SLURM_CPUS_PER_TASK")
  echo "${options[@]}"
}

# `--stall-timeout S` when MICROSEG_STALL_TIMEOUT is not empty, unless the step's options hold one:
# a rank or link that stops answering ends the step (status 76) after S seconds without
# progress, and --kill-on-bad-exit then ends the other tasks.
#   microseg_stall_options OPTION...
microseg_stall_options() {
  [[ -n "${MICROSEG_STALL_TIMEOUT:-}" && " $* " != *" --stall-timeout"* ]] &&
    echo "--stall-timeout $MICROSEG_STALL_TIMEOUT"
  return 0
}

# `--threads C` for a job with --cpus-per-task=C, unless the step's options hold --threads.
#   microseg_thread_options OPTION...
microseg_thread_options() {
  [[ -n "${SLURM_CPUS_PER_TASK:-}" && " $* " != *" --threads"* ]] &&
    echo "--threads $SLURM_CPUS_PER_TASK"
  return 0
}

# Runs one job step (srun with microseg_srun_options, the job's tasks) and returns its exit status. When Slurm
# sends SIGUSR1 to this batch shell before the time limit (#SBATCH --signal=B:USR1@SECONDS), the
# signal is forwarded to the step (srun passes it to every task). If the step then ends with a
# non-zero status (75: `microseg segment` wrote its checkpoint and stopped, or `microseg sweep`
# stopped keeping the k values it had finished), the job is requeued, so the program continues
# in the next allocation (segment --resume from its checkpoint, a sweep by k). A step that finished anyway (status 0) is not
# requeued and the script goes on. A job requeued MICROSEG_MAX_REQUEUES times is not requeued
# again. The handler is set as soon as this file is sourced and stays set: a SIGUSR1 that comes
# before or after the step (a time limit shorter than the signal's lead, a slow start) is noted,
# not fatal to the batch shell, and a step that then fails is requeued too.
microseg_step_pid=""
microseg_time_limit_signalled=0
microseg_on_time_limit() {
  microseg_time_limit_signalled=1
  if [[ -n "$microseg_step_pid" ]]; then
    microseg_log "SIGUSR1: the time limit is near; forwarding it to the job step"
    kill -USR1 "$microseg_step_pid" 2>/dev/null || true
  else
    microseg_log "SIGUSR1: the time limit is near; no job step is running to forward it to"
  fi
}
trap microseg_on_time_limit USR1

microseg_requeue() {
  local restarts="${SLURM_RESTART_COUNT:-0}"
  if ((restarts >= MICROSEG_MAX_REQUEUES)); then
    microseg_log "not requeueing: already requeued $restarts times (MICROSEG_MAX_REQUEUES)"
    exit 3
  fi
  microseg_log "the step stopped with status $1 ${2:-after the signal}; requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
  scontrol requeue "$SLURM_JOB_ID"
  exit 0  # not reached when the requeue ends this shell first
}

microseg_step() {
  # shellcheck disable=SC2046  # the options are words without spaces, split on purpose
  srun $(microseg_srun_options) "$@" $(microseg_thread_options "$@") $(microseg_stall_options "$@") &
  microseg_step_pid=$!
  local status
  # `wait` returns early (status > 128) when the trap runs; wait again until the step has ended.
  while :; do
    status=0
    wait "$microseg_step_pid" || status=$?
    kill -0 "$microseg_step_pid" 2>/dev/null || break
  done
  microseg_step_pid=""
  if ((status == 76)); then
    # A rank or the network stopped answering (no progress for --stall-timeout seconds): the
    # requeued job gets the same run directory and resumes from the last checkpoint.
    microseg_requeue "$status" "(a rank or the network stopped answering)"
  fi
  if ((microseg_time_limit_signalled && status != 0)); then
    microseg_requeue "$status"
  fi
  return "$status"
}
