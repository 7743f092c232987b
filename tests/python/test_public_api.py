"""The public Python API: the top-level names, lazy imports, typed signatures, runnable
docstring examples, one version number, the range test's result object, the plots and the
optional extras.

scripts/test.sh also runs this file against the wheel installed in a fresh virtualenv
(tests/installed/), from a folder outside the checkout; hence the repository is found
through KERASCLR_REPO there, and no test imports from tests/python.
"""

import doctest
import inspect
import math
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import kerasclr
from kerasclr import suggestions

REPO = pathlib.Path(os.environ.get("KERASCLR_REPO") or pathlib.Path(__file__).resolve().parents[2])
BACKEND_MODULES = ("keras", "tensorflow", "jax", "torch", "tf_keras")
OPTIONAL_MODULES = ("matplotlib", "pandas")
EXPECTED_ALL = {"CyclicLR", "OneCycle", "CyclicSchedule", "OneCycleSchedule", "lr_range_test",
                "RangeTestResult", "fit_one_cycle", "cyclic_lr", "cyclic_momentum", "one_cycle_lr",
                "one_cycle_momentum", "ONE_CYCLE_PRESETS", "__version__"}
DATA_NAMES = ("ONE_CYCLE_PRESETS", "__version__")  # documented in the package docstring


def _python(code):
    """Runs ``code`` in a fresh interpreter that imports this test's copy of kerasclr."""
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(kerasclr.__file__).parents[1]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# --------------------------------------------------------------------------- #
# Names, lazy imports, version
# --------------------------------------------------------------------------- #
def test_all_lists_the_public_api():
    assert set(kerasclr.__all__) == EXPECTED_ALL
    assert len(kerasclr.__all__) == len(set(kerasclr.__all__))
    assert dir(kerasclr) == sorted(EXPECTED_ALL)  # tab completion shows the public API


def test_import_needs_no_keras_backend_or_plotting_library():
    out = _python(
        "import sys, kerasclr, numpy as np\n"
        "kerasclr.cyclic_lr(np.arange(10), step_size=3); kerasclr.one_cycle_lr([0, 5], 10, 0.1)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {BACKEND_MODULES + OPTIONAL_MODULES!r}))")
    assert out.strip() == "[]"


@pytest.mark.keras
def test_a_keras_name_imports_its_module_on_first_use():
    out = _python(
        "import sys, kerasclr\n"
        "print('keras' in sys.modules)\n"
        "schedule = kerasclr.CyclicSchedule(step_size=4)\n"
        "print('keras' in sys.modules, 'kerasclr.schedules' in sys.modules)\n"
        "from kerasclr import OneCycle, lr_range_test\n"
        "print(OneCycle.__module__, lr_range_test.__module__)")
    assert out.split() == ["False", "True", "True", "kerasclr.callbacks", "kerasclr.range_test"]


@pytest.mark.keras
def test_every_public_name_resolves():
    from kerasclr.callbacks import CyclicLR
    from kerasclr.schedules import CyclicSchedule

    for name in kerasclr.__all__:
        assert getattr(kerasclr, name) is not None, name
    assert kerasclr.CyclicLR is CyclicLR and kerasclr.CyclicSchedule is CyclicSchedule
    namespace = {}
    exec("from kerasclr import *", namespace)
    assert EXPECTED_ALL - {"__version__"} <= set(namespace)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'CyclicalLearningRate'"):
        kerasclr.CyclicalLearningRate  # noqa: B018


def _description_version():
    text = (REPO / "DESCRIPTION").read_text()
    return re.search(r"^Version:\s*(\S+)\s*$", text, re.M).group(1)


def test_one_version_number_the_same_as_description():
    assert kerasclr.__version__ == _description_version()
    pyproject = (REPO / "inst" / "python" / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M)
    assert re.search(r'^version = \{ attr = "kerasclr.__version__" \}', pyproject, re.M)
    assert not re.search(r'^version = "', pyproject, re.M)  # no second copy of the number


def test_py_typed_marker_ships_with_the_package():
    assert (pathlib.Path(kerasclr.__file__).parent / "py.typed").is_file()


# --------------------------------------------------------------------------- #
# Signatures and docstrings
# --------------------------------------------------------------------------- #
def _public_callables():
    return [name for name in sorted(EXPECTED_ALL) if name not in DATA_NAMES]


