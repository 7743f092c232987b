"""Keras callbacks for cyclical learning rates and the one-cycle policy.

``CyclicLR`` and ``OneCycle`` drive the optimizer's learning rate and (optionally)
its momentum from the optimizer's own iteration count, with the formulas of
``kerasclr.policies`` (the only home of the maths).

Design: the values are computed *inside the compiled train step* from
``optimizer.iterations`` (``kerasclr.training.ScheduleHook``): the callback installs
the hook at ``on_train_begin`` and removes it at ``on_train_end``. This

- takes effect on TensorFlow, JAX and PyTorch, ``jit_compile`` on or off (on JAX
  a Python-side assignment between steps would be ignored: the loop carries its
  own copy of the optimizer variables);
- also cycles momentum (``SGD``/``RMSprop`` ``momentum``, Adam-family ``beta_1``),
  which Keras 3 bakes into the traced step as a Python float;
- costs no Python work per batch for the schedule, and resumes exactly with
  ``steps_per_execution > 1``, several ``fit()`` calls, or a reloaded model.

The history is recorded by the train step itself (``kerasclr.training.StepRecorder``)
into a buffer of the fit, read once per epoch: the callbacks run no Python per batch.
``history`` holds, per optimizer step: epoch, iteration, learning_rate and momentum
(the float32 values the update used; momentum NaN when it is not cycled), loss (the
step's own batch loss) and the logged metrics (Keras' running means); it accumulates
over ``fit()`` calls.

A custom ``scale_fn`` (for example an R function) cannot run in the graph: for a
fit of known length its values are computed once at ``on_train_begin`` (one
vectorized call) and looked up in-graph; for unknown-length data in Keras 3 the
learning rate is set from Python before each batch (momentum cycling then is refused).

Where the parts live: the policy binding (``CyclicLR``, ``OneCycle``) and the fit's
plan (``ScheduleCallback``) here; the per-fit value tables in ``kerasclr._tables``; the
history in ``kerasclr._history``; the mechanics in the train step in
``kerasclr.training``; the private Keras attributes in ``kerasclr._keras``.

The same classes work in a Keras 2 (``tf_keras``) ``fit()`` (so in the old R
``keras`` package's ``fit_generator()``): each ``fit()`` looks at the model the
callback is attached to. In Keras 2 the values are looked up in the per-fit tables
of TensorFlow variables (those of TensorFlow without XLA, grown in chunks when the
fit's length is unknown), read in the compiled step through stand-ins for the
optimizer's learning rate and momentum; the batch loss also comes from the step.
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np

from kerasclr import _tables, policies, results, training
from kerasclr._history import HistoryMixin
from kerasclr.results import RangeTestResult


def _as_schedule_vector(name, values):
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"Argument `{name}` must have at least one value. Received: {name}=[]")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Argument `{name}` must not contain NA, NaN or infinite values.")
    if np.any(array < 0):
        raise ValueError(f"Argument `{name}` must be >= 0. Received a minimum of {array.min():g}.")
    return array


def _tf_graph_without_xla(model):
    from keras import backend

    return backend.backend() == "tensorflow" and not getattr(model, "jit_compile", False)


class ScheduleCallback(HistoryMixin, training.Keras2CallbackMixin, keras.callbacks.Callback):
    """What CyclicLR and OneCycle share: a Keras 3 callback that also runs in Keras 2.

    The R methods ``as.data.frame()`` and ``plot()`` dispatch on this class.
    """

    # No batch hook of ours reads the logs (the history is recorded in the train step):
    # Keras may run the others' off the main thread.
    async_safe = True
    # Steps of the TensorFlow tables filled at a time when the fit's length is unknown.
    _TABLE_CHUNK = 4096
    # Rows of the history buffer when the epoch's length is unknown (then an epoch longer
    # than this keeps the history of its last steps, with a warning).
    _HISTORY_ROWS = 65536

    def _implements_train_batch_hooks(self):
        # Keras 2 asks before on_train_begin: a fit of unknown length may need the hook
        # that grows the tables (_grow_tables_when_near_the_end).
        model = getattr(self, "model", None)
        unknown_length = not (self.params or {}).get("steps")
        return super()._implements_train_batch_hooks() or (
            model is not None and training.is_keras2_model(model) and unknown_length)

    @property
    def _supports_tf_logs(self):
        # Keras 2 may hand batch hooks the step's tensors: ours do not read them. A
        # subclass with a hook of its own gets floats.
        return type(self).on_train_batch_end is keras.callbacks.Callback.on_train_batch_end

    def _init_common(self, momentum_range):
        self._init_history()
        if momentum_range is not None:
            high, low = (float(v) for v in momentum_range)
            policies._check_number("momentum[0]", high, minimum=0, strict=False, maximum=1)
            policies._check_number("momentum[1]", low, minimum=0, strict=False, maximum=1)
            if high < low:
                raise ValueError(f"Argument `momentum` must be (high, low) with high >= low. "
                                 f"Received: momentum=({high}, {low})")
            momentum_range = (high, low)
        self.momentum = momentum_range
        self._origin = 0          # iteration at which the cycle starts (reset() moves it)
        self._origin_pending = False
        self._hook = None
        self._host_mode = False
        self._fit_table = None    # FitTable of this fit, or None (the formula in the step)
        self._variables_table = None  # the "variables" FitTable, kept for the traced step
        self._version = 0         # bumped whenever the policy (hence the traced step) changes
        self._traced = None       # (key, train_function) traced with our hook
        self._recorder = None     # training.StepRecorder: the history, recorded in the step
        self._grow_at = None      # step at which the table is extended (Keras 2, unknown length)

    # -- subclasses provide ------------------------------------------------- #
    def _lr(self, it, xp):
        raise NotImplementedError

    def _momentum(self, it, xp):
        return None

    def _graph_safe(self):
        return True

    def _prepare(self, start_step, fit_steps):
        """Called at the start of every fit, before its values are computed."""

    def _length_from_first_fit(self, start_step, fit_steps, argument, r_function):
        """The first fit's length in steps, for an `argument` left to it; the cycle starts there.

        Raises a clear error for data of unknown length (a generator or a dataset),
        naming the callback as Python (the class) and R (`r_function`) users know it.
        """
        if fit_steps is None:
            raise ValueError(
                f"{type(self).__name__} ({r_function}() in R) cannot infer `{argument}`: the "
                "number of steps per epoch is unknown (a generator or dataset of unknown "
                f"length). Give `{argument}`, or `steps_per_epoch` to fit().")
        self._origin = start_step
        self._version += 1
        return fit_steps

    # -- values at absolute iterations (numpy, float64) -------------------- #
    def _relative(self, iterations, xp):
        """Steps since the origin of the cycle (0 before it)."""
        if xp is np:
            return np.maximum(np.asarray(iterations, dtype=np.float64) - self._origin, 0.0)
        return xp.maximum(xp.cast(iterations, "float32") - float(self._origin), 0.0)

    def learning_rate_at(self, iterations):
        """Learning rates at these 0-based optimizer iterations (numpy)."""
        return np.asarray(self._lr(self._relative(iterations, np), np), dtype=np.float64)

    def momentum_at(self, iterations):
        """Momentum at these iterations (numpy), or NaN where momentum is not cycled."""
        if self.momentum is None:
            return np.full(np.shape(iterations), np.nan)
        return np.asarray(self._momentum(self._relative(iterations, np), np), dtype=np.float64)

    # -- Keras hooks ------------------------------------------------------- #
    def on_train_begin(self, logs=None):
        model = self.model
        optimizer = training.inner_optimizer(training._model_optimizer(model))
        training._learning_rate_variable(optimizer)  # clear error for a LearningRateSchedule
        if self.momentum is not None:
            training.require_momentum_attribute(optimizer)  # before _begin_fit() changes anything
        start, fit_steps = self._begin_fit()
        self._host_mode = False
        previous = self._fit_table
        self._grow_at = None
        self.__dict__.pop("on_train_batch_begin", None)  # set again for host values (Keras 3)
        self.__dict__.pop("on_train_batch_end", None)  # set again to grow the table (Keras 2)
        self._fit_table = self._plan_fit_table(model, start, fit_steps)
        if "constants" in (getattr(previous, "kind", None), getattr(self._fit_table, "kind", None)):
            self._version += 1  # the table is baked into the traced step
        self._plain_train_function = model.train_function
        self._start_hook()

    def _plan_fit_table(self, model, start, fit_steps):
        """How this fit's values reach its train step: a FitTable, or None (the formula)."""
        if training.is_keras2_model(model):
            # Keras 2: a table of variables, whatever the policy (an R scale_fn too).
            table = self._table_of("variables")
            if fit_steps is not None:
                return table.fill(start, start + fit_steps + 1)
            return self._extend_when_near_the_end(table.fill(start, start + self._TABLE_CHUNK))
        if not self._graph_safe() and fit_steps is None:
            if self.momentum is not None:
                raise ValueError(
                    "Momentum cycling with a custom `scale_fn` needs the number of steps of the "
                    "fit (give `steps_per_epoch`), or use a named `mode`, or `momentum=None`.")
            # A custom scale_fn over a fit of unknown length: the rate is computed in Python
            # (or R) before each batch (eager PyTorch: in its optimizer step).
            self._host_mode = True
            if not training.eager_torch(model):
                self.on_train_batch_begin = self._set_host_learning_rate
            return None
        if fit_steps is None:
            return None  # the formula, in the step
        if training.eager_torch(model):
            kind = "host"
        elif _tf_graph_without_xla(model):
            kind = "variables"
        elif not self._graph_safe():
            kind = "constants"
        else:
            return None
        return self._table_of(kind).fill(start, start + fit_steps + 1)

    def _table_of(self, kind):
        if kind != "variables":
            return _tables.FitTable(kind, self._values_at)
        if self._variables_table is None:  # kept: the traced step reads its variables
            self._variables_table = _tables.FitTable(kind, self._values_at)
        return self._variables_table

    def _values_at(self, steps):
        return self.learning_rate_at(steps), self.momentum_at(steps)

    def _begin_fit(self):
        """The fit's first optimizer step and its length in steps (None when unknown)."""
        start = training.optimizer_step(self.model)
        if self._origin_pending:
            self._origin, self._origin_pending = start, False
        params = self.params or {}
        steps, epochs = params.get("steps"), params.get("epochs")
        fit_steps = int(steps) * int(epochs) if steps and epochs else None
        self._prepare(start, fit_steps)
        return start, fit_steps

    def _extend_when_near_the_end(self, table):
        """A Keras 2 fit of unknown length: its table is extended as the fit goes on.

        Keras 2 runs the batch-end hook before the next step: the table is extended
        there (at least doubled), while one more execution still fits in it.
        """
        self._grow_at = table.end - 2 * training.steps_per_execution(self.model)
        self.on_train_batch_end = self._grow_table_when_near_the_end
        return table

    def _graph_value(self, column, formula, it, xp):
        """In the train step: the value from the fit's table, else from the formula."""
        if self._fit_table is not None and self._fit_table.kind != "host":
            return self._fit_table.graph(column, it, xp)
        return formula(self._relative(it, xp), xp)

    def _graph_lr(self, it, xp):
        return self._graph_value(_tables.FitTable.LR, self._lr, it, xp)

    def _graph_momentum(self, it, xp):
        return self._graph_value(_tables.FitTable.MOMENTUM, self._momentum, it, xp)

    def _host_value(self, column, at, step):
        """A Python float for ``step``: from the fit's host table, else ``at(step)``."""
        if self._fit_table is not None and self._fit_table.kind == "host":
            return self._fit_table.host(column, step)
        return float(at(step))

    def _host_lr(self, step):
        return self._host_value(_tables.FitTable.LR, self.learning_rate_at, step)

    def _host_momentum(self, step):
        return self._host_value(_tables.FitTable.MOMENTUM, self.momentum_at, step)

    def _start_hook(self):
        """Installs the hook and the train step traced with it (cached across fits)."""
        model = self.model
        if self._hook is not None:
            self._hook.remove()
        eager = training.eager_torch(model)
        momentum = self.momentum is not None
        if eager:
            # Eager PyTorch runs apply() as Python at every step: plain floats are cheapest.
            hook = training.ScheduleHook(
                model, host_lr=self._host_lr,
                host_momentum=self._host_momentum if momentum else None)
        elif self._host_mode:
            # A custom scale_fn over a fit of unknown length: the rate is computed in
            # Python (or R) and set before each batch (on_train_batch_begin).
            hook = training.ScheduleHook(model)
        else:
            hook = training.ScheduleHook(
                model, lr_fn=self._graph_lr,
                momentum_fn=self._graph_momentum if momentum else None,
                momentum_shadow=max(self.momentum) if momentum else None)
        self._hook = hook.install()
        if self._recorder is None or not self._recorder.installed:  # mid-fit (reset()): kept
            self._recorder = self._history_recorder(model)
        self._recorder.install()
        # The traced step depends on the policy; trace again only when it changed.
        key = (id(model), id(self._hook.optimizer), self._version, eager or self._host_mode,
               getattr(self._fit_table, "kind", None), training.steps_per_execution(model),
               self._recorder.signature)
        cached = self._traced
        if cached is not None and cached[0] == key:
            model.train_function = cached[1]
        else:
            model.make_train_function(force=True)
        self._traced_key = key

    def _history_recorder(self, model):
        """This fit's recorder: the last one (and its traced step) when it still fits."""
        steps = (self.params or {}).get("steps")
        rows = int(steps) if steps else self._HISTORY_ROWS
        attribute = self._hook.attribute if self.momentum is not None else None
        recorder = self._recorder
        if (recorder is None or recorder.model is not model or recorder.rows < rows
                or recorder.momentum_attribute != attribute
                or recorder.metric_names != training.StepRecorder.logged_metric_names(model)):
            recorder = training.StepRecorder(model, rows, momentum_attribute=attribute)
        return recorder

    def _stop_hook(self):
        if self._hook is None:
            return
        self._hook.remove()
        self._hook = None
        self._recorder.remove()
        model = self.model
        # Keep our traced step for the next fit with this callback; give the model
        # back the step it had, so that a later fit without us is not scheduled.
        self._traced = (self._traced_key, model.train_function)
        model.train_function = self._plain_train_function

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._epoch_start = training.optimizer_step(self.model)
        self._epoch_open = True

    def _set_host_learning_rate(self, batch, logs=None):
        step = self._epoch_start + batch
        training.set_learning_rate(self.model, self._host_lr(step))

    def _grow_table_when_near_the_end(self, batch, logs=None):
        # Keras 2, a fit of unknown length (its batch hooks run in order).
        if self._epoch_start + batch + 1 >= self._grow_at:
            table = self._fit_table
            table.fill(table.start, table.end + max(self._TABLE_CHUNK, table.end - table.start))
            self._extend_when_near_the_end(table)

    def on_epoch_end(self, epoch, logs=None):
        self._close_epoch()
        if logs is not None and self.history["learning_rate"]:
            logs["learning_rate"] = self.history["learning_rate"][-1]
            if self.momentum is not None:
                logs["momentum"] = self.history["momentum"][-1]
        self._store_next_learning_rate()

    def _store_next_learning_rate(self):
        # Leave the rate of the next step in the optimizer's own variable, so that a
        # checkpoint (and the optimizer after fit) shows the schedule's current value.
        step = training.optimizer_step(self.model)
        training.set_learning_rate(self.model, float(self.learning_rate_at(step)))

    def on_train_end(self, logs=None):
        self._close_epoch()
        self._stop_hook()
        self._store_next_learning_rate()


