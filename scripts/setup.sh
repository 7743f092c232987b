#!/usr/bin/env bash
# Sets up what kerasclr's demo and tests need on a fresh Debian machine, and is fast when it is
# already done: Debian's R packages, a Python virtualenv (scripts/requirements.txt) and the
# package itself installed into a project-local R library (.Rlib). Sourced by demo.sh and test.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export KERASCLR_VENV=${KERASCLR_VENV:-$HOME/.virtualenvs/r-kerasclr}
export KERASCLR_RLIB=${KERASCLR_RLIB:-$ROOT/.Rlib}
log() { echo "[setup] $*"; }

# 1. R and R packages from Debian (CRAN is not needed).
debs=(r-base-core r-cran-reticulate r-cran-testthat r-cran-knitr r-cran-rmarkdown r-cran-roxygen2
      r-cran-withr r-cran-pkgload pandoc qpdf)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The Python environment (re-installed only when requirements.txt changes).
req=$ROOT/scripts/requirements.txt
if ! cmp -s "$req" "$KERASCLR_VENV/.kerasclr-requirements.txt"; then
  log "creating the Python environment $KERASCLR_VENV (a few minutes the first time)"
  [ -x "$KERASCLR_VENV/bin/python" ] || python3 -m venv "$KERASCLR_VENV"
  "$KERASCLR_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  # Keras 2 (tf_keras) for the old-style path; --no-deps: it would pull `tensorflow`, which clashes
  # with tensorflow-cpu (the same module).
  "$KERASCLR_VENV/bin/pip" install -q --disable-pip-version-check --no-deps "tf-keras==2.21.0"
  cp "$req" "$KERASCLR_VENV/.kerasclr-requirements.txt"
fi
export RETICULATE_PYTHON="$KERASCLR_VENV/bin/python"

# 3. The R package, into the project-local library.
mkdir -p "$KERASCLR_RLIB"
export R_LIBS="$KERASCLR_RLIB${R_LIBS:+:$R_LIBS}"
log "installing kerasclr into $KERASCLR_RLIB"
R CMD INSTALL --no-multiarch --library="$KERASCLR_RLIB" "$ROOT" >"$KERASCLR_RLIB/install.log" 2>&1 \
  || { cat "$KERASCLR_RLIB/install.log"; exit 1; }
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
log "ready: Python $RETICULATE_PYTHON, R library $KERASCLR_RLIB"
