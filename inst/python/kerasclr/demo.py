"""kerasclr demo: the range test, then one-cycle and cyclical training against constant rates.

The Python twin of the R demo (``demo/digits.R``): the same data, model, policies, table
and pictures. Data: scikit-learn's handwritten digits (1,797 8x8 images that ship with
scikit-learn; nothing is downloaded). Model: an MLP 64-128-10 trained with SGD
(momentum 0.9). Seeds are fixed. The 60/20/20 split is drawn with NumPy's generator
(seed 2017), so it is not the R demo's split (R's ``sample()``), and the numbers differ a
little.

Run it with::

    python -m kerasclr.demo [--out DIR] [--epochs 8] [--seeds 42,7,2024]

The pictures and ``results.csv`` go to ``--out``, else to the folder in the environment
variable ``KERASCLR_DEMO_OUT``, else to ``out/demo-python``. Needs scikit-learn and
matplotlib (``pip install "kerasclr[demo]"``).

The policies compared are the list that ``demo_policies()`` returns: add an entry there
to compare another one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

import kerasclr
from kerasclr._optional import optional_import

BATCH_SIZE = 32
EPOCHS = 8
SEEDS = (42, 7, 2024)
CONSTANT_LRS = (0.01, 0.03, 0.1, 0.3)


@dataclasses.dataclass
class Policy:
    """One training policy of the comparison.

    Attributes:
        name: its row in the table.
        learning_rate: the optimizer's learning rate: a number, or a function of no
            argument that returns a fresh ``LearningRateSchedule``.
        callback: None, or a function of no argument that returns a fresh callback.
        candidate: True for the constant rates among which the best is picked on the
            validation set.
        plot_history: draw its callback's history (first seed) in one-cycle-history.png.
    """

    name: str
    learning_rate: float | Callable[[], Any] = 0.01
    callback: Callable[[], Any] | None = None
    candidate: bool = False
    plot_history: bool = False


def demo_policies(range_test: kerasclr.RangeTestResult, steps_per_epoch: int) -> list[Policy]:
    """The policies that the demo trains: constant rates, one-cycle and a cyclical rate."""
    base_lr, max_lr = range_test.lr_range
    policies = [Policy(f"constant lr = {lr:g}", learning_rate=lr, candidate=True)
                for lr in CONSTANT_LRS]
    policies.append(Policy(f"one-cycle, max_lr = {max_lr:.3g}",
                           callback=lambda: kerasclr.OneCycle(max_lr=range_test),
                           plot_history=True))
    policies.append(Policy(
        f"cyclic {base_lr:.3g}-{max_lr:.3g}, tail",
        callback=lambda: kerasclr.CyclicLR(lr_range=range_test, step_size=2 * steps_per_epoch,
                                           tail=steps_per_epoch // 2)))
    return policies


def _progress(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_data(seed: int = 2017) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digits scaled to [0, 1], split 60% / 20% / 20% into train, validation and test."""
    datasets = optional_import("sklearn.datasets", "python -m kerasclr.demo")
    digits = datasets.load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    index = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val = round(0.6 * len(y)), round(0.2 * len(y))
    parts = dict(train=index[:n_train], val=index[n_train:n_train + n_val],
                 test=index[n_train + n_val:])
    return {name: (x[rows], y[rows]) for name, rows in parts.items()}


