#!/usr/bin/env bash
# The benchmark: microseg and scikit-learn side by side on the same data and cores.
#   bench/run.sh                     all three sizes (takes a while; the machine should be quiet)
#   bench/run.sh --sizes 2000000x24x64 --iterations 20
#   bench/run.sh --help              how to select sizes, full fits and the seeding comparison
# Results go to stdout (markdown); record them in docs/benchmarks.md with this command.
set -euo pipefail
for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then
    exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/run.py" --help
  fi
done
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
"$MICROSEG_ROOT/scripts/install-deps.sh"
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
microseg_build >/dev/null
exec /usr/bin/python3 "$MICROSEG_ROOT/bench/run.py" --build "$MICROSEG_BUILD" \
  --dir "${MICROSEG_BENCH_DIR:-/tmp/microseg-bench}" "$@"
