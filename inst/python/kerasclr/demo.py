"""kerasclr demo: fit_one_cycle() against a grid-tuned constant rate and Keras' tuned cosine.

The Python twin of the R demo (``demo/digits.R``): the same data, split, model, seeds,
comparison, table and pictures. It runs the protocol of the outcome panel
(``bench/bench-panel.py``, its digits-mlp-sgd row) on one split:

- data: scikit-learn's handwritten digits (1,797 8x8 images that ship with
  scikit-learn; nothing is downloaded), 70/30 train/test stratified, then 20% of the
  training part for validation, with ``train_test_split(random_state=SPLIT_SEED)``;
- model: an MLP 64-128-10, SGD with momentum 0.9, batch 32; for each seed every
  training starts from the same initial weights;
- ``kerasclr.fit_one_cycle()`` with its defaults: the range test, then one-cycle
  training from its answer, ``E`` epochs;
- the best constant learning rate of ``GRID``, trained ``2 E`` epochs;
- Keras' ``CosineDecay(initial_learning_rate=0, warmup_target=peak, warmup_steps=30%)``,
  ``E`` epochs, its peak the best of ``GRID``.

The grid values are chosen on the validation set (mean over the seeds); test accuracy is
only reported. The split and the seeds were fixed before any result (the demo's seeds
since its first version), never chosen from the outcome. Epochs and wall time count the
range test's steps for ``fit_one_cycle()`` and the whole grid for the baselines. The last
line printed states the finding, computed from the numbers above it.

Run it with::

    python -m kerasclr.demo [--out DIR] [--epochs 10] [--seeds 42,7,2024] [--grid ...]

The pictures (``accuracy.png``, ``range-test.png``, ``one-cycle-history.png``,
``clr-schedule.png``), ``results.csv`` (the table) and ``runs.csv`` (every training run)
go to ``--out``, else to the folder in the environment variable ``KERASCLR_DEMO_OUT``,
else to ``out/demo-python``. Needs scikit-learn and matplotlib
(``pip install "kerasclr[demo]"``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

import kerasclr
from kerasclr._optional import optional_import

BATCH_SIZE = 32
EPOCHS = 10
SPLIT_SEED = 2017
SEEDS = (42, 7, 2024)
GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
WARMUP = 0.3  # the cosine's share of linear warm-up


@dataclasses.dataclass
class Policy:
    """One training policy of the comparison.

    Attributes:
        name: its row in the table.
        train: ``train(data, epochs, seed, value)`` trains one model and returns a dict
            with ``val_curve`` (validation accuracy per epoch), ``test`` (test accuracy)
            and optionally ``range_test_steps``, ``max_lr`` and ``fit`` (what
            ``fit_one_cycle()`` returned); ``value`` is a grid value, or None.
        grid: the values tuned on the validation set; None: no tuning.
        epoch_factor: it trains ``epoch_factor * epochs`` epochs.
    """

    name: str
    train: Callable[..., dict]
    grid: Sequence[float] | None = None
    epoch_factor: int = 1


def demo_policies(grid: Sequence[float] = GRID) -> list[Policy]:
    """The policies that the demo compares: the pipeline first, then the tuned baselines."""
    return [Policy("fit_one_cycle()", train_pipeline),
            Policy("best constant", train_constant, grid=tuple(grid), epoch_factor=2),
            Policy("Keras CosineDecay, warm-up 30%", train_cosine, grid=tuple(grid))]


def _progress(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_data(split_seed: int = SPLIT_SEED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digits scaled to [0, 1]: 70/30 train/test stratified, then 20% of train for validation."""
    datasets = optional_import("sklearn.datasets", "python -m kerasclr.demo")
    model_selection = optional_import("sklearn.model_selection", "python -m kerasclr.demo")
    digits = datasets.load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    x_rest, x_test, y_rest, y_test = model_selection.train_test_split(
        x, y, test_size=0.3, random_state=split_seed, stratify=y)
    x_train, x_val, y_train, y_val = model_selection.train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=split_seed, stratify=y_rest)
    return dict(train=(x_train, y_train), val=(x_val, y_val), test=(x_test, y_test))