@pytest.mark.keras
@pytest.mark.parametrize("name", _public_callables())
def test_public_signature_is_typed(name):
    obj = getattr(kerasclr, name)
    function = obj.__init__ if inspect.isclass(obj) else obj
    signature = inspect.signature(function)
    untyped = [p.name for p in signature.parameters.values()
               if p.name != "self" and p.annotation is inspect.Parameter.empty]
    assert not untyped, f"{name}: parameters without a type hint: {untyped}"
    if not inspect.isclass(obj):
        assert signature.return_annotation is not inspect.Signature.empty, name


@pytest.mark.keras
@pytest.mark.parametrize("name", _public_callables() + ["kerasclr"])
def test_docstring_example_runs(name, tmp_path, monkeypatch):
    """Every public name has a Keras-style docstring whose example runs as written (empty
    globals: an example imports what it uses)."""
    monkeypatch.chdir(tmp_path)
    obj = kerasclr if name == "kerasclr" else getattr(kerasclr, name)
    doc = inspect.getdoc(obj) or ""
    assert "Example" in doc, f"{name}: no Example section"
    if name != "kerasclr":
        assert "Args:" in doc or "Attributes:" in doc, f"{name}: no Args/Attributes section"
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}) if t.examples]
    assert tests, f"{name}: no runnable example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted > 0, name


# --------------------------------------------------------------------------- #
# The range test's result
# --------------------------------------------------------------------------- #
def _regression(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=n)).astype("float32")
    return x, y[:, None]


