"""Benchmarks of the learning-rate range test (run: python bench/bench-range-test.py [overhead|digits|all]).

1. overhead: wall time of a 100-step lr_range_test() against a plain model.fit() of the
   same 100 batches, measured side by side in one process, per backend (each backend in
   its own subprocess). Two references: a *warm* fit (the model's train function already
   traced, the best case for fit) and a *cold* fit (a fresh model, tracing included, what
   a first fit costs). Goal: range test / warm fit <= 1.10 on every backend. The range
   test sets the optimizer's learning-rate variable per batch and reuses the model's own
   compiled step (no grid here, so no fresh trace).

2. digits: scikit-learn digits, MLP 64-128-10, SGD momentum 0.9. One-cycle training with
   max_lr taken from the range test (its `lr_range[1]`, i.e. the valley suggestion), at
   most 10 epochs (and, for comparison, with fastai's valley suggestion), against the best constant learning rate of {0.01, 0.03, 0.1, 0.3}
   trained 20 epochs; test accuracy, mean over 5 seeds. Goal: one-cycle >= best constant.
   Also shown, not used by the package: how one-cycle fares with other max_lr rules
   (the lr of the lowest loss, divided by 3 or not at all).

Prints the tables whatever they show.
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPEATS = 5


# --------------------------------------------------------------------------- #
# 1. Overhead
# --------------------------------------------------------------------------- #
def _overhead_one_backend():
    import numpy as np
    import keras

    from kerasclr.range_test import lr_range_test

    rng = np.random.default_rng(0)
    n_batches, batch_size = 100, 64
    x = rng.normal(size=(n_batches * batch_size, 256)).astype("float32")
    y = rng.integers(0, 10, size=n_batches * batch_size)

    def make():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def timed(f):
        t = time.perf_counter()
        f()
        return time.perf_counter() - t

    warm_model = make()
    warm_model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # trace once
    rows = {"fit_warm": [], "fit_cold": [], "range_test": [], "steps": []}
    for _ in range(REPEATS):
        # interleaved, so that machine load hits all three alike
        rows["fit_warm"].append(timed(lambda: warm_model.fit(x, y, batch_size=batch_size, epochs=1,
                                                             verbose=0)))
        cold = make()
        rows["fit_cold"].append(timed(lambda: cold.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)))
        out = {}
        rows["range_test"].append(timed(lambda: out.update(lr_range_test(
            warm_model, x, y, start_lr=1e-5, end_lr=1e-1, num_iter=100, batch_size=batch_size,
            diverge_threshold=1e9, verbose=False))))
        rows["steps"].append(out["runs"][0]["steps"])
    return rows


def overhead():
    print("## Range test overhead: 100-step lr_range_test() vs model.fit() of the same 100 batches")
    print(f"MLP 256-512-512-10, batch 64, SGD momentum 0.9; {REPEATS} interleaved repeats, times are"
          " medians; ratios of medians, and in brackets ratios of minima (less sensitive to the load"
          " of other processes on this 2-core machine)\n")
    print("| backend | fit, warm (s) | fit, cold (s) | range test (s) | steps | test / warm fit | test / cold fit "
          "|")
    print("|---|---|---|---|---|---|---|")
    for backend in ("tensorflow", "jax", "torch"):
        env = dict(os.environ, KERAS_BACKEND=backend)
        proc = subprocess.run([sys.executable, __file__, "_overhead_child"], env=env,
                              capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not line:
            print(f"| {backend} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        rows = json.loads(line[-1])
        med = {k: statistics.median(v) for k, v in rows.items()}
        low = {k: min(v) for k, v in rows.items()}

        def ratio(a, b):
            return f"{med[a] / med[b]:.2f} ({low[a] / low[b]:.2f})"

        print(f"| {backend} | {med['fit_warm']:.3f} | {med['fit_cold']:.3f} | {med['range_test']:.3f} | "
              f"{int(med['steps'])} | {ratio('range_test', 'fit_warm')} | {ratio('range_test', 'fit_cold')} |")
        sys.stdout.flush()


# --------------------------------------------------------------------------- #
# 2. Digits
# --------------------------------------------------------------------------- #
def _digits_data(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return train_test_split(x, digits.target, test_size=0.3, random_state=seed, stratify=digits.target)


def _digits_model(keras, seed, lr):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _one_cycle_callback(keras, max_lr, total_steps):
    """kerasclr's one-cycle callback (task C); None (use the in-optimizer schedule) if absent."""
    try:
        from kerasclr.callbacks import OneCycle
    except ImportError:
        return None, "kerasclr.schedules.OneCycleSchedule"
    # momentum cycles 0.95 -> 0.85 -> 0.95 (the default), lr max_lr/25 -> max_lr -> max_lr/2.5e5
    return OneCycle(max_lr=max_lr, total_iterations=total_steps), "kerasclr.callbacks.OneCycle"