def build_model(learning_rate: Any = 0.01, seed: int = 42):
    """The same MLP with the same initial weights for a given seed, compiled with SGD."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(model, data: dict, epochs: int) -> dict:
    history = model.fit(*data["train"], batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
                        validation_data=data["val"])
    return dict(val_curve=list(history.history["val_accuracy"]),
                test=float(model.evaluate(*data["test"], verbose=0)[1]))


def train_pipeline(data: dict, epochs: int, seed: int, value: None = None) -> dict:
    """``kerasclr.fit_one_cycle()`` with its defaults (the compiled rate is not used)."""
    model = build_model(seed=seed)
    fit = kerasclr.fit_one_cycle(model, *data["train"], epochs=epochs, batch_size=BATCH_SIZE,
                                 verbose=0, validation_data=data["val"])
    return dict(val_curve=list(fit.history.history["val_accuracy"]),
                test=float(model.evaluate(*data["test"], verbose=0)[1]),
                range_test_steps=fit.range_test_steps, max_lr=fit.max_lr, fit=fit)


def train_constant(data: dict, epochs: int, seed: int, value: float) -> dict:
    """A constant learning rate ``value``."""
    return _fit(build_model(value, seed), data, epochs)


def train_cosine(data: dict, epochs: int, seed: int, value: float) -> dict:
    """Keras' warm-up + cosine decay as its documentation shows it: from 0, peak ``value``."""
    import keras

    total = epochs * steps_per_epoch(data)
    warmup = round(WARMUP * total)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=total - warmup, warmup_target=value,
        warmup_steps=warmup)
    return _fit(build_model(schedule, seed), data, epochs)


def steps_per_epoch(data: dict) -> int:
    return math.ceil(len(data["train"][1]) / BATCH_SIZE)


def run_policy(policy: Policy, data: dict, epochs: int, seeds: Sequence[int]) -> dict:
    """Trains ``policy`` (every grid value) once per seed; picks its value on validation.

    Returns a dict: ``runs`` (one dict per training run, with ``value``, ``seed`` and
    ``seconds``), ``value`` (the grid value chosen, or None), ``chosen`` (the runs of that
    value, one per seed) and ``seconds`` (wall time per seed, the whole grid included).
    """
    n_epochs = policy.epoch_factor * epochs
    values = list(policy.grid) if policy.grid is not None else [None]
    runs = []
    for value in values:
        label = policy.name if value is None else f"{policy.name}, {value:g}"
        _progress(f"training {label:<40} {n_epochs} epochs x {len(seeds)} seeds ...")
        for seed in seeds:
            start = time.perf_counter()
            run = policy.train(data, n_epochs, seed, value)
            run.update(value=value, seed=seed, seconds=time.perf_counter() - start)
            runs.append(run)
    mean_val = {v: statistics.mean(r["val_curve"][-1] for r in runs if r["value"] == v)
                for v in values}
    value = max(values, key=lambda v: mean_val[v])  # the first of equals: the lower rate
    return dict(policy=policy, runs=runs, value=value,
                chosen=[r for r in runs if r["value"] == value],
                seconds=sum(r["seconds"] for r in runs) / len(seeds), epochs=n_epochs)


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    values = list(values)
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def _lr_list(values: Sequence[float]) -> str:
    values = list(values)
    if len({f"{v:.2g}" for v in values}) == 1:
        return f"{values[0]:.2g}"
    return f"{min(values):.2g}-{max(values):.2g}"


def results_table(results: Sequence[dict], spe: int) -> list[dict[str, Any]]:
    """One row per policy: its epochs (tuning cost included), accuracies and wall time."""
    rows = []
    for res in results:
        policy, chosen = res["policy"], res["chosen"]
        val_mean, val_sd = _mean_sd(r["val_curve"][-1] for r in chosen)
        test_mean, test_sd = _mean_sd(r["test"] for r in chosen)
        if policy.grid is None:
            steps = statistics.mean(r.get("range_test_steps", 0) for r in chosen)
            name = f"{policy.name}, max_lr {_lr_list(r['max_lr'] for r in chosen)}"
            epochs = f"{res['epochs']} + {steps / spe:.1f} (range test)"
        else:
            name = f"{policy.name} (chose {res['value']:g})"
            epochs = f"{res['epochs']} (x {len(policy.grid)} to tune)"
        rows.append(dict(policy=name, epochs=epochs, val_accuracy=round(val_mean, 4),
                         val_sd=round(val_sd, 4), test_accuracy=round(test_mean, 4),
                         test_sd=round(test_sd, 4), seconds=round(res["seconds"], 1)))
    return rows


