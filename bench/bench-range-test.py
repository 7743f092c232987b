"""Cost of the learning-rate range test (run: python bench/bench-range-test.py).

Wall time of a 100-step lr_range_test() against a plain model.fit() of the
same 100 batches, measured side by side in one process, per backend (each backend in
its own subprocess). Two references: a *warm* fit (the model's train function already
traced, the best case for fit) and a *cold* fit (a fresh model, tracing included, what
a first fit costs). Goal: range test / warm fit <= 1.10 on every backend. The range
test sets each step's learning rate around the model's own compiled step (no grid
here, so no fresh trace; ``kerasclr.training.HostDrivenSteps``).

What the range test's answer is worth in training (the outcome against tuned
constant and cosine schedules) is measured by bench/bench-panel.py.

Prints the tables whatever they show.
"""

import gc
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPEATS = 8  # warm fit and range test, in alternating order
COLD_REPEATS = 3


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
        # The previous repeat's garbage (a whole cold model, with cycles) is collected first,
        # so that the cyclic collector does not land in whichever case runs next.
        gc.collect()
        t = time.perf_counter()
        f()
        return time.perf_counter() - t

    warm_model = make()
    warm_model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # trace once
    rows = {"fit_warm": [], "fit_cold": [], "range_test": [], "steps": []}

    def fit_warm():
        warm_model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)

    def fit_cold():
        cold = make()
        cold.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)

    def range_test():
        out = lr_range_test(warm_model, x, y, start_lr=1e-5, end_lr=1e-1, num_iter=100,
                            batch_size=batch_size, diverge_threshold=1e9, verbose=False)
        rows["steps"].append(out["runs"][0]["steps"])

    # The warm fit and the range test are interleaved, so that machine load hits both alike,
    # in alternating order. The cold fits run apart, afterwards: whatever runs right after
    # one (a fresh model traced and compiled) runs 10% to 50% slower, so interleaving them
    # would bias the comparison towards whichever case tends to follow them.
    for repeat in range(REPEATS):
        pair = [("fit_warm", fit_warm), ("range_test", range_test)]
        for name, case in pair if repeat % 2 == 0 else pair[::-1]:
            rows[name].append(timed(case))
    for _ in range(COLD_REPEATS):
        rows["fit_cold"].append(timed(fit_cold))
    return rows


def overhead():
    print("## Range test overhead: 100-step lr_range_test() vs model.fit() of the same 100 batches")
    print(f"MLP 256-512-512-10, batch 64, SGD momentum 0.9; {REPEATS} interleaved repeats (alternating order; the cold fits run apart, {COLD_REPEATS} times), times are"
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


if __name__ == "__main__":
    if sys.argv[1:] == ["_overhead_child"]:
        print(json.dumps(_overhead_one_backend()))
    else:
        overhead()
