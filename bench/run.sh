#!/usr/bin/env bash
# The benchmark: microseg and scikit-learn side by side on the same data and cores.
#   bench/run.sh                     all three sizes (takes a while; the machine should be quiet)
#   bench/run.sh --sizes 2000000x24x64 --iterations 20
# Results go to stdout (markdown); record them in docs/benchmarks.md with this command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
"$MICROSEG_ROOT/scripts/install-deps.sh"
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
microseg_build >/dev/null
exec /usr/bin/python3 "$MICROSEG_ROOT/bench/run.py" --build "$MICROSEG_BUILD" \
  --dir "${MICROSEG_BENCH_DIR:-/tmp/microseg-bench}" "$@"