class CyclicLR(ScheduleCallback):
    """Cyclical learning rate (Smith 2017), optionally with cyclical momentum.

    A callback for `fit()` of Keras 3 (any backend) and of Keras 2 (`tf_keras`).
    The learning rate at optimizer iteration `it` is
    `kerasclr.cyclic_lr(it - origin, ...)` (`origin` is 0, or the first step of the
    first `fit()` when that fit sets `step_size`, until `reset()` is called; the
    formulas are in `kerasclr.policies`), or, with `schedule`,
    `schedule[min(it, n - 1)]`. It is computed inside the compiled train step, so it
    continues exactly over several `fit()` calls and for a reloaded model.
    `history` records, per batch: `epoch`, `iteration`, `learning_rate`, `momentum`,
    `loss` (the batch's own loss) and the logged metrics; `plot()` draws it.

    Example:

    >>> import keras, numpy as np
    >>> from kerasclr import CyclicLR
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    >>> clr = CyclicLR(base_lr=1e-3, max_lr=1e-2, step_size=4, momentum=(0.95, 0.85))
    >>> _ = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[clr])
    >>> [round(lr, 5) for lr in clr.history["learning_rate"]]
    [0.001, 0.00325, 0.0055, 0.00775, 0.01, 0.00775, 0.0055, 0.00325]
    >>> [round(m, 3) for m in clr.history["momentum"][:5]]
    [0.95, 0.925, 0.9, 0.875, 0.85]

    Args:
        base_lr: Float >= 0. The lower bound of the cycle.
        max_lr: Float >= `base_lr`. The upper bound of the cycle.
        step_size: Positive number, steps in half a cycle; or None (the default):
            half the steps of the first `fit()` (`epochs * steps_per_epoch / 2`), so
            that the fit is one whole cycle and ends at `base_lr`, counted from its
            first step. Smith (2017) advises stopping at the end of a cycle, with 2 to
            10 epochs in half a cycle: give a number for several cycles per fit, or
            for data of unknown length. (The original Keras callback's default is 2000
            steps, more than many fits.)
        mode: "triangular", "triangular2", "exp_range", "sinus" or "halfcosine".
        gamma: Positive float, the base of `gamma**iteration` in "exp_range".
        scale_fn: None, or a function returning amplitude scales in [0, 1]
            (overrides `mode`).
        scale_mode: None, "cycle" or "iterations": what `scale_fn` receives.
        step_size_up: None or the steps of the rising half (overrides `step_size`).
        step_size_down: None or the steps of the falling half.
        tail: Integer >= 0: annealing steps at the end of each cycle (or schedule).
        tail_scope: "cycle" or "schedule".
        tail_divisor: None or `(factor, base)`: the i-th tail step is divided by
            `factor * base**i`.
        total_iterations: None or the length of the schedule (for
            `tail_scope="schedule"`).
        momentum: `(high, low)`: cycle the momentum between `high` (at the low
            learning rate) and `low` (at the peak); None leaves it alone.
        schedule: a vector of learning rates: element `k` at iteration `k`, the last
            value held afterwards (replaces the cycle arguments).
        momentum_schedule: with `schedule`, a vector of momentum values.
        lr_range: None, a `kerasclr.RangeTestResult` or a pair `(min, max)`: sets
            `base_lr` and `max_lr` (give it or them, not both).
    """

    def __init__(self, base_lr: float = 0.001, max_lr: float = 0.006, step_size: float | None = None,
                 mode: str = "triangular", gamma: float = 1.0, scale_fn: Callable | None = None,
                 scale_mode: str | None = None, step_size_up: float | None = None,
                 step_size_down: float | None = None, tail: int = 0, tail_scope: str = "cycle",
                 tail_divisor: tuple[float, float] | None = None,
                 total_iterations: int | None = None,
                 momentum: tuple[float, float] | None = None,
                 schedule: Sequence[float] | None = None,
                 momentum_schedule: Sequence[float] | None = None,
                 lr_range: RangeTestResult | tuple[float, float] | None = None):
        if lr_range is not None:
            if (base_lr, max_lr) != (0.001, 0.006):
                raise ValueError("Give `lr_range` or `base_lr`/`max_lr`, not both.")
            base_lr, max_lr = results.lr_range_of(lr_range)
        super().__init__()
        if schedule is not None:
            self.schedule = _as_schedule_vector("schedule", schedule)
            self.momentum_schedule = (None if momentum_schedule is None
                                      else _as_schedule_vector("momentum_schedule", momentum_schedule))
            if self.momentum_schedule is not None and np.any(self.momentum_schedule > 1):
                raise ValueError("Argument `momentum_schedule` must be <= 1.")
            if self.momentum_schedule is not None:
                momentum = (float(self.momentum_schedule.max()), float(self.momentum_schedule.min()))
            self._cycle = None
        else:
            self.schedule = self.momentum_schedule = None
            self._cycle = dict(base_lr=base_lr, max_lr=max_lr, step_size=step_size, mode=mode,
                               gamma=gamma, scale_fn=scale_fn, scale_mode=scale_mode,
                               step_size_up=step_size_up, step_size_down=step_size_down,
                               tail=tail, tail_scope=tail_scope, tail_divisor=tail_divisor,
                               total_iterations=total_iterations)
            policies.check_cycle_args(**self._cycle, length_from_fit=True)
        self._init_common(momentum)

    def _prepare(self, start_step, fit_steps):
        if self._cycle is None or not _cycle_length_pending(self._cycle):
            return
        steps = self._length_from_first_fit(start_step, fit_steps, "step_size", "callback_cyclic_lr")
        cycle = dict(self._cycle, step_size=steps / 2)
        policies.check_cycle_args(**cycle)  # the tail against the real cycle length
        self._cycle = cycle

    def _graph_safe(self):
        return self._cycle is None or self._cycle["scale_fn"] is None

    def _lr(self, it, xp):
        if self._cycle is None:
            return self._lookup(self.schedule, it, xp)
        return policies.cyclic_lr(it, xp=xp, **self._known_cycle())

    def _momentum(self, it, xp):
        if self._cycle is None:
            return self._lookup(self.momentum_schedule, it, xp)
        high, low = self.momentum
        return policies.cyclic_momentum(it, base_momentum=low, max_momentum=high, xp=xp,
                                        **self._known_cycle())

    def _known_cycle(self):
        if _cycle_length_pending(self._cycle):
            raise ValueError("The cycle's length (`step_size = None`) is set by the first fit(): "
                             "there are no values before it.")
        return self._cycle

    @staticmethod
    def _lookup(table, it, xp):
        if xp is np:
            return table[np.minimum(np.asarray(it, dtype=np.int64), table.size - 1)]
        return _tables.table_lookup(table, it, xp)

    def reset(self, base_lr=None, max_lr=None, step_size=None):
        """Restarts the cycle at the current iteration, optionally with new bounds.

        The history is kept. Called during ``fit()``, the new cycle starts at the
        next step; otherwise at the first step of the next ``fit()``.
        """
        if self._cycle is None:
            raise ValueError("reset() needs a cyclical policy, not a `schedule` vector.")
        cycle = dict(self._cycle)
        for name, value in (("base_lr", base_lr), ("max_lr", max_lr), ("step_size", step_size)):
            if value is not None:
                cycle[name] = value
        if step_size is not None:
            cycle["step_size_up"] = cycle["step_size_down"] = None
        policies.check_cycle_args(**cycle, length_from_fit=True)
        self._cycle = cycle
        self._version += 1
        if self._hook is not None:
            self._origin = training.optimizer_step(self.model)
            table = self._fit_table
            if table is not None:
                table.fill(self._origin, max(table.end, self._origin + 1))
            if table is None or table.kind == "constants":
                self._start_hook()  # re-traces the train step with the new cycle
        else:
            self._origin_pending = True


