#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh) and runs every test of kerasclr:
#   - pytest: the backend-free tests once, the Keras tests on the tensorflow, jax and torch backends,
#     and the TensorFlow ones again with the oldest supported Keras (setup.sh's second environment);
#   - the wheel: built, installed into a fresh virtualenv, its public-API tests run on the installed copy;
#   - testthat: the whole R suite on tensorflow, the R files that train models again on jax and torch.
# A test that cannot reach Python or Keras fails (KERASCLR_REQUIRE_PYTHON=true) instead of skipping.
# Ends with one line: `tests: N passed, N failed[, N skipped]`, and exits non-zero on any failure.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh || { echo "setup failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
export KERASCLR_REQUIRE_PYTHON=true
export NOT_CRAN=true  # expect_snapshot() and skip_on_cran() tests run here; they skip when NOT_CRAN is unset
BACKENDS=${KERASCLR_TEST_BACKENDS:-"tensorflow jax torch"}
# R test files that drive Keras training, re-run on every backend (the rest are backend-free).
R_KERAS_FILTER=${KERASCLR_R_KERAS_FILTER:-"callbacks|data|fit-one-cycle|lr-range-test|saving|schedules-keras"}
results=$(mktemp -d)
status=0
# Each stage gets a time limit, so that a hang fails the run instead of stalling it.
STAGE_TIMEOUT=${KERASCLR_STAGE_TIMEOUT:-1500}
limit() { timeout --kill-after=30 "$STAGE_TIMEOUT" "$@"; }
failed_stage_xml() {  # file, name: one failure for a stage that wrote no results (crash, time limit)
  [ -s "$1" ] || echo "<testsuite name=\"$2\" tests=\"1\" failures=\"1\"><testcase name=\"$2\"><failure message=\"no results: crashed or over ${STAGE_TIMEOUT}s\"/></testcase></testsuite>" > "$1"
}

run_pytest() {  # label, then pytest arguments; PYTEST_PYTHON: another interpreter
  local label=$1; shift
  echo "== pytest [$label]"
  limit "${PYTEST_PYTHON:-$KERASCLR_VENV/bin/python}" -m pytest -q -p no:cacheprovider --junitxml="$results/py-$label.xml" "$@"
  local rc=$?
  # 5 = nothing collected (e.g. no test of that marker): not a failure of its own.
  if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then status=1; failed_stage_xml "$results/py-$label.xml" "$label"; fi
}

run_installed() {  # the wheel, installed into a fresh virtualenv and tested from outside the checkout
  echo "== wheel build + tests of the installed copy [$1]"
  local work xml=$results/py-installed.xml base site
  work=$(mktemp -d)
  # Build from a copy, so that the checkout (installed into R by setup.sh) gets no build/ or egg-info.
  cp -r inst/python "$work/src" && rm -rf "$work/src/build" "$work/src"/*.egg-info
  # The fresh virtualenv reuses the project's environment (Keras, the backends, pytest) through
  # a .pth file (`--system-site-packages` would give the base interpreter's, not the project's);
  # kerasclr itself comes only from the wheel, installed with --no-deps.
  if "$KERASCLR_VENV/bin/python" -m build --no-isolation --outdir "$work/dist" "$work/src" \
        >"$work/build.log" 2>&1 &&
     "$KERASCLR_VENV/bin/python" -m venv "$work/venv" &&
     base=$("$KERASCLR_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') &&
     site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') &&
     echo "import site; site.addsitedir('$base')" > "$site/_kerasclr_test_base_env.pth" &&
     "$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-index \
        "$work"/dist/kerasclr-*.whl >>"$work/build.log" 2>&1; then
    tail -n 1 "$work/build.log"
    mkdir "$work/tests"
    cp tests/installed/*.py tests/python/test_public_api.py tests/python/test_readme_python.py "$work/tests/"
    (cd "$work/tests" && KERAS_BACKEND=$1 KERASCLR_REPO="$ROOT" KERASCLR_DIST="$work/dist" \
       KERASCLR_INSTALL_PREFIX="$work/venv" \
       limit "$work/venv/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$xml" .) || status=1
  else
    cat "$work/build.log"
    status=1
  fi
  # No results (the build or the install failed): count it as one failure.
  [ -s "$xml" ] || echo '<testsuite name="installed" tests="1" failures="1"><testcase name="build_and_install"><failure message="wheel build or install failed"/></testcase></testsuite>' > "$xml"
  rm -rf "$work"
}

run_testthat() {  # label, filter
  echo "== testthat [$1]"
  if ! limit Rscript scripts/run-testthat.R "$results/r-$1.counts" "$2"; then
    status=1
    # A crashed R session writes no counts: count the run itself as one failure.
    [ -s "$results/r-$1.counts" ] || echo "0 1 0" > "$results/r-$1.counts"
  fi
}

run_pytest core tests/python -m "not keras"
for b in $BACKENDS; do KERAS_BACKEND=$b run_pytest "$b" tests/python -m keras; done
if [[ " $BACKENDS " == *" tensorflow "* ]]; then
  KERAS_BACKEND=tensorflow KERASCLR_EXPECT_KERAS=$KERASCLR_OLDEST_KERAS \
    PYTEST_PYTHON=$KERASCLR_OLDEST_VENV/bin/python \
    run_pytest "tensorflow-keras-$KERASCLR_OLDEST_KERAS" tests/python -m keras
fi
run_installed "${BACKENDS%% *}"
first=1
for b in $BACKENDS; do
  if [ $first = 1 ]; then KERAS_BACKEND=$b run_testthat "$b" ""; first=0
  else KERAS_BACKEND=$b run_testthat "$b" "$R_KERAS_FILTER"; fi
done

"$KERASCLR_VENV/bin/python" scripts/count_results.py "$results" || status=1
exit $status
