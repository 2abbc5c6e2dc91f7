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

# The lifecycle: quarters q1-q3 of one base with planted movement and churn, each segmented with
# the previous quarter's run as --previous (stable ids, migration, at-risk moves), the forecast
# two quarters ahead, and a campaign on q3 measured against its control group.
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" generate --customers 60000 --segments 8 \
  --separation 5 --seed 2026 --quarters 3 --migration-rate 0.1 --churn-rate 0.05 \
  --new-customers 4000 --output "$out/quarters"
previous=()
for q in 1 2 3; do
  mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" segment --config jobs/demo.ini --k 8 \
    --input "$out/quarters/q$q.h5" --output "$out/run-q$q" "${previous[@]}"
  previous=(--previous "$out/run-q$q")
done
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" forecast --runs "$out/run-q1" "$out/run-q2" \
  "$out/run-q3" --horizon 2 --output "$out/forecast"
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" generate campaign --run "$out/run-q3" \
  --base-rate 0.1 --uplift 0.08,0.05,0,-0.03,0.02,0.06,0.04,0.01 --seed 3 \
  --output "$out/campaign.csv"
mpiexec -n "$ranks" "$MICROSEG_BUILD/microseg" evaluate --run "$out/run-q3" \
  --outcomes "$out/campaign.csv" --id-column customer_id --group-column group \
  --treatment treated --control control --converted-column converted --revenue-column revenue \
  --cost-per-contact 0.4 --previous "$out/run-q2" --output "$out/eval"
if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
  /usr/bin/python3 "$MICROSEG_ROOT/scripts/plot_forecast.py" "$out/forecast"
  /usr/bin/python3 "$MICROSEG_ROOT/scripts/plot_uplift.py" "$out/eval"
fi
echo
echo "demo: inputs in $out/customers.h5 and $out/customers_two_level.h5; results in $out/run and"
echo "      $out/run_two_level (segments.h5, profiles.csv, quality.csv; macro_profiles.csv)"
echo "      lifecycle: $out/quarters/q1-q3.h5, $out/run-q1..q3 (migration.csv, at_risk.csv),"
echo "      $out/forecast (segments_forecast.csv, at_risk_forecast.csv), $out/eval (uplift.csv)"
