"""pytest set-up: imports kerasclr from inst/python, and handles two markers.

- ``@pytest.mark.keras``: the test uses Keras; scripts/test.sh runs these once per backend
  (KERAS_BACKEND=tensorflow|jax|torch), and the others once.
- ``@pytest.mark.backends("jax", ...)``: the test only makes sense on those backends; on the
  others it is deselected (not skipped), so it is neither counted as passed nor as skipped.

It also ends the process once pytest is done with it (see ``pytest_unconfigure``).
"""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "inst" / "python"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line("markers", "keras: the test uses Keras (run once per backend)")
    config.addinivalue_line("markers", "backends(*names): run only on these Keras backends")


def current_backend():
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        if marker is not None and current_backend() not in marker.args:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_EXIT_STATUS = {}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # After the summary and the JUnit file are written, leave without the interpreter's
    # teardown: with TensorFlow loaded, the destructor of a tf.data iterator still alive
    # then (a prefetch iterator of a Keras fit) can wait forever for its thread (seen once
    # in CI, TensorFlow 2.21: ~PrefetchDatasetOp::Dataset::Iterator in Py_Finalize).
    if "tensorflow" in sys.modules and "code" in _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS["code"])
