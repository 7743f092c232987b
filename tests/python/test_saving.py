"""Saved models reload in a fresh Python process after ``import kerasclr``.

``import kerasclr`` does not import Keras; it registers its schedule classes as soon as
Keras is imported, before or after it (kerasclr/_registration.py). A model saved with a
kerasclr schedule is loaded in a new process with ``keras.saving.load_model()`` and its
training continues exactly as an uninterrupted run does: same step counter, same
schedule, bitwise the same weights.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

INST = str(pathlib.Path(__file__).resolve().parents[2] / "inst" / "python")


def run_fresh_python(code, *args):
    """Runs `code` in a new Python process (kerasclr importable); returns its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), INST, *map(str, args)],
        check=False,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_import_kerasclr_does_not_import_keras():
    out = run_fresh_python("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import kerasclr
        print("keras" in sys.modules, "kerasclr.schedules" in sys.modules)
    """)
    assert out.split() == ["False", "False"]


@pytest.mark.keras
@pytest.mark.parametrize("order", ["kerasclr first", "keras first"])
def test_importing_keras_registers_the_schedules(order):
    out = run_fresh_python(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        if sys.argv[2] == "keras first":
            import keras
            import kerasclr
        else:
            import kerasclr
            import keras
        get = keras.saving.get_registered_object
        print(get("kerasclr>CyclicSchedule").__name__, get("kerasclr>OneCycleSchedule").__name__)
        # The watcher is gone and keras' loader has its own exec_module again.
        print(any(type(f).__name__ == "_KerasImportWatcher" for f in sys.meta_path),
              "exec_module" in vars(keras.__spec__.loader))
    """,
        order,
    )
    assert out.split() == ["CyclicSchedule", "OneCycleSchedule", "False", "False"]


_CONTINUE = """
    import sys
    sys.path.insert(0, sys.argv[1])
    order, path, data, out = sys.argv[2:6]
    if order == "keras first":
        import keras
        import kerasclr
    else:
        import kerasclr
        import keras
    import numpy as np
    d = np.load(data)
    model = keras.saving.load_model(path)
    schedule = model.optimizer._learning_rate
    start = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    model.fit(d["x"], d["y"], batch_size=4, epochs=2, shuffle=False, verbose=0)
    steps = keras.ops.convert_to_tensor(np.arange(40), dtype="int64")
    np.savez(out, start=start, end=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
             name=type(schedule).__name__, lr=keras.ops.convert_to_numpy(schedule(steps)),
             *model.get_weights())
"""

SCHEDULES = {
    "cyclic": (
        "CyclicSchedule",
        {"base_lr": 0.01, "max_lr": 0.1, "step_size": 3, "mode": "triangular2", "tail": 1},
    ),
    "one_cycle": ("OneCycleSchedule", {"total_steps": 20, "max_lr": 0.1, "three_phase": True}),
}


@pytest.mark.keras
@pytest.mark.parametrize("order", ["kerasclr first", "keras first"])
@pytest.mark.parametrize("kind,optimizer", [("cyclic", "sgd"), ("one_cycle", "adam")])
def test_saved_model_continues_exactly_in_a_fresh_process(tmp_path, kind, optimizer, order):
    import keras

    import kerasclr.schedules

    name, kwargs = SCHEDULES[kind]
    schedule = getattr(kerasclr.schedules, name)(**kwargs)
    keras.utils.set_random_seed(7)
    opt = (
        keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
        if optimizer == "sgd"
        else keras.optimizers.Adam(learning_rate=schedule)
    )
    model = keras.Sequential(
        [keras.Input(shape=(3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=opt, loss="mse")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3).astype("float32")[:, None]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # steps 0..7
    path, data, out = tmp_path / "model.keras", tmp_path / "data.npz", tmp_path / "out.npz"
    model.save(path)
    np.savez(data, x=x, y=y)
    # The uninterrupted run: the same model goes on training in this process.
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # steps 8..15

    run_fresh_python(_CONTINUE, order, path, data, out)
    got = np.load(out)
    assert (int(got["start"]), int(got["end"])) == (8, 16)
    assert str(got["name"]) == name
    steps = keras.ops.convert_to_tensor(np.arange(40), dtype="int64")
    np.testing.assert_array_equal(got["lr"], keras.ops.convert_to_numpy(schedule(steps)))
    weights = [got[f"arr_{i}"] for i in range(len(model.get_weights()))]
    for w_got, w_want in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(w_got, w_want)