def goals_met(pipeline_mean: float, constant_mean: float, cosine_mean: float, cosine_sd: float,
              higher_is_better: bool = True) -> tuple[bool, bool | None]:
    """The comparison's two goals (the demo's and bench/bench-panel.py's one rule).

    The pipeline's mean metric at least the best constant's, and at most one seed
    standard deviation (the tuned cosine's) worse than the cosine's mean.

    Returns:
        ``(vs_constant, vs_cosine)``; ``vs_cosine`` is None when the sd is NaN (one seed).
    """
    if not higher_is_better:  # e.g. a mean squared error: compare the negated metric
        return goals_met(-pipeline_mean, -constant_mean, -cosine_mean, cosine_sd)
    vs_constant = bool(pipeline_mean >= constant_mean)
    vs_cosine = None if math.isnan(cosine_sd) else bool(pipeline_mean + cosine_sd >= cosine_mean)
    return vs_constant, vs_cosine


def verdict(met: bool | None) -> str:
    """How the demo and the panel print a goal's outcome."""
    return "undecided (one seed, no sd)" if met is None else ("met" if met else "NOT met")


def finding(results: Sequence[dict]) -> str:
    """The one-line finding, from the numbers: the issue's two goals, met or not.

    As the panel (``bench/bench-panel.py``) judges them: the pipeline's mean test
    accuracy at least the best constant's, and at most one seed standard deviation
    (the cosine's) below the tuned cosine's.
    """
    pipe, const, cos = results
    p_mean, p_sd = _mean_sd(r["test"] for r in pipe["chosen"])
    c_mean, c_sd = _mean_sd(r["test"] for r in const["chosen"])
    k_mean, k_sd = _mean_sd(r["test"] for r in cos["chosen"])
    steps = statistics.mean(r["range_test_steps"] for r in pipe["chosen"])
    n_grid = len(const["policy"].grid)
    goal_const, goal_cos = (verdict(met) for met in goals_met(p_mean, c_mean, k_mean, k_sd))
    return (f"Finding: fit_one_cycle() reached test accuracy {p_mean:.4f} ± {p_sd:.4f} in "
            f"{pipe['epochs']} epochs + {steps:.0f} range-test steps; the best constant "
            f"({const['value']:g}, chosen among {n_grid} on validation) {c_mean:.4f} ± "
            f"{c_sd:.4f} in {const['epochs']} epochs; Keras' tuned warm-up + cosine (peak "
            f"{cos['value']:g}) {k_mean:.4f} ± {k_sd:.4f} in {cos['epochs']} epochs. "
            f"At least the best constant: {goal_const}; within one seed sd "
            f"({k_sd:.4f}) of the cosine: {goal_cos}.")


