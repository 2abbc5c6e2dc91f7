#!/usr/bin/env bash
# Sets up, builds and runs the demo end to end: 200,000 synthetic customers in 12 planted
# segments, segmented on 2 MPI ranks with the settings in jobs/demo.ini; then a two-level base
# segmented into 6 macro segments and 60 micro-segments (jobs/demo_two_level.ini).
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

# The two-level run: 6 planted macro segments of 10 micro-segments each, segmented into 6 macro
# segments and 60 micro-segments (jobs/demo_two_level.ini); its table is grouped by macro segment.
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" generate --customers 200000 --segments 60 \
  --macro-segments 6 --separation 5 --macro-separation 14 --seed 2026 \
  --output "$out/customers_two_level.h5"
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" segment --config jobs/demo_two_level.ini \
  --input "$out/customers_two_level.h5" --output "$out/run_two_level"
echo
echo "demo: inputs in $out/customers.h5 and $out/customers_two_level.h5; results in $out/run and"
echo "      $out/run_two_level (segments.h5, profiles.csv, quality.csv; macro_profiles.csv)"