def _digits_child():
    import numpy as np
    import keras

    from kerasclr.range_test import lr_range_test

    batch_size = 32
    table = {"constant": {}, "one_cycle": [], "max_lr": [], "how": None,
             "one_cycle_valley": [], "valley": []}
    for seed in range(5):
        x_tr, x_te, y_tr, y_te = _digits_data(seed)
        for lr in (0.01, 0.03, 0.1, 0.3):
            model = _digits_model(keras, seed, lr)
            model.fit(x_tr, y_tr, batch_size=batch_size, epochs=20, verbose=0)
            acc = model.evaluate(x_te, y_te, verbose=0)[1]
            table["constant"].setdefault(str(lr), []).append(acc)
        model = _digits_model(keras, seed, 0.01)
        res = lr_range_test(model, x_tr, y_tr, start_lr=1e-5, end_lr=10, num_iter=100,
                            batch_size=batch_size, verbose=False)
        # the package's rule (lr_range[1]), and fastai's valley for comparison
        lr_at_min = 10 * res["suggestions"]["minimum"]
        table.setdefault("lr_at_min", []).append(lr_at_min)
        choices = (("", res["lr_range"][1]), ("_valley", res["suggestions"]["valley"]),
                   ("_min3", lr_at_min / 3), ("_min1", lr_at_min))
        for key, max_lr in choices:
            table.setdefault("one_cycle" + key, [])
            model = _digits_model(keras, seed, 0.01)  # the same init the range test saw
            if key in ("", "_valley"):
                table["max_lr" if not key else "valley"].append(max_lr)
            epochs = 10
            steps = epochs * int(np.ceil(len(x_tr) / batch_size))
            callback, how = _one_cycle_callback(keras, max_lr, steps)
            table["how"] = how
            if callback is None:
                from kerasclr.schedules import OneCycleSchedule

                model.optimizer.learning_rate = OneCycleSchedule(total_steps=steps, max_lr=max_lr)
                model.fit(x_tr, y_tr, batch_size=batch_size, epochs=epochs, verbose=0)
            else:
                model.fit(x_tr, y_tr, batch_size=batch_size, epochs=epochs, verbose=0,
                          callbacks=[callback])
            table["one_cycle" + key].append(model.evaluate(x_te, y_te, verbose=0)[1])
    print(json.dumps(table))


def digits():
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    env = dict(os.environ, KERAS_BACKEND=backend)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "_digits_child"], env=env, capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    print(f"\n## scikit-learn digits, MLP 64-128-10, SGD momentum 0.9, batch 32 (backend {backend})")
    if proc.returncode != 0 or not line:
        print("failed:", proc.stderr.strip()[-2000:])
        return
    table = json.loads(line[-1])
    print(f"5 seeds (split and init); test accuracy (30% held out); {time.perf_counter() - t:.0f} s\n")
    print("| training | epochs | mean accuracy | per seed |")
    print("|---|---|---|---|")
    best_lr, best = None, -1
    for lr, accs in table["constant"].items():
        mean = statistics.mean(accs)
        if mean > best:
            best_lr, best = lr, mean
        print(f"| constant lr {lr} | 20 | {mean:.4f} | {' '.join(f'{a:.3f}' for a in accs)} |")
    oc = statistics.mean(table["one_cycle"])
    print(f"| one-cycle, max_lr from lr_range_test ({table['how']}) | 10 | {oc:.4f} | "
          f"{' '.join(f'{a:.3f}' for a in table['one_cycle'])} |")
    ocv = statistics.mean(table["one_cycle_valley"])
    print(f"| one-cycle, max_lr = valley suggestion (fastai's default), for comparison | 10 | {ocv:.4f} | "
          f"{' '.join(f'{a:.3f}' for a in table['one_cycle_valley'])} |")
    for key, what in (("_min3", "lr at the lowest loss / 3"), ("_min1", "lr at the lowest loss")):
        acc = statistics.mean(table["one_cycle" + key])
        print(f"| sensitivity: one-cycle, max_lr = {what} | 10 | {acc:.4f} | "
              f"{' '.join(f'{a:.3f}' for a in table['one_cycle' + key])} |")
    print(f"\nlr at the lowest smoothed loss per seed: {' '.join(f'{v:.3g}' for v in table['lr_at_min'])}")
    print(f"max_lr = lr_range[1] (minimum rule) per seed: {' '.join(f'{v:.3g}' for v in table['max_lr'])}")
    print(f"valley per seed: {' '.join(f'{v:.3g}' for v in table['valley'])}")
    verdict = "meets" if oc >= best else "does NOT meet"
    print(f"One-cycle (10 epochs) {oc:.4f} vs best constant lr {best_lr} (20 epochs) {best:.4f}: "
          f"{verdict} the goal.")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "_overhead_child":
        print(json.dumps(_overhead_one_backend()))
    elif what == "_digits_child":
        _digits_child()
    else:
        if what in ("overhead", "all"):
            overhead()
        if what in ("digits", "all"):
            digits()
