"""The learning-rate range test (Smith 2017; fastai's ``lr_find``), for Keras 3 on any backend.

``lr_range_test(model, x, y, ...)`` trains a compiled model for ``num_iter`` batches
while the learning rate grows every batch from ``start_lr`` to ``end_lr``, records the
true loss of every batch, its bias-corrected exponential smoothing and optionally a
validation loss, stops early when the loss diverges, and then puts the model back
exactly as it was (weights, optimizer state, hyperparameters; see ``kerasclr.state``).

How it runs: one ``model.fit()`` call (so every input Keras accepts works: arrays,
generators, ``PyDataset``, ``tf.data``, torch ``DataLoader``) with

- a callback that reads the batch's own loss (``kerasclr.training.BatchLossReader``),
  smooths it, checks for divergence, sets ``model.stop_training``, and sets the next
  step's learning rate into the optimizer's variable (``kerasclr.training.set_learning_rate``;
  on JAX written into the state the fit loop carries, so no state sync is needed).
  The model's own compiled train step is reused when nothing else changes; a grid
  value or a learning-rate schedule (replaced by a variable for the test) is traced
  afresh (``_FreshTrace``).

A grid over ``weight_decay`` and/or ``momentum`` runs one test per combination, from the
same starting state.
"""

from __future__ import annotations

import itertools
import math
import sys
from typing import Any, Sequence

import numpy as np

from kerasclr import suggestions as suggestions_module
from kerasclr import training
from kerasclr._r_bridge import fit_inputs
from kerasclr.results import RangeTestResult
from kerasclr.state import ModelState

STEP_MODES = ("exp", "linear")
STOP_REASONS = {
    "completed": "completed all {num_iter} steps",
    "diverged": "stopped at step {steps}: the smoothed loss exceeded {threshold:g} x its minimum",
    "nan": "stopped at step {steps}: the loss is NaN or infinite",
    "exhausted": "stopped at step {steps}: the data ran out (a one-shot generator); "
                 "pass a repeating source or lower `num_iter`",
}
# fit() arguments that the range test sets itself.
_RESERVED_FIT_ARGS = ("epochs", "steps_per_epoch", "batch_size", "verbose", "validation_data",
                      "validation_split", "validation_steps", "initial_epoch", "x", "y")


def range_test_lr(step, start_lr, end_lr, num_iter, step_mode="exp"):
    """The learning rate of step ``step`` (0-based) of the range test.

    exp: ``start_lr * (end_lr / start_lr) ** (step / (num_iter - 1))``;
    linear: ``start_lr + (end_lr - start_lr) * step / (num_iter - 1)``.
    Step 0 uses ``start_lr`` and step ``num_iter - 1`` uses ``end_lr``.

    Args:
        step: step number(s), a NumPy array (float64).
    """
    fraction = step / (num_iter - 1)
    if step_mode == "exp":
        return start_lr * np.power(end_lr / start_lr, fraction)
    return start_lr + (end_lr - start_lr) * fraction


# --------------------------------------------------------------------------- #
# Argument checks
# --------------------------------------------------------------------------- #
def _check_positive(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"Argument `{name}` must be a finite number > 0. Received: {name}={value!r}")
    return number


def _check_grid(name, values):
    if values is None:
        return [None]
    values = np.atleast_1d(np.asarray(values, dtype=np.float64)).tolist()
    if not values or any((not math.isfinite(v)) or v < 0 for v in values):
        raise ValueError(f"Argument `{name}` must be numbers >= 0. Received: {name}={values!r}")
    if name == "momentum" and any(v >= 1 for v in values):
        raise ValueError(f"Argument `momentum` must be numbers in [0, 1). Received: momentum={values!r}")
    return values


def _num_samples(x):
    """The number of samples of array input (first leaf), or None for other sources."""
    if x is None:
        return None
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)):
        if not x:
            return None
        x = x[0]
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) == 0 or not hasattr(x, "__array__") and not hasattr(x, "numpy"):
        return None
    # A tf.data.Dataset has no shape; tensors and arrays do.
    return int(shape[0])


def _all_leaves_samples(x):
    if isinstance(x, dict):
        leaves = list(x.values())
    elif isinstance(x, (list, tuple)):
        leaves = list(x)
    else:
        leaves = [x]
    return [_num_samples(v) for v in leaves]


