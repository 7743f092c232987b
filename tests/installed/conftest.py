"""pytest set-up for the tests of the INSTALLED kerasclr (scripts/test.sh, "installed" stage).

scripts/test.sh builds the wheel, installs it with `pip install --no-deps` into a fresh
virtualenv that reuses the project's environment for Keras and the backends, copies this
folder and tests/python/test_public_api.py and test_readme_python.py to a folder outside the
checkout, and runs pytest there with that virtualenv's Python. Nothing puts the source tree
on sys.path here (unlike tests/python/conftest.py), so `import kerasclr` finds the installed
copy; test_installed_copy.py proves it.

Environment: KERASCLR_REPO (the checkout: DESCRIPTION, the READMEs), KERASCLR_DIST (the
built wheel and sdist), KERASCLR_INSTALL_PREFIX (the fresh virtualenv).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line("markers", "keras: the test uses Keras")
