"""The outcome panel: does the range test's answer train as well as a tuned schedule?

Run: ``nice -n 10 python bench/bench-panel.py [--quick] [--backend jax] [--rows a,b] [--dev]``
(the README's table: ``--backend jax``, about 18 minutes on 2 cores).

For every row (problem x optimizer), over 3 train/validation/test splits x 3 seeds
(model initialisation and shuffling), it trains

- ``fit_one_cycle()`` (kerasclr.pipeline): the range test, then one-cycle training from
  its answer with the callbacks' defaults, ``E`` epochs;
- the best constant learning rate of a grid spanning two orders of magnitude, ``2 E``
  epochs;
- Keras' own ``CosineDecay(initial_learning_rate=0, warmup_target=peak,
  warmup_steps=30%)``, its peak the best of the same grid, ``E`` epochs;
- kerasclr's ``OneCycle`` with the callback's defaults, its peak the best of the same
  grid, ``E`` epochs: one-cycle tuned as the cosine is;

and prints a markdown table of the test metric (mean +- sd over the 9 runs). The grid
value of the constant and of the cosine schedule is chosen per split on the
validation set (mean over the seeds), as a user tuning them would; test data is only
used for the report, and for one more line: the *ceiling*, in each run the test metric of
the ``OneCycle`` grid peak best on test. It is no method (it reads the test set), but no
rule that chooses a peak from the range test beats it, unless with a peak between two
grid values (half a decade apart): a row whose ceiling misses a goal by more than that
could give cannot meet it with one-cycle at the callback's defaults.

The epochs and the wall time of ``fit_one_cycle()`` include the
range test's steps; those of the baselines include the whole grid they were tuned on.

Verdict per row (mean over the 9 runs): "as good as the best constant" is the pipeline's
mean at least the constant's; "within one seed sd of the cosine" is the pipeline's mean
at most one seed standard deviation (the cosine's, pooled over the splits) worse.

``--sweep`` is the development experiment behind the range-test rule
(``kerasclr.suggestions.lr_range_rule``): on development splits (other random states
than the panel's; seeds 0-1; the panel's rows and ``MOMENTUM_ROWS``, some of them with
another momentum; about 20 minutes), it runs the range test and one-cycle training at peaks
half a decade apart, with the momentum fixed and cycled, and prints per row the
validation metric of each peak, fixed against cycled momentum, and the mean shortfall
from the best peak of ``max_lr = L / divisor`` (``L``: the rate where the test's loss
turns up, ``kerasclr.suggestions.turn_up_lr``; values between the measured peaks
interpolated in log(peak)). ``--sweep --json FILE`` keeps the records, and
``--sweep --from-json FILE`` prints the summary again without training, and so does
``--from-json FILE`` for the panel's own ``--json`` file.
``--dev`` runs the panel itself on the development splits.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from kerasclr.demo import goals_met, verdict as goal_verdict  # noqa: E402  (one rule, with the demo)

BATCH_SIZE = 32
SGD_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
ADAPTIVE_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
PANEL_SPLITS = (0, 1, 2)
DEV_SPLITS = (100, 101, 102)
SEEDS = (0, 1, 2)


# --------------------------------------------------------------------------- #
# The problems
# --------------------------------------------------------------------------- #
def _split(x, y, split, stratify):
    """70% train+validation / 30% test, then 20% of the former for validation."""
    from sklearn.model_selection import train_test_split

    x_rest, x_te, y_rest, y_te = train_test_split(
        x, y, test_size=0.3, random_state=split, stratify=y if stratify else None)
    x_tr, x_val, y_tr, y_val = train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=split, stratify=y_rest if stratify else None)
    return x_tr, y_tr, x_val, y_val, x_te, y_te


def _standardize(train, *others):
    mean, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return [((a - mean) / sd).astype("float32") for a in (train,) + others]


def data_digits(split, image=False):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    if image:
        x = x.reshape(-1, 8, 8, 1)
    return _split(x, digits.target.astype("int32"), split, stratify=True)


def data_breast_cancer(split):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x_tr, y_tr, x_val, y_val, x_te, y_te = _split(data.data, data.target.astype("float32"),
                                                  split, stratify=True)
    x_tr, x_val, x_te = _standardize(x_tr, x_val, x_te)
    return x_tr, y_tr, x_val, y_val, x_te, y_te


def data_diabetes(split):
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    x_tr, y_tr, x_val, y_val, x_te, y_te = _split(data.data, data.target, split, stratify=False)
    x_tr, x_val, x_te = _standardize(x_tr, x_val, x_te)
    y_tr, y_val, y_te = _standardize(y_tr, y_val, y_te)  # the target too: MSE in sd units
    return x_tr, y_tr, x_val, y_val, x_te, y_te


def _mlp(keras, inputs, hidden, outputs, activation):
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(outputs, activation=activation)])


def _cnn(keras):
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def _sgd(keras, lr):
    return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)


def _adam(keras, lr):
    return keras.optimizers.Adam(learning_rate=lr)


def _rmsprop(keras, lr):
    return keras.optimizers.RMSprop(learning_rate=lr)


CLASSIFY = dict(loss="sparse_categorical_crossentropy", metric="accuracy", higher=True)
ROWS = {
    "digits-mlp-sgd": dict(title="digits, MLP 64-128-10, SGD momentum 0.9", data=data_digits,
                           model=lambda k: _mlp(k, 64, 128, 10, "softmax"), optimizer=_sgd,
                           grid=SGD_GRID, epochs=10, **CLASSIFY),
    "digits-mlp-adam": dict(title="digits, MLP 64-128-10, Adam", data=data_digits,
                            model=lambda k: _mlp(k, 64, 128, 10, "softmax"), optimizer=_adam,
                            grid=ADAPTIVE_GRID, epochs=10, **CLASSIFY),
    "digits-mlp-rmsprop": dict(title="digits, MLP 64-128-10, RMSprop", data=data_digits,
                               model=lambda k: _mlp(k, 64, 128, 10, "softmax"), optimizer=_rmsprop,
                               grid=ADAPTIVE_GRID, epochs=10, **CLASSIFY),
    "digits-cnn-sgd": dict(title="digits 8x8x1, CNN conv16-pool-conv32-gap-10, SGD momentum 0.9",
                           data=lambda split: data_digits(split, image=True), model=_cnn,
                           optimizer=_sgd, grid=SGD_GRID, epochs=10, **CLASSIFY),
    "breast-cancer-adam": dict(title="breast cancer (standardized), MLP 30-32-1, Adam",
                               data=data_breast_cancer,
                               model=lambda k: _mlp(k, 30, 32, 1, "sigmoid"), optimizer=_adam,
                               grid=ADAPTIVE_GRID, epochs=20, loss="binary_crossentropy",
                               metric="accuracy", higher=True),
    "diabetes-rmsprop": dict(title="diabetes (x and y standardized), MLP 10-32-1, RMSprop, MSE",
                             data=data_diabetes, model=lambda k: _mlp(k, 10, 32, 1, None),
                             optimizer=_rmsprop, grid=ADAPTIVE_GRID, epochs=30, loss="mse",
                             metric="mse", higher=False),
}


# The sweep also runs these: the panel's problems with another momentum, the evidence that
# the range test's turn-up rate does not see the momentum while training does.
MOMENTUM_ROWS = {
    "digits-mlp-sgd-m0": dict(ROWS["digits-mlp-sgd"], title="digits, MLP 64-128-10, SGD momentum 0",
                              optimizer=lambda k, lr: k.optimizers.SGD(learning_rate=lr)),
    "breast-cancer-sgd-m0": dict(ROWS["breast-cancer-adam"],
                                 title="breast cancer (standardized), MLP 30-32-1, SGD momentum 0",
                                 optimizer=lambda k, lr: k.optimizers.SGD(learning_rate=lr),
                                 grid=SGD_GRID),
    "breast-cancer-sgd": dict(ROWS["breast-cancer-adam"],
                              title="breast cancer (standardized), MLP 30-32-1, SGD momentum 0.9",
                              optimizer=_sgd, grid=SGD_GRID),
    "digits-mlp-rmsprop-m9": dict(ROWS["digits-mlp-rmsprop"],
                                  title="digits, MLP 64-128-10, RMSprop momentum 0.9",
                                  optimizer=lambda k, lr: k.optimizers.RMSprop(learning_rate=lr,
                                                                               momentum=0.9)),
}
ALL_ROWS = {**ROWS, **MOMENTUM_ROWS}


def _keras():
    import keras

    return keras


def build(row, seed, lr):
    keras = _keras()
    keras.utils.set_random_seed(seed)
    model = row["model"](keras)
    model.compile(row["optimizer"](keras, lr), row["loss"])
    return model


def _momentum(row):
    """The heavy-ball momentum of the row's SGD or RMSprop; None for the Adam family."""
    from kerasclr import training

    optimizer = row["optimizer"](_keras(), 0.01)
    attribute = training.momentum_attribute(optimizer)  # "beta_1" for the Adam family
    return float(getattr(optimizer, attribute)) if attribute == "momentum" else None


