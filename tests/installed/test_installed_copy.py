"""The wheel and sdist that `python -m build` made, and the copy of kerasclr installed from
the wheel: these tests run outside the checkout (see conftest.py) and check that what is
imported is the installed copy, with the metadata and files a Python user relies on."""

import importlib.metadata
import os
import pathlib
import re
import sys
import tarfile
import zipfile

import pytest

import kerasclr


def _env_path(name):
    value = os.environ.get(name)
    assert value, f"{name} is not set: run these tests through scripts/test.sh"
    return pathlib.Path(value).resolve()


REPO = _env_path("KERASCLR_REPO")
DIST = _env_path("KERASCLR_DIST")
PREFIX = _env_path("KERASCLR_INSTALL_PREFIX")
VERSION = re.search(r"^Version:\s*(\S+)", (REPO / "DESCRIPTION").read_text(), re.M).group(1)
SOURCE_MODULES = sorted(p.name for p in (REPO / "inst" / "python" / "kerasclr").glob("*.py"))
EXTRAS = {"tensorflow", "jax", "torch", "plot", "test"}


def _inside(path, folder):
    try:
        pathlib.Path(path).resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def test_imported_kerasclr_is_the_installed_copy_not_the_checkout():
    location = pathlib.Path(kerasclr.__file__).resolve()
    assert not _inside(location, REPO), f"kerasclr imported from the checkout: {location}"
    assert _inside(location, PREFIX), f"kerasclr not imported from the fresh virtualenv: {location}"
    assert pathlib.Path(sys.prefix).resolve() == PREFIX
    assert not _inside(__file__, REPO) and not _inside(os.getcwd(), REPO)
    assert all(not _inside(entry, REPO) for entry in sys.path if entry)


def test_installed_files_and_metadata():
    dist = importlib.metadata.distribution("kerasclr")
    assert dist.version == kerasclr.__version__ == VERSION
    meta = dist.metadata
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.9"
    assert "keras>=3.8" in dist.requires and "numpy" in dist.requires
    assert EXTRAS <= set(meta.get_all("Provides-Extra"))
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta["Summary"] and "# kerasclr for Python" in dist.read_text("METADATA")
    files = {str(f) for f in dist.files}
    assert "kerasclr/py.typed" in files
    assert {f"kerasclr/{m}" for m in SOURCE_MODULES} <= files
    assert any(f.endswith("licenses/LICENSE") for f in files)
    assert (pathlib.Path(kerasclr.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("extra, needs", [("plot", {"matplotlib", "pandas"}),
                                          ("tensorflow", {"tensorflow"}), ("jax", {"jax"}),
                                          ("torch", {"torch"}), ("test", {"pytest", "scikit-learn"})])
def test_each_extra_installs_what_it_says(extra, needs):
    requires = importlib.metadata.distribution("kerasclr").requires
    named = {re.split(r"[<>=;\s\[]", r)[0] for r in requires if f'extra == "{extra}"' in r}
    assert needs <= named


def test_wheel_and_sdist_were_built_with_the_same_version():
    wheel = DIST / f"kerasclr-{VERSION}-py3-none-any.whl"
    sdist = DIST / f"kerasclr-{VERSION}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in DIST.iterdir())
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"kerasclr/{m}" for m in SOURCE_MODULES} | {"kerasclr/py.typed"} <= names
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"pyproject.toml", "README-python.md", "LICENSE", "kerasclr/py.typed"} <= names
    assert {f"kerasclr/{m}" for m in SOURCE_MODULES} <= names