def _cycle_length_pending(cycle):
    """Whether the cycle's length waits for the first fit() (``step_size=None``)."""
    return cycle["step_size"] is None and cycle["step_size_up"] is None


class OneCycle(ScheduleCallback):
    """The one-cycle policy (Smith & Topin 2019), exactly PyTorch's `OneCycleLR`.

    A callback for `fit()` of Keras 3 (any backend) and of Keras 2 (`tf_keras`).

    The learning rate warms up from `max_lr / div_factor` to `max_lr` over
    `pct_start` of the steps, then anneals to `max_lr / (div_factor *
    final_div_factor)`; with `momentum=(high, low)` the momentum moves the opposite
    way (`kerasclr.one_cycle_lr`, `kerasclr.one_cycle_momentum`). Computed inside the
    compiled train step; `history` and `plot()` as for `CyclicLR`.

    Example:

    >>> import keras, numpy as np
    >>> from kerasclr import OneCycle
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    >>> one_cycle = OneCycle(max_lr=0.05)  # the cycle spans this fit: 5 x 4 steps
    >>> _ = model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[one_cycle])
    >>> lr = one_cycle.history["learning_rate"]
    >>> len(lr), round(max(lr), 4), round(lr[0], 4)
    (20, 0.05, 0.002)

    Args:
        max_lr: Positive float, the peak learning rate, or a
            `kerasclr.RangeTestResult` (its `lr_range[1]`).
        total_iterations: the length of the cycle in steps, counted from the
            optimizer's iteration 0 (so a reloaded model continues). None: the length
            of the first `fit()` (`epochs * steps_per_epoch`), counted from its first
            step.
        pct_start: Float in (0, 1): the fraction of steps spent warming up.
        div_factor: Positive float: the first rate is `max_lr / div_factor`.
        final_div_factor: Positive float: the last rate is the first one divided by
            this.
        anneal_strategy: "cos" or "linear".
        three_phase: Bool: anneal back to the first rate before the final decay.
        momentum: None (the default): the optimizer's own momentum (`momentum` or
            `beta_1`) is left as it is, the value `lr_range_test()` measured with (why:
            `kerasclr.suggestions.lr_range_rule`). `(high, low)`: cycle it from `high`
            down to `low` at the peak and back (Smith 2018; fastai's and PyTorch's
            `(0.95, 0.85)`).
    """

    def __init__(self, max_lr: float | RangeTestResult, total_iterations: int | None = None,
                 pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 anneal_strategy: str = "cos", three_phase: bool = False,
                 momentum: tuple[float, float] | None = None):
        max_lr = results.max_lr_of(max_lr)
        super().__init__()
        self._cycle = dict(max_lr=max_lr, pct_start=pct_start, div_factor=div_factor,
                           final_div_factor=final_div_factor, anneal_strategy=anneal_strategy,
                           three_phase=bool(three_phase))
        self.total_iterations = None if total_iterations is None else int(total_iterations)
        if self.total_iterations is not None:
            policies.check_one_cycle_args(self.total_iterations, base_momentum=0.85,
                                          max_momentum=0.95, **self._cycle)
        else:
            policies._check_number("max_lr", max_lr, minimum=0)
        self._init_common(momentum)

    def _prepare(self, start_step, fit_steps):
        if self.total_iterations is not None:
            return
        steps = self._length_from_first_fit(start_step, fit_steps, "total_iterations",
                                            "callback_one_cycle")
        policies.check_one_cycle_args(steps, base_momentum=0.85, max_momentum=0.95, **self._cycle)
        self.total_iterations = steps

    def _policy_args(self):
        high, low = self.momentum if self.momentum is not None else (0.95, 0.85)
        return dict(total_steps=self.total_iterations, base_momentum=low, max_momentum=high,
                    **self._cycle)

    def _lr(self, it, xp):
        return policies.one_cycle_lr(it, xp=xp, **self._policy_args())

    def _momentum(self, it, xp):
        return policies.one_cycle_momentum(it, xp=xp, **self._policy_args())
