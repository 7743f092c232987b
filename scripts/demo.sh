#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh) and runs the main demo: the learning-rate range test
# and one-cycle training against constant learning rates on scikit-learn's handwritten digits.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
export KERASCLR_DEMO_OUT=${KERASCLR_DEMO_OUT:-$ROOT/out/demo}
Rscript demo/digits.R
