"""inst/python/README-python.md runs as written, and its R <-> Python table is complete.

Every ```python block of the README is executed, in order, in one namespace (later blocks
use what earlier ones defined), in a temporary folder. scripts/test.sh also runs this file
against the installed wheel (see tests/installed/); the repository is then found through
KERASCLR_REPO.
"""

import os
import pathlib
import re
import warnings

import numpy as np
import pytest

import kerasclr

REPO = pathlib.Path(os.environ.get("KERASCLR_REPO") or pathlib.Path(__file__).resolve().parents[2])
README = REPO / "inst" / "python" / "README-python.md"
MAIN_README = REPO / "README.md"
TABLE = re.compile(r"<!-- r-python-table[^>]*-->\n(.*?)<!-- /r-python-table -->", re.S)


def _blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.M | re.S)


@pytest.mark.keras
def test_every_python_block_runs(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = _blocks("python")
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    try:
        for number, block in enumerate(blocks, 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # e.g. matplotlib font notes
                exec(compile(block, f"README-python.md block {number}", "exec"), namespace)
    finally:
        plt.close("all")
    # What the blocks promise: a range test fed into the callbacks, plots written.
    assert isinstance(namespace["result"], kerasclr.RangeTestResult)
    assert (tmp_path / "range-test.png").stat().st_size > 0
    steps = 3 * 16  # the fit of the OneCycle block: 3 epochs of 512 / 32 batches
    np.testing.assert_allclose(
        namespace["one_cycle"].history["learning_rate"],
        kerasclr.one_cycle_lr(np.arange(steps), steps, max_lr=namespace["result"].lr_range[1]),
        rtol=1e-6)  # the float32 values the optimizer used
    assert len(namespace["clr"].history["iteration"]) == 4 * 16


def test_the_demo_command_is_in_both_readmes():
    command = "python -m kerasclr.demo"
    assert any(line.startswith(command) for block in _blocks("bash") for line in block.splitlines())
    assert command in MAIN_README.read_text()


def _table(path):
    match = TABLE.search(path.read_text())
    assert match, f"{path.name}: no r-python-table"
    return match.group(1).strip()


def test_r_python_table_is_the_same_in_both_readmes_and_complete():
    table = _table(README)
    assert table == _table(MAIN_README)
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    r_side = " ".join(r for r, _ in rows)
    py_side = " ".join(py for _, py in rows)
    exports = re.findall(r"^export\((\w+)\)", (REPO / "NAMESPACE").read_text(), re.M)
    assert exports
    for name in exports:
        assert f"`{name}(" in r_side, f"R export {name} missing from the table"
    for name in kerasclr.__all__:
        assert re.search(rf"`(\*\*|kerasclr\.)?{re.escape(name)}\b", py_side), f"{name} missing from the table"
