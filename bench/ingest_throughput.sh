#!/usr/bin/env bash
# Throughput of `microseg ingest transactions` on a generated transaction log (not a test).
#   bench/ingest_throughput.sh [BYTES] [RANKS] [REPEATS]     defaults: 1e9 bytes, 2 ranks, 3 runs
# The log is generated once into $MICROSEG_BENCH_DIR (default /tmp/microseg-bench) by
# bench/ingest_make_transactions.py; the binary is $MICROSEG_BUILD/microseg (default build/).
# The first run warms the page cache and is not counted. Each run prints the command's own
# report; a summary line gives the file size, wall-clock seconds and MB/s per run, and the load
# average before and after, since the machine must be quiet for the numbers to mean anything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
bytes="${1:-1e9}"
ranks="${2:-2}"
repeats="${3:-3}"
dir="${MICROSEG_BENCH_DIR:-/tmp/microseg-bench}"
mkdir -p "$dir"
csv="$dir/transactions-$bytes.csv"
if [[ ! -f "$csv" ]]; then
  /usr/bin/python3 "$MICROSEG_ROOT/bench/ingest_make_transactions.py" "$csv" --bytes "$bytes"
fi
size=$(stat -c %s "$csv")
ingest=(mpiexec -n "$ranks" --bind-to none "$MICROSEG_BUILD/microseg" ingest transactions
        --csv "$csv" --customer-column customer_id --date-column order_date
        --unit-price-column amount --quantity-column quantity --as-of 2024-12-31
        --output "$dir/rfm.h5")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"${ingest[@]}" > /dev/null  # warm the page cache
for ((run = 1; run <= repeats; ++run)); do
  start=$(date +%s.%N)
  "${ingest[@]}"
  end=$(date +%s.%N)
  awk -v b="$size" -v s="$start" -v e="$end" -v r="$run" -v p="$ranks" 'BEGIN {
    printf "run %d: %.3f GB on %d ranks in %.2f s wall clock (mpiexec included): %.0f MB/s\n",
           r, b / 1e9, p, e - s, b / 1e6 / (e - s) }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
