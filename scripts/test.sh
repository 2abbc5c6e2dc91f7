#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   scripts/test.sh                 everything
#   scripts/test.sh -LE slurm       everything but the Slurm tests (any ctest arguments pass on)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MICROSEG_ROOT/scripts/install-deps.sh"
microseg_build
cd "$MICROSEG_BUILD"
ctest --output-on-failure --timeout 900 -j 1 "$@"