def score(row, model, x, y):
    """The row's metric on (x, y): accuracy, or the mean squared error.

    One forward pass in eager mode (no compiled predict or evaluate function, which on
    JAX would cost a compilation per model and data size).
    """
    keras = _keras()
    out = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)
    y = np.asarray(y)
    if row["metric"] == "mse":
        value = float(np.mean((out.reshape(y.shape) - y) ** 2))
        return value if math.isfinite(value) else math.inf
    predicted = out.argmax(axis=-1) if out.shape[-1] > 1 else (out[:, 0] > 0.5)
    return float(np.mean(predicted == y.reshape(predicted.shape)))


def steps_per_epoch(n):
    return math.ceil(n / BATCH_SIZE)


# --------------------------------------------------------------------------- #
# The trainings
# --------------------------------------------------------------------------- #
def train_constant(row, data, seed, lr, epochs):
    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    model = build(row, seed, lr)
    model.fit(x_tr, y_tr, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    return score(row, model, x_val, y_val), score(row, model, x_te, y_te)


def train_cosine(row, data, seed, peak, epochs):
    """Keras' warm-up + cosine decay, as its documentation shows it (from 0, 30% warm-up)."""
    keras = _keras()
    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    total = epochs * steps_per_epoch(len(x_tr))
    warmup = round(0.3 * total)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=total - warmup, warmup_target=peak,
        warmup_steps=warmup)
    model = build(row, seed, schedule)
    model.fit(x_tr, y_tr, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    return score(row, model, x_val, y_val), score(row, model, x_te, y_te)


def train_pipeline(row, data, seed, epochs):
    """kerasclr.pipeline.fit_one_cycle(), the product as a user calls it."""
    from kerasclr.pipeline import fit_one_cycle

    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    model = build(row, seed, row["grid"][len(row["grid"]) // 2])  # the lr is the pipeline's
    result = fit_one_cycle(model, x_tr, y_tr, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    return (score(row, model, x_val, y_val), score(row, model, x_te, y_te),
            float(result.max_lr), result.range_test_steps, list(result.range_test.lr_range))


def train_cyclic(row, data, seed, lr_range, epochs):
    """CyclicLR with the range test's (base_lr, max_lr) and the callback's other defaults."""
    from kerasclr.callbacks import CyclicLR

    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    model = build(row, seed, row["grid"][len(row["grid"]) // 2])
    model.fit(x_tr, y_tr, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
              callbacks=[CyclicLR(base_lr=lr_range[0], max_lr=lr_range[1])])
    return score(row, model, x_val, y_val), score(row, model, x_te, y_te)


def train_one_cycle(row, data, seed, peak, epochs, momentum):
    from kerasclr.callbacks import OneCycle

    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    model = build(row, seed, peak)
    model.fit(x_tr, y_tr, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
              callbacks=[OneCycle(max_lr=peak, momentum=momentum)])
    return score(row, model, x_val, y_val), score(row, model, x_te, y_te)


# --------------------------------------------------------------------------- #
# The panel
# --------------------------------------------------------------------------- #
def _timed(f, *args):
    start = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - start


def run_row(name, splits, seeds, log):
    row = ROWS[name]
    epochs = row["epochs"]
    out = dict(constant={}, cosine={}, one_cycle={}, pipeline=[], cyclic=[],
               wall=dict(constant=0.0, cosine=0.0, one_cycle=0.0, pipeline=0.0, cyclic=0.0))
    for split in splits:
        data = row["data"](split)
        for seed in seeds:
            for lr in row["grid"]:
                (val, test), wall = _timed(train_constant, row, data, seed, lr, 2 * epochs)
                out["constant"].setdefault(f"{split}/{lr}", []).append((val, test))
                out["wall"]["constant"] += wall
                (val, test), wall = _timed(train_cosine, row, data, seed, lr, epochs)
                out["cosine"].setdefault(f"{split}/{lr}", []).append((val, test))
                out["wall"]["cosine"] += wall
                (val, test), wall = _timed(train_one_cycle, row, data, seed, lr, epochs, None)
                out["one_cycle"].setdefault(f"{split}/{lr}", []).append((val, test))
                out["wall"]["one_cycle"] += wall
            (val, test, max_lr, rt_steps, lr_range), wall = _timed(train_pipeline, row, data, seed,
                                                                    epochs)
            out["pipeline"].append(dict(split=split, seed=seed, val=val, test=test, max_lr=max_lr,
                                        range_test_steps=rt_steps,
                                        steps_per_epoch=steps_per_epoch(len(data[0]))))
            out["wall"]["pipeline"] += wall
            log(f"  {name} split {split} seed {seed}: pipeline max_lr {max_lr:.3g}, test {test:.4f}")
            (val, test), wall = _timed(train_cyclic, row, data, seed, lr_range, epochs)
            out["cyclic"].append(dict(val=val, test=test, lr_range=lr_range))
            out["wall"]["cyclic"] += wall
    return out


def _select(row, results, splits):
    """Per split, the grid value with the best mean validation metric; its test values."""
    pick = max if row["higher"] else min
    tests, chosen = [], []
    for split in splits:
        by_value = {lr: results[f"{split}/{lr}"] for lr in row["grid"]}
        best = pick(by_value, key=lambda lr: statistics.mean(v for v, _ in by_value[lr]))
        chosen.append(best)
        tests.append([t for _, t in by_value[best]])
    return tests, chosen


def _ceiling(row, results, splits, n_seeds):
    """Per run, the best test value of any grid value: no rule choosing among them does better."""
    pick = max if row["higher"] else min
    return [pick(results[f"{split}/{lr}"][i][1] for lr in row["grid"])
            for split in splits for i in range(n_seeds)]


def _window_tuner(row, out, seeds):
    """A tuner simulated from the grid runs: the range test's peak, tried with its neighbours.

    Per run, of the three grid values around the pipeline's ``max_lr`` (the nearest in
    log and the two beside it), the one whose ``OneCycle`` run did best on that run's
    validation data; its test value. An estimate of what ``fit_one_cycle()`` would reach
    if it trained three peaks and kept the best (it is not part of kerasclr).
    """
    grid, sign = list(row["grid"]), 1 if row["higher"] else -1
    tests = []
    for p in out["pipeline"]:
        nearest = min(range(len(grid)), key=lambda k: abs(math.log(grid[k] / p["max_lr"])))
        runs = {lr: out["one_cycle"][f"{p['split']}/{lr}"][seeds.index(p["seed"])]
                for lr in grid[max(0, nearest - 1):nearest + 2]}
        tests.append(max(runs.values(), key=lambda vt: sign * vt[0])[1])
    return tests


def _pooled_sd(groups):
    """The seed standard deviation, pooled over splits (each group: one split's seeds)."""
    variances = [statistics.variance(g) for g in groups if len(g) > 1]
    return math.sqrt(statistics.mean(variances)) if variances else math.nan


def _fmt(values, row):
    digits = 4 if row["metric"] == "accuracy" else 3
    sd = statistics.stdev(values) if len(values) > 1 else math.nan
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def report_row(name, out, splits, seeds):
    row = ROWS[name]
    epochs = row["epochs"]
    n_runs = len(splits) * len(seeds)
    const_tests, const_lrs = _select(row, out["constant"], splits)
    cos_tests, cos_peaks = _select(row, out["cosine"], splits)
    oc_tests, oc_peaks = _select(row, out["one_cycle"], splits)
    ceiling = _ceiling(row, out["one_cycle"], splits, len(seeds))
    pipe = out["pipeline"]
    pipe_tests = [p["test"] for p in pipe]
    flat = lambda groups: [v for g in groups for v in g]  # noqa: E731
    const_all, cos_all = flat(const_tests), flat(cos_tests)
    spe = pipe[0]["steps_per_epoch"]
    rt_epochs = statistics.mean(p["range_test_steps"] for p in pipe) / spe
    grid_n = len(row["grid"])
    sd_cos = _pooled_sd(cos_tests)
    m_pipe, m_const, m_cos, m_oc, m_ceiling, m_window = (statistics.mean(v) for v in (
        pipe_tests, const_all, cos_all, flat(oc_tests), ceiling,
        _window_tuner(row, out, list(seeds))))
    beats_const, near_cos = goals_met(m_pipe, m_const, m_cos, sd_cos, higher_is_better=row["higher"])
    lines = [
        f"| {row['title']} | `fit_one_cycle()`, max_lr {_lr_list(p['max_lr'] for p in pipe)} | "
        f"{epochs} + {rt_epochs:.1f} (range test) | {_fmt(pipe_tests, row)} | "
        f"{out['wall']['pipeline'] / n_runs:.1f} |",
        f"| | `CyclicLR` from the same range test's `lr_range` "
        f"({_lr_list(c['lr_range'][0] for c in out['cyclic'])} to "
        f"{_lr_list(c['lr_range'][1] for c in out['cyclic'])}), callback defaults | "
        f"{epochs} + the range test | {_fmt([c['test'] for c in out['cyclic']], row)} | "
        f"{out['wall']['cyclic'] / n_runs:.1f} (+ range test) |",
        f"| | best constant of {_grid(row)} (chose {_lr_list(const_lrs)}) | {2 * epochs} "
        f"(x {grid_n} to tune) | {_fmt(const_all, row)} | {out['wall']['constant'] / n_runs:.1f} |",
        f"| | Keras `CosineDecay`, warm-up 30%, best peak of the grid (chose {_lr_list(cos_peaks)}) "
        f"| {epochs} (x {grid_n} to tune) | {_fmt(cos_all, row)} | "
        f"{out['wall']['cosine'] / n_runs:.1f} |",
        f"| | `OneCycle`, callback defaults, best peak of the grid (chose {_lr_list(oc_peaks)}) "
        f"| {epochs} (x {grid_n} to tune) | {_fmt(flat(oc_tests), row)} | "
        f"{out['wall']['one_cycle'] / n_runs:.1f} |",
        f"| | ceiling: `OneCycle` at the grid peak best on *test* in each run (no method; "
        f"what no choice of peak beats) | {epochs} | {_fmt(ceiling, row)} | |",
    ]
    def goals(mean):
        return "(%s, %s)" % tuple(goal_verdict(g) for g in goals_met(
            mean, m_const, m_cos, sd_cos, higher_is_better=row["higher"]))

    verdict = (f"{name}: pipeline {m_pipe:.4f} vs best constant {m_const:.4f} "
               f"({goal_verdict(beats_const)}); vs cosine {m_cos:.4f}, seed sd {sd_cos:.4f} "
               f"({goal_verdict(near_cos)}); tuned OneCycle {m_oc:.4f} {goals(m_oc)}; "
               f"ceiling {m_ceiling:.4f} {goals(m_ceiling)}; simulated 3-peak tuner around the "
               f"range test's peak {m_window:.4f} {goals(m_window)}")
    return lines, verdict


def _grid(row):
    return "{" + ", ".join(f"{v:g}" for v in row["grid"]) + "}"


def _lr_list(values):
    values = list(values)
    if len(set(f"{v:.2g}" for v in values)) == 1:
        return f"{values[0]:.2g}"
    return f"{min(values):.2g}-{max(values):.2g}"


def panel(args):
    import keras

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    start = time.perf_counter()
    table, verdicts, raw = [], [], {}
    if args.from_json:  # the report again, from the runs of an earlier panel
        with open(args.from_json) as f:
            raw = json.load(f)
        pipeline = next(iter(raw.values()))["pipeline"]
        splits = sorted({p["split"] for p in pipeline})
        seeds = sorted({p["seed"] for p in pipeline})
        heading = f"from {args.from_json}"
    else:
        splits = DEV_SPLITS if args.dev else PANEL_SPLITS
        splits = splits[:1] if args.quick else splits
        seeds = SEEDS[:1] if args.quick else SEEDS
    for name in (args.rows or list(raw or ROWS)):
        out = raw[name] if args.from_json else run_row(name, splits, seeds, log)
        raw[name] = out
        lines, verdict = report_row(name, out, splits, seeds)
        table += lines
        verdicts.append(verdict)
        log(verdict)
    if not args.from_json:
        heading = (f"backend {keras.backend.backend()}, batch {BATCH_SIZE}; "
                   f"{(time.perf_counter() - start) / 60:.1f} min in all")
    print(f"## Outcome panel ({'development ' if args.dev else ''}splits {list(splits)} x seeds "
          f"{list(seeds)}, {heading})\n")
    print("Test metric (accuracy; MSE for diabetes, lower is better), mean ± sd over the runs. "
          "Epochs: per final model; wall time: seconds per run, tuning included.\n")
    print("| problem | training | epochs | test metric | wall s |")
    print("|---|---|---|---|---|")
    print("\n".join(table))
    print()
    print("\n".join(verdicts))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f)


# --------------------------------------------------------------------------- #
# The development sweep behind the rule
# --------------------------------------------------------------------------- #
def sweep(args):
    from kerasclr.range_test import lr_range_test

    rows = args.rows or list(ALL_ROWS)
    seeds = SEEDS[:2]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    records = []
    for name in rows:
        row = ALL_ROWS[name]
        is_sgd = row["grid"] is SGD_GRID
        has_momentum = _momentum(row) != 0  # what one-cycle can cycle (None: Adam's beta_1)
        peaks = [10 ** (e / 2) for e in (range(-5, 2) if is_sgd else range(-8, -1))]
        for split in DEV_SPLITS:
            data = row["data"](split)
            for seed in seeds:
                model = build(row, seed, row["grid"][0])
                # With the whole validation set evaluated after every step: does its loss
                # turn up where training should peak, better than the training loss?
                rt = lr_range_test(model, data[0], data[1], batch_size=BATCH_SIZE, verbose=False,
                                   validation_data=(data[2], data[3]),
                                   val_batches=math.ceil(len(data[2]) / BATCH_SIZE))
                rec = dict(row=name, split=split, seed=seed,
                           curve={k: [float(v) for v in rt.history[k]] for k in ("lr", "loss",
                                                                                 "smoothed_loss",
                                                                                 "val_loss")},
                           suggestions=dict(rt.suggestions), one_cycle={}, cycled={})
                for peak in peaks:
                    rec["one_cycle"][peak] = train_one_cycle(row, data, seed, peak, row["epochs"], None)
                    if has_momentum:
                        rec["cycled"][peak] = train_one_cycle(row, data, seed, peak, row["epochs"],
                                                              (0.95, 0.85))
                records.append(rec)
                log(f"{name} {split}/{seed}: lr at smoothed min "
                    f"{10 * rt.suggestions['minimum']:.3g}; one-cycle val "
                    + " ".join(f"{p:.2g}:{v[0]:.3f}" for p, v in rec["one_cycle"].items()))
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(records, f)
    sweep_summary(records)


SWEEP_DIVISORS = (2, 4, 5, 6, 8, 10, 15)
SWEEP_VAL_DIVISORS = (1, 2, 3, 6)


def sweep_summary(records):
    """The tables behind the rule's docstring, from the sweep's records."""
    from kerasclr import suggestions

    by_row = {}
    for rec in records:
        by_row.setdefault(rec["row"], []).append(rec)
    print("## One-cycle at fixed peaks, development splits (validation metric, mean over runs)\n")
    for name, recs in by_row.items():
        peaks = sorted(float(p) for p in recs[0]["one_cycle"])
        cells = []
        for p in peaks:
            fixed = statistics.mean(r["one_cycle"][_key(r["one_cycle"], p)][0] for r in recs)
            cycled = [r["cycled"][_key(r["cycled"], p)][0] for r in recs if r["cycled"]]
            cells.append(f"{p:.3g}: {fixed:.4f}" + (f" ({statistics.mean(cycled):.4f})" if cycled else ""))
        turn_ups = [suggestions.turn_up_lr(r["curve"]["lr"], r["curve"]["smoothed_loss"], 100)
                    for r in recs]
        print(f"- {name} ({len(recs)} runs; L {min(turn_ups):.3g}-{max(turn_ups):.3g}; "
              f"momentum cycled 0.95-0.85 in brackets): " + "; ".join(cells))
    print("\n## Mean shortfall from the best peak of max_lr = L / divisor (validation; "
          "accuracy points as fractions, MSE for diabetes)\n")
    print("L: where the smoothed training loss turns up; L_val: the same of the validation "
          "loss, evaluated after every step of the test (records without it are skipped). The "
          "last columns: the mean over the rows whose 100-step curves all fell (the panel's "
          "rows; all rows, the momentum variants included).\n")

    def turn_up(rec, column):
        return suggestions.turn_up_lr(rec["curve"]["lr"], rec["curve"][column], 100)

    rules = [(f"L / {d}", lambda r, d=d: turn_up(r, "smoothed_loss") / d) for d in SWEEP_DIVISORS]
    # Tried, not adopted: L / 6 scaled by the heavy-ball momentum's gain relative to 0.9's
    # (the range test's L does not see the momentum, training does; see MOMENTUM_ROWS).
    gain = {name: 1.0 if m is None else math.sqrt((1 - m) / 0.1)
            for name, m in ((name, _momentum(ALL_ROWS[name])) for name in by_row)}
    rules.append((f"L / {suggestions.RULE_DIVISOR:g} x sqrt((1 - momentum) / 0.1) for SGD and RMSprop",
                  lambda r: turn_up(r, "smoothed_loss") / suggestions.RULE_DIVISOR * gain[r["row"]]))
    rules += [(f"L_val / {d}", lambda r, d=d: turn_up(r, "val_loss") / d if "val_loss" in r["curve"]
               else None) for d in SWEEP_VAL_DIVISORS]
    rules += [(f"fastai's {m}", lambda r, m=m: r["suggestions"][m])
              for m in suggestions.METHODS]
    fell = [name for name, recs in by_row.items()
            if all(suggestions.curve_fell(r["curve"]["lr"], r["curve"]["smoothed_loss"], 100)
                   for r in recs)]
    print("| rule | " + " | ".join(by_row) + " | panel rows that fell | all rows that fell |")
    print("|---" * (len(by_row) + 3) + "|")
    for label, rule in rules:
        means = {}
        for name, recs in by_row.items():
            higher = ALL_ROWS[name]["higher"]
            gaps = []
            for r in recs:
                lr = rule(r)
                if lr is None or not math.isfinite(lr):  # fastai's slide needs a longer curve
                    continue
                peaks = sorted(float(p) for p in r["one_cycle"])
                vals = np.array([r["one_cycle"][_key(r["one_cycle"], p)][0] for p in peaks])
                vals = vals if higher else -vals
                gaps.append(float(vals.max() - np.interp(np.log10(lr), np.log10(peaks), vals)))
            if gaps:
                means[name] = statistics.mean(gaps)
        if not means:
            continue
        cells = [f"{means[name]:.4f}" if name in means else "" for name in by_row]
        for names in ([name for name in fell if name in ROWS], fell):
            overall = [means[name] for name in names if name in means]
            cells.append(f"{statistics.mean(overall):.4f}" if overall else "")
        print(f"| {label} | " + " | ".join(cells) + " |")


def _key(table, peak):
    """The key of `peak` in a record's table (floats become strings in JSON)."""
    return next(k for k in table if math.isclose(float(k), peak))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 split x 1 seed (development)")
    parser.add_argument("--backend", help="KERAS_BACKEND (default: the environment's, else tensorflow)")
    parser.add_argument("--rows", type=lambda s: s.split(","),
                        help=f"some of {','.join(ROWS)} (--sweep: also {','.join(MOMENTUM_ROWS)})")
    parser.add_argument("--dev", action="store_true", help="the development splits instead of the panel's")
    parser.add_argument("--sweep", action="store_true", help="the development sweep behind the rule")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--from-json", help="the report again from the --json file of an earlier "
                                            "panel (with --sweep: of an earlier sweep)")
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    if args.rows:
        known = ALL_ROWS if args.sweep else ROWS
        unknown = set(args.rows) - set(known)
        if unknown:
            parser.error(f"unknown rows {sorted(unknown)}; choose from {list(known)}")
    if args.sweep and args.from_json:
        with open(args.from_json) as f:
            sweep_summary(json.load(f))
    else:
        (sweep if args.sweep else panel)(args)


if __name__ == "__main__":
    main()