def _batches_per_epoch(x, batch_size):
    """Batches that one pass over ``x`` gives, or None when unknown (generators)."""
    n = _num_samples(x)
    if n is not None:
        return math.ceil(n / batch_size)
    if hasattr(x, "cardinality"):  # tf.data.Dataset: a method; tf.distribute's datasets: a number
        card = x.cardinality
        card = int(card() if callable(card) else card)
        return card if card >= 0 else None  # -1 infinite, -2 unknown
    try:
        return len(x)  # PyDataset, torch DataLoader, keras Sequence
    except TypeError:
        return None


def _validation_batches(validation_data, batch_size, val_batches):
    """The first ``val_batches`` batches of the validation data, as fixed (x, y, sw) tuples."""
    if isinstance(validation_data, (list, tuple)) and 2 <= len(validation_data) <= 3 and \
            _num_samples(validation_data[0]) is not None:
        xv, yv = validation_data[0], validation_data[1]
        swv = validation_data[2] if len(validation_data) == 3 else None
        n = _num_samples(xv)
        if _num_samples(yv) is not None and _num_samples(yv) != n:
            raise ValueError(
                "Argument `validation_data` must have as many targets as inputs. "
                f"Received: {n} inputs and {_num_samples(yv)} targets")

        def cut(a, lo, hi):
            if a is None:
                return None
            if isinstance(a, dict):
                return {k: v[lo:hi] for k, v in a.items()}
            if isinstance(a, (list, tuple)):
                return type(a)(v[lo:hi] for v in a)
            return a[lo:hi]

        out = []
        for b in range(min(val_batches, math.ceil(n / batch_size))):
            lo, hi = b * batch_size, min(n, (b + 1) * batch_size)
            out.append((cut(xv, lo, hi), cut(yv, lo, hi), cut(swv, lo, hi)))
        return out
    # A dataset-like source: take its first batches.
    out = []
    for item in validation_data:
        if not isinstance(item, (list, tuple)):
            raise ValueError(
                "Argument `validation_data` must yield (x, y) or (x, y, sample_weight) batches. "
                f"Received an item of type {type(item).__name__}")
        item = tuple(item) + (None,) * (3 - len(item))
        out.append(item[:3])
        if len(out) >= val_batches:
            break
    if not out:
        raise ValueError("Argument `validation_data` gave no batch.")
    return out


def _leading_size(a):
    if isinstance(a, dict):
        a = next(iter(a.values()))
    elif isinstance(a, (list, tuple)):
        a = a[0]
    return int(np.shape(a)[0])


def _validation_loss(model, batches):
    """Mean loss over the fixed validation batches (weighted by batch size), no metric updates."""
    import keras

    keras2 = training.is_keras2_model(model)
    if not keras2 and keras.backend.backend() == "jax" and getattr(model, "_jax_state", None):
        model.jax_state_sync()  # the variables are stale mid-epoch; the loop re-reads them
    # Keras 2's compute_loss() adds to the loss tracker (Keras 3's, with training=False,
    # does not): its totals are put back, so the batch losses stay the training ones.
    tracker = training.loss_tracker(model) if keras2 else None
    saved = [(v, v.numpy()) for v in tracker.variables] if tracker is not None else []
    options = {} if keras2 else {"training": False}
    total, count = 0.0, 0
    try:
        with _no_grad(model):
            for xb, yb, swb in batches:
                if keras2:  # its losses take tensors only
                    xb, yb, swb = _as_tensors((xb, yb, swb))
                y_pred = model(xb, training=False)
                loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, sample_weight=swb, **options)
                size = _leading_size(xb)
                value = np.asarray(loss) if keras2 else keras.ops.convert_to_numpy(loss)
                total += float(value) * size
                count += size
    finally:
        for variable, value in saved:
            variable.assign(value)
    return total / count


def _as_tensors(structure):
    import tensorflow as tf

    return tf.nest.map_structure(lambda a: a if a is None else tf.convert_to_tensor(a), structure)


def _no_grad(model):
    import contextlib

    import keras

    if not training.is_keras2_model(model) and keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- #
