#!/usr/bin/env bash
# Sets up, builds and runs the demo end to end: 200,000 synthetic customers in 12 planted
# segments, segmented on 2 MPI ranks with the settings in jobs/demo.ini.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MICROSEG_ROOT/scripts/install-deps.sh"
microseg_build
out="${MICROSEG_DEMO_DIR:-$MICROSEG_ROOT/demo-output}"
mkdir -p "$out"
ranks="${MICROSEG_DEMO_RANKS:-2}"
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" generate --customers 200000 --segments 12 \
  --separation 5 --seed 2026 --output "$out/customers.h5"
cd "$MICROSEG_ROOT"
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" segment --config jobs/demo.ini \
  --input "$out/customers.h5" --output "$out/run"
echo
echo "demo: inputs in $out/customers.h5; results in $out/run (segments.h5, profiles.csv, quality.csv)"
