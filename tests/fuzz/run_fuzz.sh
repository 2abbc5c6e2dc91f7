#!/usr/bin/env bash
# Runs the CSV fuzz target for a bounded time: run_fuzz.sh BINARY SEEDS WORKDIR SECONDS.
# Exits non-zero on a crash, a sanitizer report, a failed invariant, a leak or a slow input.
set -euo pipefail
binary="$1" seeds="$2" workdir="$3" seconds="$4"
corpus="$workdir/fuzz-corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
exec "$binary" -max_total_time="$seconds" -seed=20261123 -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix="$workdir/fuzz-crash-" "$corpus" "$seeds"