def plot_clr_schedule(plt: Any, out_dir: str) -> None:
    """clr-schedule.png, the README's picture of a cyclical schedule with its tail."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    steps = np.arange(800)
    ax.plot(steps, kerasclr.cyclic_lr(steps, base_lr=1e-4, max_lr=1e-2, step_size=100,
                                      mode="triangular2", tail=40), lw=2, color="0.2")
    ax.set(xlabel="iteration", ylabel="learning rate",
           title='cyclic_lr(mode="triangular2", step_size=100, tail=40)')
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "clr-schedule.png"), dpi=100)
    plt.close(fig)


def plot_accuracy(plt: Any, results: Sequence[dict], rows: Sequence[dict], out_dir: str) -> None:
    """accuracy.png: validation accuracy per epoch (mean over seeds) of each policy as chosen."""
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for res, row in zip(results, rows):
        curve = np.mean([r["val_curve"] for r in res["chosen"]], axis=0)
        ax.plot(np.arange(1, len(curve) + 1), curve, marker="o", label=row["policy"])
    n_seeds = len(results[0]["chosen"])
    ax.set(xlabel="epoch", ylabel=f"validation accuracy (mean of {n_seeds} seeds)",
           title="Digits: validation accuracy per epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "accuracy.png"), dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the demo; returns its table, its finding and every run.

    Args:
        argv: command-line arguments (``--out``, ``--epochs``, ``--seeds``, ``--grid``);
            None: ``sys.argv[1:]``.

    Returns:
        A dict: ``rows`` (the table, one dict per policy), ``finding`` (the last line
        printed) and ``results`` (per policy: every run, the value chosen, ...).
    """
    parser = argparse.ArgumentParser(prog="python -m kerasclr.demo",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.environ.get("KERASCLR_DEMO_OUT", "out/demo-python"),
                        help="folder for the pictures and the csv files "
                             "(default: $KERASCLR_DEMO_OUT, else out/demo-python)")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help="E: epochs of fit_one_cycle() and of the cosine; the constant "
                             "rate trains 2 E (default %(default)s)")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="comma-separated seeds, one training run each (default %(default)s)")
    parser.add_argument("--grid", default=",".join(f"{v:g}" for v in GRID),
                        help="comma-separated learning rates tuned for the constant rate and "
                             "the cosine's peak (default %(default)s)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    grid = [float(v) for v in args.grid.split(",") if v.strip()]
    if args.epochs < 1 or not seeds or not grid:
        parser.error("--epochs must be >= 1, and --seeds and --grid must not be empty")
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    matplotlib = optional_import("matplotlib", "python -m kerasclr.demo")
    matplotlib.use("Agg")
    plt = optional_import("matplotlib.pyplot", "python -m kerasclr.demo")
    import keras

    start = time.perf_counter()
    _progress(f"Keras {keras.__version__} on the {keras.backend.backend()} backend")
    data = load_data()
    _progress(f"digits (split seed {SPLIT_SEED}): {len(data['train'][1])} training, "
              f"{len(data['val'][1])} validation, {len(data['test'][1])} test images")
    spe = steps_per_epoch(data)
    plot_clr_schedule(plt, out_dir)

    results = [run_policy(policy, data, args.epochs, seeds) for policy in demo_policies(grid)]
    rows = results_table(results, spe)
    total = time.perf_counter() - start

    print(f"\nResults: digits, MLP 64-128-10, SGD momentum 0.9, batch {BATCH_SIZE}, split seed "
          f"{SPLIT_SEED}, mean ± sd over seeds {', '.join(map(str, seeds))}. Grid values "
          "chosen on validation accuracy;\ncompare test accuracy. Epochs of the final "
          "model; seconds per seed, tuning and range test included.")
    _print_table([{"policy": row["policy"], "epochs": row["epochs"],
                   "validation accuracy": f"{row['val_accuracy']:.4f} ± {row['val_sd']:.4f}",
                   "test accuracy": f"{row['test_accuracy']:.4f} ± {row['test_sd']:.4f}",
                   "seconds": f"{row['seconds']:.1f}"} for row in rows])
    print("\nThe grids (mean validation / test accuracy over the seeds):")
    grid_rows = []
    for value in grid:
        line = {"learning rate": f"{value:g}"}
        for res in results[1:]:
            runs = [r for r in res["runs"] if r["value"] == value]
            mark = " *" if value == res["value"] else ""
            line[res["policy"].name] = (f"{statistics.mean(r['val_curve'][-1] for r in runs):.4f}"
                                        f" / {statistics.mean(r['test'] for r in runs):.4f}{mark}")
        grid_rows.append(line)
    _print_table(grid_rows)
    print(f"(* chosen on validation; the whole demo took {total:.0f} s)\n")
    _write_csv(rows, os.path.join(out_dir, "results.csv"))
    _write_csv([dict(policy=res["policy"].name, value="" if r["value"] is None else r["value"],
                     seed=r["seed"], epochs=res["epochs"],
                     range_test_steps=r.get("range_test_steps", 0),
                     val_accuracy=r["val_curve"][-1], test_accuracy=r["test"],
                     seconds=round(r["seconds"], 2))
                for res in results for r in res["runs"]],
               os.path.join(out_dir, "runs.csv"))

    # The pictures: the pipeline's own range test and schedule (first seed), the curves.
    fit = results[0]["runs"][0]["fit"]
    ax = fit.range_test.plot()
    ax.figure.savefig(os.path.join(out_dir, "range-test.png"), dpi=100)
    plt.close(ax.figure)
    axes = fit.one_cycle.plot()
    axes[0].figure.savefig(os.path.join(out_dir, "one-cycle-history.png"), dpi=100)
    plt.close(axes[0].figure)
    plot_accuracy(plt, results, rows, out_dir)
    _progress(f"pictures, results.csv and runs.csv written to {os.path.abspath(out_dir)}")
    line = finding(results)
    print(line)
    return dict(rows=rows, finding=line, results=results)


def _print_table(rows: Sequence[dict]) -> None:
    columns = list(rows[0])
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]

    def line(values):  # the first column left-aligned, the others right-aligned
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
