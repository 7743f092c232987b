"""The learning-rate range test (Smith 2017; fastai's ``lr_find``), for Keras 3 on any backend.

``lr_range_test(model, x, y, ...)`` trains a compiled model for ``num_iter`` batches
while the learning rate grows every batch from ``start_lr`` to ``end_lr``, records the
true loss of every batch, its bias-corrected exponential smoothing and optionally a
validation loss, stops early when the loss diverges, and then puts the model back
exactly as it was (weights, optimizer state, hyperparameters; see ``kerasclr.state``).

How it runs: one ``model.fit()`` call (so every input Keras accepts works: arrays,
generators, ``PyDataset``, ``tf.data``, torch ``DataLoader``) whose train function is
wrapped (``kerasclr.training.HostDrivenSteps``): before each step the step's learning
rate goes where the optimizer reads it, after it the batch's own loss is read back, and
a callback's ``_record`` smooths it, checks for divergence and sets
``model.stop_training``. No batch hook runs (none is needed without validation data),
so Keras' fit loop does not wait for the device at every batch; on JAX the rate enters
the state the loop carries and the loss is read two steps behind (the test may run two
steps past its stop; the records end at the stop). The model's own compiled train step
is reused when nothing else changes; a grid value or a learning-rate schedule (replaced
by a variable for the test) is traced afresh (``kerasclr.training.FreshTrace``).

A grid over ``weight_decay`` and/or ``momentum`` runs one test per combination, from the
same starting state.
"""

from __future__ import annotations

import itertools
import math
import sys
from typing import Any, Sequence

import numpy as np

from kerasclr import _data
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


# --------------------------------------------------------------------------- #
# The callback that records and stops
# --------------------------------------------------------------------------- #
def _callback_class():
    import keras

    class RangeTestRecorder(training.Keras2CallbackMixin, keras.callbacks.Callback):
        """Sets each step's rate, records lr, batch loss, smoothed loss (and validation loss); stops at divergence.

        The per-step work runs around the train function (``training.HostDrivenSteps``):
        no batch hook, so that Keras' fit loop needs no host sync per batch; with
        validation data a batch hook evaluates it after every step.
        """

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
                self.on_train_batch_end = self._validate
            self.stop_reason = None
            self.driver = None  # training.HostDrivenSteps, from on_train_begin
            self._fit_model = None  # the model itself: `self.model` syncs JAX's state
            self._avg = 0.0
            self._best = math.inf

        def on_train_begin(self, logs=None):
            # fit() has built the model and the optimizer: snapshot what is new.
            self.state.capture_new_variables()
            self._fit_model = self.model
            self.driver = training.HostDrivenSteps(
                self._fit_model, self.lrs, self._record,
                deferred=self.val_batches is None).install()

        def on_epoch_begin(self, epoch, logs=None):
            self.driver.on_epoch_begin()

        def _validate(self, batch, logs=None):
            self.driver.flush()

        def _record(self, loss):
            step = len(self.records["loss"])
            if self.stop_reason is not None:  # a step run before the stop took effect
                return
            # fastai / pytorch-lr-finder: exponential moving average, bias-corrected.
            self._avg = self.smooth * self._avg + (1.0 - self.smooth) * loss
            smoothed = self._avg / (1.0 - self.smooth ** (step + 1))
            self.records["lr"].append(float(self.lrs[step]))
            self.records["loss"].append(loss)
            self.records["smoothed_loss"].append(smoothed)
            values = [("lr", float(self.lrs[step])), ("loss", smoothed)]
            if self.val_batches is not None:
                val = _data.validation_loss(self.model, self.val_batches)
                self.records["val_loss"].append(val)
                values.append(("val_loss", val))
            if self.progbar is not None:
                self.progbar.update(step + 1, values=values, finalize=False)
            if not (math.isfinite(loss) and math.isfinite(smoothed)):
                self._stop("nan")
            elif smoothed < self._best:
                self._best = smoothed
            if self.stop_reason is None and self._best > 0 \
                    and smoothed > self.diverge_threshold * self._best:
                self._stop("diverged")
            if self.stop_reason is None and step + 1 >= self.num_iter:
                self._stop("completed")

        def _stop(self, reason):
            self.stop_reason = reason
            self._fit_model.stop_training = True

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
            after an error or an interrupt). With False the weights are those after the
            last step run: on JAX up to two steps after the one the test stopped at.
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
    sizes = [n for n in _data.all_leaves_samples(x) + (_data.all_leaves_samples(y) if y is not None else []) if n is not None]
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

    nb = _data.batches_per_epoch(x, batch_size)
    if nb is not None and nb < 1:
        raise ValueError("Argument `x` must give at least one batch. Received an empty data source.")
    if nb is not None:
        fit_plan = dict(epochs=math.ceil(num_iter / nb))
    else:
        fit_plan = dict(epochs=1, steps_per_epoch=num_iter)
    if _data.num_samples(x) is not None:
        fit_plan["batch_size"] = batch_size
    val_data = None
    if validation_data is not None:
        val_data = _data.validation_batches(validation_data, batch_size, int(val_batches))

    lrs = range_test_lr(np.arange(num_iter, dtype=np.float64), start_lr, end_lr, num_iter, step_mode)
    grid = list(itertools.product(wd_grid, mom_grid))

    # ---- the runs ----
    runs, columns = [], {}
    user_callbacks = list(fit_kwargs.pop("callbacks", None) or [])
    # An R generator function's batches are drawn on the main thread (see MainThreadBatches).
    fit_x, feeders = fit_inputs(x)
    state = ModelState.capture(model)
    # Registered right before the `try` whose `finally` removes it: nothing in between can
    # raise and leave a stale snapshot for a later restore_unfinished().
    _UNFINISHED.append(state)
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
            fresh_trace = training.FreshTrace(model, optimizer).install() if retrace else None
            try:
                model.fit(fit_x, y, verbose=0, callbacks=[recorder] + feeders + user_callbacks,
                          **fit_plan, **fit_kwargs)
                if recorder.driver is not None:
                    recorder.driver.flush()  # the last steps' losses (read behind on JAX)
            finally:
                if recorder.driver is not None:
                    recorder.driver.remove()
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
        _UNFINISHED.remove(state)

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




# The snapshots of range tests still running. An R interrupt can unwind the Python frames
# of a test without running their `finally` (reticulate 1.28; seen under testthat): the R
# functions then call restore_unfinished() on their way out.
_UNFINISHED: list = []


def restore_unfinished():
    """Puts back the models of range tests whose run was abandoned mid-way; returns how many.

    A no-op after every test that ended normally or with an exception.
    """
    count = 0
    while _UNFINISHED:
        _UNFINISHED.pop().restore()
        count += 1
    return count


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