# The callback that records and stops
# --------------------------------------------------------------------------- #
def _callback_class():
    import keras

    class RangeTestRecorder(training.Keras2CallbackMixin, keras.callbacks.Callback):
        """Records lr, batch loss, smoothed loss (and validation loss); stops at divergence."""

        _supports_tf_logs = True  # Keras 2: the logs are only a fallback for the loss

        def __init__(self, lrs, num_iter, smooth, diverge_threshold, state, val_batches=None,
                     progbar=None):
            super().__init__()
            self.lrs = lrs
            self.num_iter = num_iter
            self.smooth = smooth
            self.diverge_threshold = diverge_threshold
            self.state = state
            self.val_batches = val_batches
            self.progbar = progbar
            self.records = {"lr": [], "loss": [], "smoothed_loss": []}
            if val_batches is not None:
                self.records["val_loss"] = []
            self.stop_reason = None
            self._avg = 0.0
            self._best = math.inf
            self._reader = None

        def on_train_begin(self, logs=None):
            # fit() has built the model and the optimizer: snapshot what is new.
            self.state.capture_new_variables()
            self._reader = training.BatchLossReader(self.model)
            self._set_learning_rate(0)

        def _set_learning_rate(self, step):
            # The rate of each step is set when the step before it ends (no hook before
            # the batch: one host call less per step).
            if step < self.num_iter:
                training.set_learning_rate(self.model, self.lrs[step])

        def on_epoch_begin(self, epoch, logs=None):
            self._reader.on_epoch_begin()

        def on_train_batch_end(self, batch, logs=None):
            step = len(self.records["loss"])
            if step >= self.num_iter:  # already stopped
                self.model.stop_training = True
                return
            loss = self._reader.batch_loss(logs)
            # fastai / pytorch-lr-finder: exponential moving average, bias-corrected.
            self._avg = self.smooth * self._avg + (1.0 - self.smooth) * loss
            smoothed = self._avg / (1.0 - self.smooth ** (step + 1))
            self.records["lr"].append(float(self.lrs[step]))
            self.records["loss"].append(loss)
            self.records["smoothed_loss"].append(smoothed)
            values = [("lr", float(self.lrs[step])), ("loss", smoothed)]
            if self.val_batches is not None:
                val = _validation_loss(self.model, self.val_batches)
                self.records["val_loss"].append(val)
                values.append(("val_loss", val))
            if self.progbar is not None:
                self.progbar.update(step + 1, values=values, finalize=False)
            if not (math.isfinite(loss) and math.isfinite(smoothed)):
                self._stop("nan")
                return
            if smoothed < self._best:
                self._best = smoothed
            if self._best > 0 and smoothed > self.diverge_threshold * self._best:
                self._stop("diverged")
                return
            if step + 1 >= self.num_iter:
                self._stop("completed")
                return
            self._set_learning_rate(step + 1)

        def _stop(self, reason):
            self.stop_reason = reason
            self.model.stop_training = True

    return RangeTestRecorder