def _compiled(keras, seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    return model


@pytest.fixture(scope="module")
def keras_module():
    import keras

    return keras


@pytest.fixture(scope="module")
def range_result(keras_module):
    x, y = _regression()
    return kerasclr.lr_range_test(_compiled(keras_module), x, y, start_lr=1e-4, end_lr=10,
                                  num_iter=60, batch_size=16, verbose=False)


@pytest.fixture(scope="module")
def grid_result(keras_module):
    x, y = _regression()
    return kerasclr.lr_range_test(_compiled(keras_module), x, y, start_lr=1e-4, end_lr=10,
                                  num_iter=30, batch_size=16, verbose=False,
                                  weight_decay=[0.0, 0.01])


@pytest.mark.keras
def test_result_fields_follow_from_the_recorded_curve(range_result):
    r = range_result
    assert isinstance(r, kerasclr.RangeTestResult)
    steps = r.runs[0]["steps"]
    assert list(r.history) == ["lr", "loss", "smoothed_loss"]
    for column in r.history.values():
        assert isinstance(column, np.ndarray) and column.dtype == np.float64
        assert column.shape == (steps,)
    # The learning rates are the exponential sweep; the suggestions are fastai's methods
    # applied to the recorded smoothed curve, and lr_range is kerasclr's rule on that curve
    # (for a curve that fell: max_lr = 10 * minimum / 6, base_lr = max_lr / 4).
    np.testing.assert_allclose(r.history["lr"], 1e-4 * 1e5 ** (np.arange(steps) / 59), rtol=1e-12)
    expected = suggestions.suggest(r.history["lr"], r.history["smoothed_loss"], num_iter=60)
    assert list(r.suggestions) == ["valley", "steep", "minimum", "slide"]
    assert r.suggestions == pytest.approx(expected, rel=1e-12, nan_ok=True)
    assert suggestions.curve_fell(r.history["lr"], r.history["smoothed_loss"], num_iter=60)
    max_lr = 10 * expected["minimum"] / 6
    assert r.lr_range == pytest.approx((max_lr / 4, max_lr), rel=1e-12)
    assert isinstance(r.lr_range, tuple) and r.best_run == 0 and len(r.runs) == 1
    import keras

    assert r.settings["num_iter"] == 60 and r.settings["backend"] == keras.backend.backend()


@pytest.mark.keras
def test_result_reads_as_a_mapping_of_its_fields(range_result):
    r = range_result
    assert list(r) == ["history", "runs", "best_run", "suggestions", "lr_range", "settings"]
    for key in r:
        assert r[key] is getattr(r, key)
    assert dict(r)["lr_range"] == r.lr_range
    with pytest.raises(KeyError):
        r["plot"]


@pytest.mark.keras
def test_result_repr_says_what_was_found(range_result, grid_result):
    text = repr(range_result)
    assert text.startswith("<RangeTestResult> 60 steps asked, lr 0.0001 -> 10 (exp)")
    assert range_result.runs[0]["message"] in text
    for name, value in range_result.suggestions.items():
        assert re.search(rf"^  {name}\s+{re.escape(f'{value:.3g}')}", text, re.M), name
    low, high = range_result.lr_range
    assert f"base_lr = {low:.3g}, max_lr = {high:.3g}" in text
    grid = repr(grid_result)
    assert "2 runs:" in grid and "weight_decay=0:" in grid and "weight_decay=0.01:" in grid
    assert grid.count("<- best") == 1


@pytest.mark.keras
def test_result_to_pandas(range_result, grid_result):
    pd = pytest.importorskip("pandas")
    frame = range_result.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(range_result.history)
    for key, values in range_result.history.items():
        np.testing.assert_array_equal(frame[key].to_numpy(), values)
    grid = grid_result.to_pandas()
    assert list(grid.columns) == ["run", "lr", "loss", "smoothed_loss", "weight_decay"]
    steps = [run["steps"] for run in grid_result.runs]
    np.testing.assert_array_equal(grid["run"].to_numpy(), np.repeat([0, 1], steps))
    np.testing.assert_array_equal(grid["weight_decay"].to_numpy(), np.repeat([0.0, 0.01], steps))


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.mark.keras
def test_result_plot_draws_curve_suggestions_and_range(range_result, pyplot):
    r = range_result
    ax = r.plot(skip_end=5)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate"
    curve, *markers = ax.get_lines()
    keep = r.runs[0]["steps"] - 5
    np.testing.assert_array_equal(curve.get_xdata(), r.history["lr"][:keep])
    np.testing.assert_array_equal(curve.get_ydata(), r.history["smoothed_loss"][:keep])
    finite = {k: v for k, v in r.suggestions.items() if math.isfinite(v)}
    assert [m.get_label().split()[0] for m in markers] == list(finite)
    for marker, value in zip(markers, finite.values()):
        assert marker.get_xdata()[0] == value
        at = np.interp(np.log(value), np.log(r.history["lr"][:keep]), r.history["smoothed_loss"][:keep])
        assert marker.get_ydata()[0] == pytest.approx(at, rel=1e-12)
    (span,) = ax.patches
    x0 = span.get_x()  # axvspan: a Rectangle in data coordinates along x
    assert (x0, x0 + span.get_width()) == pytest.approx(r.lr_range, rel=1e-9)
    _, own = pyplot.subplots()
    assert r.plot(ax=own) is own


@pytest.mark.keras
def test_grid_result_plot_has_one_curve_per_run(grid_result, pyplot):
    ax = grid_result.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["weight_decay=0", "weight_decay=0.01"]


# --------------------------------------------------------------------------- #
# The callbacks take the result; their history and plot
# --------------------------------------------------------------------------- #
@pytest.mark.keras
def test_callbacks_accept_the_result(range_result):
    low, high = range_result.lr_range
    one_cycle = kerasclr.OneCycle(max_lr=range_result, total_iterations=100)
    peak = kerasclr.one_cycle_lr(np.arange(100), 100, max_lr=high)
    np.testing.assert_allclose(one_cycle.learning_rate_at(np.arange(100)), peak, rtol=1e-12)
    cyclic = kerasclr.CyclicLR(lr_range=range_result, step_size=10)
    np.testing.assert_allclose(cyclic.learning_rate_at([0, 5, 10, 20]),
                               [low, (low + high) / 2, high, low], rtol=1e-12)
    pair = kerasclr.CyclicLR(lr_range=(0.01, 0.1), step_size=10)
    np.testing.assert_allclose(pair.learning_rate_at([0, 10]), [0.01, 0.1], rtol=1e-12)


@pytest.mark.keras
@pytest.mark.parametrize("kwargs, match", [
    (dict(lr_range=(0.01, 0.1), max_lr=1.0), "Give `lr_range` or `base_lr`/`max_lr`, not both"),
    (dict(lr_range=(0.1, 0.01)), "Argument `lr_range` must be .* 0 <= min < max"),
    (dict(lr_range="0.1"), "Argument `lr_range` must be a RangeTestResult or a pair"),
    (dict(lr_range=(float("nan"), 0.1)), "Argument `lr_range`"),
])
def test_bad_lr_range_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kerasclr.CyclicLR(**kwargs)


def _fit_with(keras, callback, epochs=2):
    x, y = _regression(n=64)
    model = _compiled(keras)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[callback])
    return callback


