"""One call for the whole workflow: the range test, then one-cycle training from its answer.

``fit_one_cycle(model, x, y, epochs=...)`` is what fastai's ``lr_find()`` followed by
``fit_one_cycle()`` does, for a compiled Keras model on any backend:

1. ``lr_range_test()`` on the training data, which puts the model back exactly as it
   was (weights, optimizer state and hyperparameters). When its smoothed loss did not
   fall (a flat curve: the model did not learn within the test's steps, see
   ``kerasclr.suggestions.lr_range_rule``), a second test with three times the steps
   replaces it;
2. ``model.fit()`` for ``epochs`` epochs with a ``OneCycle`` callback whose ``max_lr``
   is the range test's ``lr_range[1]`` (the rule of
   ``kerasclr.suggestions.lr_range_rule``) and whose other settings are the callback's
   defaults unless given here.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, NamedTuple

from kerasclr import _data
from kerasclr import range_test as range_test_module
from kerasclr import suggestions
from kerasclr._r_bridge import fit_inputs

DEFAULT_BATCH_SIZE = 32  # what model.fit() uses for array data when batch_size is None
_OWN_RANGE_TEST_ARGS = ("model", "x", "y", "batch_size", "verbose")
_OWN_ONE_CYCLE_ARGS = ("max_lr", "total_iterations")
_DEFAULT_NUM_ITER = inspect.signature(range_test_module.lr_range_test).parameters["num_iter"].default


class FitOneCycleResult(NamedTuple):
    """What ``fit_one_cycle()`` returns.

    Attributes:
        history: the ``keras.callbacks.History`` of the training ``fit()``.
        range_test: the result of the ``lr_range_test()`` whose answer was used (None
            when ``max_lr`` was given).
        one_cycle: the ``OneCycle`` callback used, with its per-batch history.
        max_lr: the peak learning rate of the cycle.
        range_test_steps: the training steps of all range tests run (0 with ``max_lr``).
    """

    history: Any
    range_test: Any
    one_cycle: Any
    max_lr: float
    range_test_steps: int


# How the pipeline reads a RangeTestResult: these three functions only.
def _steps_of(result):
    return sum(int(run["steps"]) for run in result.runs)


def _best_curve(result):
    """(lrs, smoothed losses, num_iter) of the run that gives the suggestions."""
    offset = sum(int(run["steps"]) for run in result.runs[:result.best_run])
    steps = int(result.runs[result.best_run]["steps"])
    history = result.history
    return (history["lr"][offset:offset + steps], history["smoothed_loss"][offset:offset + steps],
            result.settings["num_iter"])


def _max_lr_of(result):
    """The peak that the range test hands to one-cycle training (its ``lr_range[1]``)."""
    max_lr = float(result.lr_range[1])
    if not (math.isfinite(max_lr) and max_lr > 0):
        raise ValueError(
            "The range test gave no learning rate (its curve was too short for any "
            f"suggestion: {result.runs[result.best_run]['message']}). Raise "
            "`num_iter` or `end_lr` in `range_test_args`, or give `max_lr`.")
    return max_lr


def _check_epochs(epochs):
    try:
        ok = not isinstance(epochs, bool) and float(epochs) == int(epochs) and int(epochs) >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"Argument `epochs` must be a whole number >= 1. Received: epochs={epochs!r}")
    return int(epochs)


def fit_one_cycle(model: Any, x: Any = None, y: Any = None, epochs: int = 1,
                  batch_size: int | None = None, max_lr: float | None = None,
                  range_test_args: dict | None = None, one_cycle_args: dict | None = None,
                  callbacks: list | None = None, verbose: Any = "auto",
                  **fit_kwargs: Any) -> FitOneCycleResult:
    """Finds the learning rate with the range test, then trains with the one-cycle policy.

    Runs ``lr_range_test(model, x, y, batch_size=batch_size, **range_test_args)``
    (the model is restored afterwards), then ``model.fit(x, y, epochs=epochs,
    batch_size=batch_size, callbacks=[OneCycle(max_lr, **one_cycle_args)] + callbacks,
    ...)``. The range test and the training see the same data, batch size and
    optimizer settings (momentum / ``beta_1`` included), so the learning rate found is
    the one the training can take.

    Args:
        model: a compiled Keras 3 model.
        x, y: training data, as ``model.fit()`` takes it.
        epochs: whole number >= 1, the length of the cycle.
        batch_size: for array data, in the range test and in training (default 32,
            as ``fit()``).
        max_lr: a peak learning rate to use instead of the range test's (then no
            range test is run).
        range_test_args: a dict of further ``lr_range_test()`` arguments (``start_lr``,
            ``end_lr``, ``num_iter``, ``validation_data``, ...).
        one_cycle_args: a dict of further ``OneCycle`` arguments (``pct_start``,
            ``div_factor``, ``final_div_factor``, ``momentum``, ...); what is left out
            keeps the callback's defaults.
        callbacks: more callbacks for the training ``fit()``.
        verbose: ``fit()``'s verbosity; the range test shows its progress bar unless
            it is 0.
        **fit_kwargs: passed on to the training ``fit()`` (``validation_data``,
            ``shuffle``, ``class_weight``, ...).

    Example:

    >>> import keras, numpy as np
    >>> from kerasclr import fit_one_cycle
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 4)).astype("float32")
    >>> y = (x @ np.array([1.0, -2.0, 3.0, 0.5], dtype="float32"))[:, None]
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    >>> out = fit_one_cycle(model, x, y, epochs=3, verbose=0)
    >>> out.range_test_steps > 0, out.max_lr == out.range_test.lr_range[1]
    (True, True)
    >>> len(out.one_cycle.history["learning_rate"])  # 3 epochs of 8 batches
    24

    Returns:
        A ``FitOneCycleResult``: ``(history, range_test, one_cycle, max_lr,
        range_test_steps)``.

    Raises:
        ValueError: for bad arguments, or when the range test gives no learning rate
            (a curve too short for any suggestion).
    """
    from kerasclr.callbacks import OneCycle

    epochs = _check_epochs(epochs)
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    for what, given, own in (("range_test_args", range_test_args, _OWN_RANGE_TEST_ARGS),
                             ("one_cycle_args", one_cycle_args, _OWN_ONE_CYCLE_ARGS)):
        if given is not None and not isinstance(given, dict):
            raise ValueError(f"Argument `{what}` must be a dict or None. Received: {given!r}")
        clash = sorted(set(given or {}) & set(own))
        if clash:
            raise ValueError(f"Argument `{what}` must not set `{clash[0]}`: fit_one_cycle() sets it.")
    if "initial_epoch" in fit_kwargs:
        raise ValueError("Argument `initial_epoch` is not supported: the cycle spans the "
                         "`epochs` of this call.")
    if max_lr is not None and range_test_args:
        raise ValueError("Give `max_lr` or `range_test_args`, not both.")
    OneCycle(max_lr=1.0 if max_lr is None else max_lr, **(one_cycle_args or {}))  # checks, before the test

    result, steps = None, 0
    if max_lr is None:
        args = dict(range_test_args or {})
        run = lambda: range_test_module.lr_range_test(  # noqa: E731
            model, x, y, batch_size=batch_size, verbose=verbose not in (0, False), **args)
        result = run()
        steps = _steps_of(result)
        if not suggestions.curve_fell(*_best_curve(result)):
            # A flat curve: the model did not learn in the test's steps. Three times as
            # many (the same learning rates, a slower ramp) let it.
            args["num_iter"] = 3 * args.get("num_iter", _DEFAULT_NUM_ITER)
            result = run()
            steps += _steps_of(result)
        max_lr = _max_lr_of(result)

    one_cycle = OneCycle(max_lr=max_lr, **(one_cycle_args or {}))
    if _data.num_samples(x) is not None:  # array data (fit() refuses it for datasets)
        fit_kwargs["batch_size"] = batch_size
    fit_x, feeders = fit_inputs(x)  # an R generator function's batches (R/data.R)
    history = model.fit(fit_x, y, epochs=epochs, verbose=verbose,
                        callbacks=[one_cycle] + feeders + list(callbacks or []), **fit_kwargs)
    return FitOneCycleResult(history=history, range_test=result, one_cycle=one_cycle,
                             max_lr=float(max_lr), range_test_steps=steps)