# --------------------------------------------------------------------------- #
# The test
# --------------------------------------------------------------------------- #
def lr_range_test(model: Any, x: Any, y: Any = None, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_iter: int = 100, step_mode: str = "exp", batch_size: int = 32,
                  validation_data: Any = None, diverge_threshold: float = 5.0, smooth: float = 0.98,
                  weight_decay: float | Sequence[float] | None = None,
                  momentum: float | Sequence[float] | None = None, restore: bool = True,
                  verbose: bool = True, val_batches: int = 2, **fit_kwargs: Any) -> RangeTestResult:
    """Runs the learning-rate range test on a compiled Keras model and restores it.

    The learning rate of step ``i`` is ``range_test_lr(i, ...)`` (exponential or linear
    from ``start_lr`` to ``end_lr`` over ``num_iter`` steps). Every step records the
    learning rate, the loss of that batch, the smoothed loss
    ``avg_i / (1 - smooth ** (i + 1))`` with ``avg_i = smooth * avg_{i-1} + (1 - smooth) * loss_i``
    and, with ``validation_data``, the loss on its first ``val_batches`` batches. The
    test stops early when the loss is NaN/infinite or the smoothed loss exceeds
    ``diverge_threshold`` times its minimum so far.

    Args:
        model: a compiled Keras 3 model, or a Keras 2 (``tf_keras``) one.
        x, y: training data, anything ``model.fit()`` accepts. Sources with fewer
            than ``num_iter`` batches are cycled (more epochs); a one-shot generator
            that runs out ends the test ("exhausted").
        start_lr, end_lr: the first and last learning rate (``0 < start_lr < end_lr``).
        num_iter: the number of steps (>= 5).
        step_mode: ``"exp"`` or ``"linear"`` growth.
        batch_size: for array input.
        validation_data: ``(x_val, y_val)`` or a dataset; its first ``val_batches``
            batches are evaluated after every step (bounded cost).
        diverge_threshold: stop when smoothed loss > this x the best smoothed loss
            (checked while the best smoothed loss is > 0).
        smooth: the smoothing factor beta in ``[0, 1)`` (0: no smoothing).
        weight_decay: None, or values of ``optimizer.weight_decay`` (Keras 3's decoupled
            weight decay, applied by every built-in optimizer as
            ``w -= lr * weight_decay * w``); one test per value.
        momentum: None, or values of the optimizer's momentum (``momentum`` for SGD
            and RMSprop, ``beta_1`` for the Adam family); one test per value.
        restore: put the weights and optimizer state back afterwards (the
            hyperparameters we change are always put back, and everything is restored
            after an error or an interrupt).
        verbose: show a progress bar.
        val_batches: how many validation batches to evaluate per step.
        **fit_kwargs: passed on to ``model.fit()`` (e.g. ``shuffle``, ``class_weight``).

    Returns:
        A ``kerasclr.RangeTestResult``: ``lr_range`` and ``suggestions`` of the best run
        (lowest minimum smoothed loss, or validation loss when given), ``history`` (NumPy
        arrays ``lr``, ``loss``, ``smoothed_loss`` [, ``val_loss``, ``weight_decay``,
        ``momentum``]), ``runs`` (per grid value: hyperparameters, ``steps``,
        ``stop_reason``, ``message``, ``suggestions``, ``lr_range``), ``best_run`` and
        ``settings``; with ``.plot()``, ``.to_pandas()`` and a printed summary. Pass it
        to ``CyclicLR(lr_range=result)`` or ``OneCycle(max_lr=result)``.

    Example:

    >>> import keras, numpy as np
    >>> from kerasclr import OneCycle, lr_range_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 4)).astype("float32")
    >>> y = x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    >>> weights = [w.copy() for w in model.get_weights()]
    >>> result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=10, num_iter=40,
    ...                        verbose=False)
    >>> all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    True
    >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[OneCycle(max_lr=result)])
    """
    import keras

    # ---- arguments, all checked before anything is trained ----
    if not hasattr(model, "fit"):
        raise ValueError(f"Argument `model` must be a Keras model. Received: model={type(model).__name__}")
    if not training.is_compiled(model) or getattr(model, "optimizer", None) is None:
        raise ValueError("Argument `model` must be compiled (call `model.compile(optimizer, loss)` first).")
    start_lr = _check_positive("start_lr", start_lr)
    end_lr = _check_positive("end_lr", end_lr)
    if start_lr >= end_lr:
        raise ValueError(
            f"Argument `start_lr` must be < end_lr. Received: start_lr={start_lr}, end_lr={end_lr}")
    if int(num_iter) != num_iter or num_iter < 5:
        raise ValueError(f"Argument `num_iter` must be a whole number >= 5. Received: num_iter={num_iter}")
    num_iter = int(num_iter)
    if step_mode not in STEP_MODES:
        raise ValueError(f"Argument `step_mode` must be one of {list(STEP_MODES)}. Received: step_mode={step_mode!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"Argument `batch_size` must be a whole number >= 1. Received: batch_size={batch_size}")
    batch_size = int(batch_size)
    diverge_threshold = _check_positive("diverge_threshold", diverge_threshold)
    if diverge_threshold <= 1:
        raise ValueError(
            f"Argument `diverge_threshold` must be > 1. Received: diverge_threshold={diverge_threshold}")
    smooth = float(smooth)
    if not (0 <= smooth < 1):
        raise ValueError(f"Argument `smooth` must be in [0, 1). Received: smooth={smooth}")
    if int(val_batches) != val_batches or val_batches < 1:
        raise ValueError(f"Argument `val_batches` must be a whole number >= 1. Received: val_batches={val_batches}")
    bad = sorted(set(fit_kwargs) & set(_RESERVED_FIT_ARGS))
    if bad:
        raise ValueError(f"Argument `{bad[0]}` is set by the range test and cannot be passed to fit().")
    if x is None:
        raise ValueError("Argument `x` must be training data. Received: x=None")
    sizes = [n for n in _all_leaves_samples(x) + (_all_leaves_samples(y) if y is not None else []) if n is not None]
    if len(set(sizes)) > 1:
        raise ValueError(
            "Arguments `x` and `y` must have the same number of samples. "
            f"Received: {sorted(set(sizes))}")
    wd_grid = _check_grid("weight_decay", weight_decay)
    mom_grid = _check_grid("momentum", momentum)

    optimizer = training.inner_optimizer(model.optimizer)
    keras2 = training.is_keras2_model(model)
    if weight_decay is not None and not hasattr(optimizer, "weight_decay"):
        raise ValueError(
            f"Argument `weight_decay`: the optimizer {type(optimizer).__name__} has no "
            "`weight_decay` (Keras 3 optimizers all do, and Keras 2's non-legacy ones). Use "
            "one of those, or add L2 regularizers to the layers instead.")
    momentum_name = None
    if momentum is not None:
        momentum_name = training.momentum_attribute(optimizer)
        if momentum_name is None:
            raise ValueError(
                f"Argument `momentum`: the optimizer {type(optimizer).__name__} has no momentum "
                "(supported: SGD and RMSprop `momentum`, the Adam family and Lion `beta_1`).")
        if momentum_name == "momentum" and not training.has_momentum_buffers(optimizer) \
                and any(m > 0 for m in mom_grid):
            raise ValueError(
                f"Argument `momentum`: the optimizer {type(optimizer).__name__} was built with "
                "momentum=0 and has no momentum buffers. Compile the model with a momentum > 0 "
                "(e.g. `SGD(momentum=0.9)`) to test momentum values.")

    nb = _batches_per_epoch(x, batch_size)
    if nb is not None and nb < 1:
        raise ValueError("Argument `x` must give at least one batch. Received an empty data source.")
    if nb is not None:
        fit_plan = dict(epochs=math.ceil(num_iter / nb))
    else:
        fit_plan = dict(epochs=1, steps_per_epoch=num_iter)
    if _num_samples(x) is not None:
        fit_plan["batch_size"] = batch_size
    val_data = None
    if validation_data is not None:
        val_data = _validation_batches(validation_data, batch_size, int(val_batches))

    lrs = range_test_lr(np.arange(num_iter, dtype=np.float64), start_lr, end_lr, num_iter, step_mode)
    grid = list(itertools.product(wd_grid, mom_grid))

    # ---- the runs ----
    state = ModelState.capture(model)
    runs, columns = [], {}
    user_callbacks = list(fit_kwargs.pop("callbacks", None) or [])
    # An R generator function's batches are drawn on the main thread (see MainThreadBatches).
    fit_x, feeders = fit_inputs(x)
    completed = False
    try:
        for run_index, (wd, mom) in enumerate(grid):
            if run_index > 0:
                state.restore()  # the same starting point for every grid value
            if wd is not None:
                optimizer.weight_decay = wd
            if mom is not None:
                setattr(optimizer, momentum_name, mom)
            # The learning rate is set into the optimizer's variable before each step (the
            # recorder); a schedule is replaced by a variable for the test. The compiled
            # step is traced afresh only when it would differ from the model's own: a grid
            # value (a Python constant in the step), a schedule, steps_per_execution != 1.
            grid_value = len(grid) > 1 or wd is not None or mom is not None
            retrace = (grid_value or not training.learning_rate_is_variable(optimizer)
                       or training.steps_per_execution(model) != 1)
            training.replace_learning_rate_schedule(optimizer)
            if retrace:
                model.steps_per_execution = 1
            label = _run_label(wd, mom)
            progbar = None
            if verbose:
                if label:
                    print(f"lr range test [{label}]", file=sys.stdout)
                progbar = keras.utils.Progbar(num_iter, stateful_metrics=["lr", "loss", "val_loss"])
            recorder = _callback_class()(lrs, num_iter, smooth, diverge_threshold, state, val_data, progbar)
            fresh_trace = _FreshTrace(model).install() if retrace else None
            try:
                model.fit(fit_x, y, verbose=0, callbacks=[recorder] + feeders + user_callbacks,
                          **fit_plan, **fit_kwargs)
            finally:
                if fresh_trace is not None:
                    fresh_trace.remove()
            steps = len(recorder.records["loss"])
            reason = recorder.stop_reason or ("exhausted" if steps < num_iter else "completed")
            if progbar is not None:
                progbar.update(steps, finalize=True)
            message = STOP_REASONS[reason].format(num_iter=num_iter, steps=steps, threshold=diverge_threshold)
            if verbose and reason != "completed":
                print(f"lr range test {message}.", file=sys.stdout)
            run_suggestions = suggestions_module.suggest(
                recorder.records["lr"], recorder.records["smoothed_loss"], num_iter=num_iter)
            runs.append(dict(
                weight_decay=wd, momentum=mom, steps=steps, stop_reason=reason, message=message,
                suggestions=run_suggestions,
                lr_range=list(suggestions_module.lr_range_rule(
                    recorder.records["lr"], recorder.records["smoothed_loss"], num_iter=num_iter)),
                score=_run_score(recorder.records)))
            for key, values in recorder.records.items():
                columns.setdefault(key, []).extend(values)
            if weight_decay is not None:
                columns.setdefault("weight_decay", []).extend([wd] * steps)
            if momentum is not None:
                columns.setdefault("momentum", []).extend([mom] * steps)
        completed = True
    finally:
        # Always the hyperparameters; the variables unless restore=False after a clean run.
        state.restore(variables=restore or not completed)

    best = min(range(len(runs)), key=lambda i: runs[i]["score"])
    return RangeTestResult(
        history=columns,
        runs=runs,
        best_run=best,
        suggestions=runs[best]["suggestions"],
        lr_range=runs[best]["lr_range"],
        settings=dict(start_lr=start_lr, end_lr=end_lr, num_iter=num_iter, step_mode=step_mode,
                      diverge_threshold=diverge_threshold, smooth=smooth, batch_size=batch_size,
                      backend="tensorflow (Keras 2)" if keras2 else keras.backend.backend()),
    )


class _FreshTrace:
    """Makes the next ``fit()`` trace its train step again, touching no other compiled function.

    Hyperparameters (weight decay, momentum) and a learning-rate stand-in are Python
    constants in the traced step. A new ``train_function`` is enough on TensorFlow
    and PyTorch. On JAX, Keras jits the bound method ``model.train_step`` every time
    (keras/src/backend/jax/trainer.py, ``make_train_function``; Keras 3.8 to 3.15.1),
    and ``jax.jit``'s trace cache is keyed by the function: a new jit of the same
    method would reuse an older trace (the user's, or an earlier grid value's) with
    its old constants. So the model gets a train step of its own, a new function
    object per trace, for one ``fit()``; ``remove()`` gives it back its own, whose
    compiled traces are untouched. A Keras 2 optimizer with ``jit_compile`` gets a
    fresh per-variable update step (``ModelState.restore`` gives it back its own).
    """

    def __init__(self, model):
        self.model = model
        self._saved = None

    def install(self):
        import keras

        model = self.model
        model.train_function = None
        if training.is_keras2_model(model):
            optimizer = training.inner_optimizer(model.optimizer)
            update_step = training.fresh_keras2_update_step(optimizer)
            if update_step is not None:
                object.__setattr__(optimizer, "_update_step_xla", update_step)
        elif keras.backend.backend() == "jax":
            self._saved = model.__dict__.get("train_step", _NO_ATTRIBUTE)
            step = model.train_step

            def train_step(state, data):
                return step(state, data)

            object.__setattr__(model, "train_step", train_step)
        return self

    def remove(self):
        if self._saved is None:
            return
        if self._saved is _NO_ATTRIBUTE:
            self.model.__dict__.pop("train_step", None)
        else:
            object.__setattr__(self.model, "train_step", self._saved)
        self._saved = None


_NO_ATTRIBUTE = object()


def _run_score(records):
    """Lower is better: the minimum validation loss, else the minimum smoothed loss."""
    values = np.asarray(records.get("val_loss") or records["smoothed_loss"], dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.min()) if values.size else math.inf


def _run_label(wd, mom):
    parts = []
    if wd is not None:
        parts.append(f"weight_decay={wd:g}")
    if mom is not None:
        parts.append(f"momentum={mom:g}")
    return ", ".join(parts)
