#!/bin/bash
# Submits a sweep over k as a Slurm job array plus its merge step (run on a login node):
#
#   scripts/slurm/submit-sweep.sh [--tasks T] [--sbatch "OPTIONS"] JOB.ini K_LIST [sweep options]
#
#   --tasks T           array tasks (default 4, at most the number of k); task I fits every T-th k
#   --sbatch "OPTIONS"  extra sbatch options for the array tasks (e.g. "--ntasks=8 --time=8:00:00")
#   K_LIST              as `microseg sweep --k`: FIRST:LAST[:STEP] or K1,K2,...
#
# The merge (sweep-merge.sbatch) runs only if every task succeeds (--dependency=afterok on the
# array; --kill-on-invalid-dep cancels it otherwise). Prints the job ids and the sweep directory,
# RUNS/sweep/DATE-ARRAYJOBID.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# From a clone, runs go under the clone; from an installed tree, under the current directory.
if [[ "$here" == */share/microseg/slurm ]]; then
  export MICROSEG_ROOT="${MICROSEG_ROOT:-$PWD}"
else
  export MICROSEG_ROOT="${MICROSEG_ROOT:-$(cd "$here/../.." && pwd)}"
fi
export MICROSEG_SLURM_DIR="$here"
source "$here/common.sh"

tasks=4
sbatch_options=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --sbatch) sbatch_options="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[[ $# -ge 2 ]] || microseg_die "usage: submit-sweep.sh [--tasks T] [--sbatch OPTIONS] JOB.ini K_LIST [sweep options]"
config="$1" k_list="$2"
shift 2
microseg_check_binary
microseg_check_config "$config"
[[ "$tasks" =~ ^[1-9][0-9]*$ ]] || microseg_die "--tasks: '$tasks' is not a positive number"

# How many k the list holds (microseg checks the list itself again in every task).
if [[ "$k_list" =~ ^([0-9]+):([0-9]+)(:([0-9]+))?$ ]]; then
  first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]} step=${BASH_REMATCH[4]:-1}
  ((step >= 1 && last >= first)) || microseg_die "K_LIST '$k_list' is an empty or inverted range"
  count=$(((last - first) / step + 1))
elif [[ "$k_list" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  count=$(tr ',' '\n' <<<"$k_list" | wc -l)
else
  microseg_die "K_LIST '$k_list' is not FIRST:LAST[:STEP] or K1,K2,..."
fi
if ((tasks > count)); then
  microseg_log "only $count values of k: using $count tasks instead of $tasks"
  tasks=$count
fi

date=$(date +%F)
# shellcheck disable=SC2086  # sbatch_options is a list of options
array=$(sbatch --parsable --array="0-$((tasks - 1))" \
  --export="ALL,MICROSEG_ROOT=$MICROSEG_ROOT,MICROSEG_SWEEP_DATE=$date" $sbatch_options \
  "$here/sweep-array.sbatch" "$config" "$k_list" "$@")
array="${array%%;*}"
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --export="ALL,MICROSEG_ROOT=$MICROSEG_ROOT,MICROSEG_SWEEP_DATE=$date,MICROSEG_SWEEP_ARRAY_JOB=$array" \
  "$here/sweep-merge.sbatch" "$k_list")
merge="${merge%%;*}"
echo "array=$array tasks=$tasks merge=$merge dir=$MICROSEG_RUNS/sweep/$date-$array"