@pytest.mark.keras
@pytest.mark.parametrize("momentum", [(0.95, 0.85), None])
def test_callback_plot_has_the_panels_of_r(keras_module, pyplot, momentum):
    cb = _fit_with(keras_module, kerasclr.CyclicLR(base_lr=1e-3, max_lr=1e-2, step_size=4,
                                                   momentum=momentum))
    history = cb.history_arrays()
    axes = cb.plot(log_lr=True)
    panels = ["learning_rate", "momentum", "loss"] if momentum else ["learning_rate", "loss"]
    assert [ax.get_ylabel() for ax in axes] == [
        {"learning_rate": "learning rate", "momentum": "momentum", "loss": "batch loss"}[p]
        for p in panels]
    for ax, panel in zip(axes, panels):
        (line,) = ax.get_lines()
        np.testing.assert_array_equal(line.get_xdata(), history["iteration"])
        np.testing.assert_array_equal(line.get_ydata(), history[panel])
    assert axes[0].get_yscale() == "log" and axes[-1].get_xlabel() == "iteration"
    assert list(history["iteration"]) == list(range(8))


@pytest.mark.keras
def test_callback_plot_before_fit_says_so(pyplot):
    with pytest.raises(ValueError, match="no history yet"):
        kerasclr.OneCycle(max_lr=0.1).plot()


# --------------------------------------------------------------------------- #
# Optional extras: a clear ImportError naming the extra
# --------------------------------------------------------------------------- #
def _hand_made_result():
    lrs = np.geomspace(1e-4, 1.0, 40)
    smoothed = 1.0 + (np.log10(lrs) + 1.0) ** 2
    sug = suggestions.suggest(lrs, smoothed, num_iter=40)
    run = dict(weight_decay=None, momentum=None, steps=40, stop_reason="completed",
               message="completed all 40 steps", suggestions=sug,
               lr_range=list(suggestions.lr_range_rule(lrs, smoothed, num_iter=40)), score=1.0)
    return kerasclr.RangeTestResult(dict(lr=lrs, loss=smoothed, smoothed_loss=smoothed), [run], 0,
                                    sug, suggestions.lr_range_rule(lrs, smoothed, num_iter=40),
                                    dict(num_iter=40, start_lr=1e-4, end_lr=1.0, step_mode="exp"))


