#!/usr/bin/env bash
# Sets up what kerasclr's demo and tests need on a fresh Debian machine, and is fast when it is
# already done: Debian's R packages, a Python virtualenv (scripts/requirements.txt), a small second
# one with the oldest supported Keras (scripts/requirements-oldest-keras.txt) and the package
# itself installed into a project-local R library (.Rlib). Sourced by demo.sh and test.sh.
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

# 2b. A second, small environment with the oldest supported Keras (requirements-oldest-keras.txt),
# for scripts/test.sh: its own site-packages holds only that Keras; a .pth file then adds the main
# environment's site-packages (TensorFlow and the rest) after it, so nothing else is installed twice.
export KERASCLR_OLDEST_VENV=${KERASCLR_OLDEST_VENV:-$KERASCLR_VENV-oldest-keras}
old_req=$ROOT/scripts/requirements-oldest-keras.txt
export KERASCLR_OLDEST_KERAS=$(sed -n 's/^keras==//p' "$old_req")
purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
main_site=$(purelib "$KERASCLR_VENV/bin/python")
stamp=$(cat "$old_req"; echo "$main_site")
if [ "$stamp" != "$(cat "$KERASCLR_OLDEST_VENV/.kerasclr-requirements.txt" 2>/dev/null)" ]; then
  log "creating $KERASCLR_OLDEST_VENV (Keras $KERASCLR_OLDEST_KERAS over the main environment)"
  rm -rf "$KERASCLR_OLDEST_VENV"
  "$KERASCLR_VENV/bin/python" -m venv --without-pip "$KERASCLR_OLDEST_VENV"
  old_site=$(purelib "$KERASCLR_OLDEST_VENV/bin/python")
  "$KERASCLR_VENV/bin/pip" install -q --disable-pip-version-check --no-deps --target "$old_site" -r "$old_req"
  echo "import site; site.addsitedir('$main_site')" > "$old_site/kerasclr-main-environment.pth"
  check=$(KERAS_BACKEND=tensorflow "$KERASCLR_OLDEST_VENV/bin/python" -c "
import keras, tensorflow as tf
assert keras.__version__ == '$KERASCLR_OLDEST_KERAS', keras.__file__
assert float(keras.ops.convert_to_numpy(keras.ops.add(tf.constant(1.0), 1.0))) == 2.0
print('Keras', keras.__version__, 'with TensorFlow', tf.__version__)" 2>&1) \
    || { echo "$check"; log "the oldest-Keras environment does not work"; exit 1; }
  log "${check##*$'\n'}"
  echo "$stamp" > "$KERASCLR_OLDEST_VENV/.kerasclr-requirements.txt"
fi

# 3. The R package, into the project-local library.
mkdir -p "$KERASCLR_RLIB"
export R_LIBS="$KERASCLR_RLIB${R_LIBS:+:$R_LIBS}"
log "installing kerasclr into $KERASCLR_RLIB"
R CMD INSTALL --no-multiarch --library="$KERASCLR_RLIB" "$ROOT" >"$KERASCLR_RLIB/install.log" 2>&1 \
  || { cat "$KERASCLR_RLIB/install.log"; exit 1; }
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
log "ready: Python $RETICULATE_PYTHON, R library $KERASCLR_RLIB"