def build_model(learning_rate: Any = 0.01, seed: int = 42):
    """The same MLP with the same initial weights for a given seed, compiled with SGD."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def plot_schedules(plt: Any, out_dir: str) -> None:
    """schedules.png (the CLR modes and one-cycle) and clr-schedule.png (the README picture)."""
    iterations = np.arange(600)
    modes = [("triangular", dict(mode="triangular")), ("triangular2", dict(mode="triangular2")),
             ("exp_range (gamma = 0.996)", dict(mode="exp_range", gamma=0.996)),
             ("sinus", dict(mode="sinus")),
             ("triangular, tail = 30 per cycle", dict(mode="triangular", tail=30))]
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for ax, (title, args) in zip(axes.flat, modes):
        ax.plot(iterations, kerasclr.cyclic_lr(iterations, base_lr=1e-4, max_lr=1e-2,
                                               step_size=100, **args), lw=2, color="0.2")
        ax.set(title=title, xlabel="iteration", ylabel="learning rate")
    ax = axes.flat[-1]
    ax.plot(iterations, kerasclr.one_cycle_lr(iterations, 600, max_lr=1e-2), lw=2,
            color="firebrick")
    ax.set(title="one_cycle_lr (momentum dashed)", xlabel="iteration", ylabel="learning rate")
    twin = ax.twinx()
    twin.plot(iterations, kerasclr.one_cycle_momentum(iterations, 600), ls="--", color="steelblue")
    twin.set_ylabel("momentum", color="steelblue")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "schedules.png"), dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    steps = np.arange(800)
    ax.plot(steps, kerasclr.cyclic_lr(steps, base_lr=1e-4, max_lr=1e-2, step_size=100,
                                      mode="triangular2", tail=40), lw=2, color="0.2")
    ax.set(xlabel="iteration", ylabel="learning rate",
           title='cyclic_lr(mode="triangular2", step_size=100, tail=40)')
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "clr-schedule.png"), dpi=100)
    plt.close(fig)


def train(policy: Policy, data: dict, epochs: int, seeds: Sequence[int]) -> dict[str, Any]:
    """Trains ``policy`` once per seed; returns its mean curves, test accuracies and times."""
    _progress(f"training {policy.name:<32} {epochs} epochs x {len(seeds)} seeds ...")
    x_train, y_train = data["train"]
    val_curves, test_acc, seconds, first_callback = [], [], [], None
    for seed in seeds:
        lr = policy.learning_rate() if callable(policy.learning_rate) else policy.learning_rate
        model = build_model(lr, seed)
        callback = policy.callback() if policy.callback is not None else None
        first_callback = first_callback or callback
        start = time.perf_counter()
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
                            validation_data=data["val"],
                            callbacks=[callback] if callback is not None else [])
        seconds.append(time.perf_counter() - start)
        val_curves.append(history.history["val_accuracy"])
        test_acc.append(model.evaluate(*data["test"], verbose=0)[1])
    val_curve = np.mean(np.asarray(val_curves, dtype=np.float64), axis=0)
    test_acc = np.asarray(test_acc, dtype=np.float64)
    sd = float(np.std(test_acc, ddof=1)) if len(test_acc) > 1 else float("nan")
    _progress(f"  validation accuracy {val_curve[-1]:.4f}, test accuracy {test_acc.mean():.4f} "
              f"(sd {sd:.4f}), {np.mean(seconds):.1f} s per run")
    return dict(policy=policy, val_curve=val_curve, test_acc=test_acc, test_sd=sd,
                seconds=float(np.mean(seconds)), callback=first_callback)


def results_table(runs: Sequence[dict], best: int, epochs: int) -> list[dict[str, Any]]:
    """The rows of the results table (as R's demo prints them)."""
    rows = []
    for index, run in enumerate(runs):
        name = run["policy"].name + (" (best)" if index == best else "")
        rows.append(dict(policy=name, epochs=epochs, val_accuracy=round(run["val_curve"][-1], 4),
                         test_accuracy=round(float(run["test_acc"].mean()), 4),
                         test_sd=round(run["test_sd"], 4), seconds=round(run["seconds"], 1)))
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Runs the demo; returns the rows of its table.

    Args:
        argv: command-line arguments (``--out``, ``--epochs``, ``--seeds``); None:
            ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(prog="python -m kerasclr.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.environ.get("KERASCLR_DEMO_OUT", "out/demo-python"),
                        help="folder for the pictures and results.csv "
                             "(default: $KERASCLR_DEMO_OUT, else out/demo-python)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per training run")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="comma-separated seeds, one training run each")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    matplotlib = optional_import("matplotlib", "python -m kerasclr.demo")
    matplotlib.use("Agg")
    plt = optional_import("matplotlib.pyplot", "python -m kerasclr.demo")
    import keras

    _progress(f"Keras {keras.__version__} on the {keras.backend.backend()} backend")
    data = load_data()
    _progress(f"digits: {len(data['train'][1])} training, {len(data['val'][1])} validation, "
              f"{len(data['test'][1])} test images of 8x8 pixels")
    steps_per_epoch = -(-len(data["train"][1]) // BATCH_SIZE)

    # 1. Schedule preview.
    _progress("plotting the schedules")
    plot_schedules(plt, out_dir)

    # 2. The learning-rate range test.
    _progress("learning-rate range test (exponential sweep 1e-3 .. 10, 100 steps)")
    start = time.perf_counter()
    range_test = kerasclr.lr_range_test(build_model(), *data["train"], start_lr=1e-3, end_lr=10,
                                        num_iter=100, batch_size=BATCH_SIZE, verbose=False)
    _progress(f"range test took {time.perf_counter() - start:.1f} s")
    print(range_test)
    ax = range_test.plot()
    ax.figure.savefig(os.path.join(out_dir, "range-test.png"), dpi=100)
    plt.close(ax.figure)

    # 3. Training: every policy from the same initial weights for each seed; differences of
    # one or two test images (0.3% each) are noise, hence several seeds and an sd.
    runs = [train(policy, data, args.epochs, seeds)
            for policy in demo_policies(range_test, steps_per_epoch)]
    candidates = [i for i, run in enumerate(runs) if run["policy"].candidate]
    best = max(candidates, key=lambda i: runs[i]["val_curve"][-1])
    _progress(f"best constant learning rate on the validation set: {runs[best]['policy'].name}")
    rows = results_table(runs, best, args.epochs)
    print(f"\nResults: {args.epochs} epochs, batch size {BATCH_SIZE}, SGD momentum 0.9, mean over "
          f"{len(seeds)} seeds (seconds: per run).\nThe best constant rate was picked on the "
          "validation set, so compare test accuracy.")
    _print_table(rows)
    _write_csv(rows, os.path.join(out_dir, "results.csv"))

    # 4. Pictures of the training runs.
    for run in runs:
        if run["policy"].plot_history:
            axes = run["callback"].plot()
            axes[0].figure.savefig(os.path.join(out_dir, "one-cycle-history.png"), dpi=100)
            plt.close(axes[0].figure)
            break
    fig, ax = plt.subplots(figsize=(9, 5.5))
    shown = [best] + [i for i, run in enumerate(runs) if not run["policy"].candidate]
    epochs_axis = np.arange(1, args.epochs + 1)
    for i in shown:
        ax.plot(epochs_axis, runs[i]["val_curve"], marker="o", label=rows[i]["policy"])
    ax.set(xlabel="epoch", ylabel=f"validation accuracy (mean of {len(seeds)} seeds)",
           title="Digits: validation accuracy per epoch")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "accuracy.png"), dpi=100)
    plt.close(fig)

    _progress(f"plots and results.csv written to {os.path.abspath(out_dir)}")
    for name in sorted(os.listdir(out_dir)):
        print(f"  {name}")
    return rows


def _print_table(rows: Sequence[dict]) -> None:
    columns = list(rows[0])
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]
    def line(values):  # the policy names left-aligned, the numbers right-aligned
        return "  ".join(v.ljust(w) if j == 0 else v.rjust(w)
                         for j, (v, w) in enumerate(zip(values, widths)))

    print(line(columns))
    for r in cells:
        print(line(r))


def _write_csv(rows: Sequence[dict], path: str) -> None:
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