@pytest.mark.parametrize("missing, call", [
    ("matplotlib", lambda r: r.plot()),
    ("pandas", lambda r: r.to_pandas()),
])
def test_missing_extra_names_what_to_install(monkeypatch, missing, call):
    for module in [m for m in sys.modules if m == missing or m.startswith(missing + ".")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` now raises ImportError
    with pytest.raises(ImportError, match=rf'needs {missing}.*pip install "kerasclr\[plot\]"'):
        call(_hand_made_result())


@pytest.mark.keras
def test_callback_plot_without_matplotlib_names_the_extra(monkeypatch):
    callback = kerasclr.OneCycle(max_lr=0.1)
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'needs matplotlib.*pip install "kerasclr\[plot\]"'):
        callback.plot()


# --------------------------------------------------------------------------- #
# The demo
# --------------------------------------------------------------------------- #
@pytest.mark.keras
def test_demo_prints_its_table_its_grids_and_a_finding_from_the_numbers(tmp_path, capsys):
    from kerasclr import demo

    seeds, grid = (42, 7), (0.03, 0.3)
    out = demo.main(["--out", str(tmp_path), "--epochs", "1", "--seeds", "42,7",
                     "--grid", "0.03,0.3"])
    printed = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accuracy.png", "clr-schedule.png", "one-cycle-history.png", "range-test.png",
        "results.csv", "runs.csv"]
    pipe, const, cos = out["results"]
    rows = out["rows"]
    # The pipeline: fit_one_cycle() with its defaults, its peak the range test's, E epochs.
    assert rows[0]["policy"].startswith("fit_one_cycle(), max_lr ")
    for run in pipe["runs"]:
        fit = run["fit"]
        assert run["range_test_steps"] == fit.range_test_steps > 0
        assert run["max_lr"] == fit.max_lr == fit.range_test.lr_range[1]
        assert len(run["val_curve"]) == 1 and len(fit.one_cycle.history["learning_rate"]) == 32
    steps = np.mean([r["range_test_steps"] for r in pipe["runs"]])
    assert rows[0]["epochs"] == f"1 + {steps / 32:.1f} (range test)"
    # The baselines: every grid value and seed trained (the constant 2 E epochs), the value
    # chosen on the mean validation accuracy, never on test.
    for res, epochs in ((const, 2), (cos, 1)):
        assert sorted((r["value"], r["seed"]) for r in res["runs"]) == sorted(
            (v, s) for v in grid for s in seeds)
        assert all(len(r["val_curve"]) == epochs for r in res["runs"])
        mean_val = {v: np.mean([r["val_curve"][-1] for r in res["runs"] if r["value"] == v])
                    for v in grid}
        assert res["value"] == max(grid, key=mean_val.get)
        assert [r["seed"] for r in res["chosen"]] == list(seeds)
        assert all(r["value"] == res["value"] for r in res["chosen"])
    assert rows[1]["policy"] == f"best constant (chose {const['value']:g})"
    assert rows[1]["epochs"] == "2 (x 2 to tune)" and rows[2]["epochs"] == "1 (x 2 to tune)"
    # Accuracies are real: finite and far above chance (0.1) after one epoch.
    for res, row in zip((pipe, const, cos), rows):
        tests = [r["test"] for r in res["chosen"]]
        assert all(math.isfinite(t) and 0.3 < t <= 1 for t in tests)
        assert row["test_accuracy"] == round(float(np.mean(tests)), 4)
        assert row["test_sd"] == round(float(np.std(tests, ddof=1)), 4)
        assert row["policy"] in printed and f"{row['test_accuracy']:.4f} ± " in printed
    # The finding is the last line printed, and says what the numbers say.
    mean = {name: np.mean([r["test"] for r in res["chosen"]])
            for name, res in zip(("pipe", "const", "cos"), (pipe, const, cos))}
    sd_cos = np.std([r["test"] for r in cos["chosen"]], ddof=1)
    line = printed.strip().splitlines()[-1]
    assert line == out["finding"] and line.startswith("Finding: fit_one_cycle() reached test")
    for name in mean:
        assert f"{mean[name]:.4f} ± " in line
    assert ("At least the best constant: met;" in line) == (mean["pipe"] >= mean["const"])
    assert ("of the cosine: met." in line) == (mean["pipe"] + sd_cos >= mean["cos"])
    csv_lines = (tmp_path / "results.csv").read_text().strip().splitlines()
    assert csv_lines[0] == "policy,epochs,val_accuracy,val_sd,test_accuracy,test_sd,seconds"
    assert len(csv_lines) == 4
    assert len((tmp_path / "runs.csv").read_text().strip().splitlines()) == 1 + 2 * (1 + 2 + 2)


def test_demo_finding_judges_the_two_goals_as_the_panel_does():
    from kerasclr import demo

    def result(name, tests, grid=None, value=None, epochs=10):
        runs = [dict(test=t, val_curve=[0.0], range_test_steps=100, value=value) for t in tests]
        return dict(policy=demo.Policy(name, train=None, grid=grid), runs=runs, chosen=runs,
                    value=value, epochs=epochs)

    grid = (0.01, 0.1)
    pipe = result("fit_one_cycle()", [0.96, 0.97])  # mean 0.965
    const = result("best constant", [0.95, 0.95], grid, 0.1, epochs=20)
    # The cosine 0.975 +- 0.0141: 0.965 is within one sd of it; 0.9875 +- 0.0035 is not.
    line = demo.finding([pipe, const, result("cosine", [0.965, 0.985], grid, 0.1)])
    assert line.endswith("At least the best constant: met; within one seed sd (0.0141) of the "
                         "cosine: met.")
    assert "0.9650 ± 0.0071 in 10 epochs + 100 range-test steps" in line
    assert "the best constant (0.1, chosen among 2 on validation) 0.9500 ± 0.0000 in 20" in line
    line = demo.finding([pipe, result("best constant", [0.97, 0.97], grid, 0.01, epochs=20),
                         result("cosine", [0.985, 0.99], grid, 0.1)])
    assert line.endswith("At least the best constant: NOT met; within one seed sd (0.0035) of "
                         "the cosine: NOT met.")
    one_seed = demo.finding([result("p", [0.9]), result("c", [0.8], grid, 0.1, 20),
                             result("k", [0.95], grid, 0.1)])
    assert one_seed.endswith("of the cosine: undecided (one seed, no sd).")
