"""Low-level helpers shared by the callbacks and the learning-rate range test.

They hide the differences between the Keras 3 backends (TensorFlow, JAX, PyTorch)
and Keras 2 (``tf_keras``) where the training loop is concerned:

- ``inner_optimizer(optimizer)``: the optimizer that really updates the weights
  (unwraps ``LossScaleOptimizer``, used by mixed precision); a wrapper that hands
  the updates to several optimizers (``MultiOptimizer``) is refused with a clear
  error (``refuse_delegating_optimizer``).
- ``optimizer_step(model_or_optimizer) -> int``: the optimizer's own iteration
  count (the step that the *next* update will be). It survives ``fit()`` calls,
  ``steps_per_execution`` and saving/loading, so schedules driven by it resume.
- ``set_learning_rate(model, value)``: set the learning rate from a callback so
  that it takes effect at the next train step on every backend. On JAX the fit
  loop carries the optimizer variables as ``state`` between steps; a callback's
  ``self.model`` syncs them back (Keras 3's ``Callback.model``), and the loop then
  reads the variables again, the new value included (about 90 us per batch for the
  range test's bench MLP).
- ``HostDrivenSteps(model, rates, on_loss)``: the range test's mechanism, around the
  model's train function: each step's learning rate set from the host, and the true
  loss of each step's batch read back. Keras logs the running mean of the epoch (the
  loss tracker is a ``keras.metrics.Mean`` weighted by batch size); the batch's own
  value is recovered exactly (up to float32 rounding) by differencing the tracker's
  ``total``/``count``. On JAX both go through the state the fit loop carries, and
  the loss is read two steps behind, so the loop never waits for the step it just
  dispatched.
- ``StepRecorder``: the train step records, per step, the learning rate and
  momentum its update used, its batch's loss and its logged metrics, into a buffer
  of the fit read once per epoch (no Python per batch).
- ``ScheduleHook``: installs learning-rate and momentum schedules computed
  *in the compiled train step* from the optimizer's iteration count (see its
  docstring); used by ``kerasclr.callbacks``.
- ``Keras2CallbackMixin``: what Keras 2's ``CallbackList`` asks of a callback,
  so that one Keras 3 callback class also runs in a ``tf_keras`` ``fit()``.

The private attributes of Keras that these rely on are all read or set in
``kerasclr._keras`` (which lists them, with the Keras versions checked), and the
helpers defined there that the rest of kerasclr uses are re-exported here.
"""

import functools
import math
import operator
import threading
import weakref

import numpy as np

from kerasclr import _keras
from kerasclr._keras import (  # noqa: F401  (part of this module's API)
    FIT_MODEL_ATTRIBUTES,
    FreshTrace,
    Keras2CallbackMixin,
    carried_slot,
    drop_jax_state,
    fresh_keras2_update_step,
    has_momentum_buffers,
    is_compiled,
    is_keras2_model,
    keras2_hypers,
    loss_tracker,
    metric_variables,
    optimizer_built,
    optimizer_variables,
    steps_per_execution,
    sync_jax_state,
    to_float,
    truncate_list,
)

__all__ = [
    "inner_optimizer",
    "refuse_delegating_optimizer",
    "optimizer_step",
    "set_learning_rate",
    "learning_rate_is_variable",
    "replace_learning_rate_schedule",
    "HostDrivenSteps",
    "StepRecorder",
    "ScheduleHook",
    "momentum_attribute",
    "require_momentum_attribute",
    "is_keras2_model",
    "is_compiled",
    "loss_tracker",
    "steps_per_execution",
    "optimizer_built",
    "has_momentum_buffers",
    "optimizer_variables",
    "metric_variables",
    "truncate_list",
    "Keras2CallbackMixin",
    "once_per_step",
    "sync_jax_state",
    "drop_jax_state",
    "FIT_MODEL_ATTRIBUTES",
    "FreshTrace",
]


# --------------------------------------------------------------------------- #
# Which optimizer, its step and its learning rate
# --------------------------------------------------------------------------- #
def _model_optimizer(model_or_optimizer):
    optimizer = getattr(model_or_optimizer, "optimizer", None)
    if optimizer is None and hasattr(model_or_optimizer, "fit"):
        raise ValueError(
            "The model has no optimizer: call `model.compile(optimizer=...)` before fitting "
            "with a learning-rate callback.")
    return model_or_optimizer if optimizer is None else optimizer


def inner_optimizer(optimizer):
    """The optimizer that updates the weights, unwrapping loss-scale wrappers.

    Args:
        optimizer: a Keras optimizer, possibly a ``LossScaleOptimizer`` (Keras 3
            ``inner_optimizer``; Keras 2 mixed precision ``inner_optimizer`` too).

    Returns:
        The innermost optimizer.
    """
    seen = 0
    while hasattr(optimizer, "inner_optimizer") and seen < 10:
        optimizer = optimizer.inner_optimizer
        seen += 1
    refuse_delegating_optimizer(optimizer)
    return optimizer


# Optimizers found plain, with their `built` state then: inner_optimizer() runs per batch on
# some paths, and the check reads every attribute.
_PLAIN_OPTIMIZERS = weakref.WeakKeyDictionary()
_UNSEEN = object()


def refuse_delegating_optimizer(optimizer):
    """Raises when ``optimizer`` hands its updates to other optimizers.

    A wrapper such as ``keras.optimizers.MultiOptimizer`` (Keras 3.15+) or
    ``DispatchOptimizer`` is built with a learning rate of its own that no update
    uses: each inner optimizer applies its own rate and momentum. kerasclr drives
    one optimizer's values, so on such a wrapper its schedule would be silently
    ignored. A wrapper is recognised by what it is, not by its name: it redefines
    ``learning_rate`` (MultiOptimizer, DispatchOptimizer; one definition, in the
    base class, for every plain Keras 2 and 3 optimizer, checked with Keras 3.8 to
    3.15 and tf_keras 2.21), or it holds other optimizers (in attributes, or lists
    and dicts of them). ``LossScaleOptimizer`` is unwrapped before this check.
    """
    built = getattr(optimizer, "built", None)
    try:
        if _PLAIN_OPTIMIZERS.get(optimizer, _UNSEEN) == built:
            return  # checked already (building may add inner optimizers: checked again then)
    except TypeError:  # not weakly referenceable
        pass
    held = _optimizers_held(optimizer)
    defines_lr = [cls for cls in type(optimizer).__mro__ if "learning_rate" in vars(cls)]
    if not held and len(defines_lr) <= 1:
        try:
            _PLAIN_OPTIMIZERS[optimizer] = built
        except TypeError:
            pass
        return
    inner = f" ({', '.join(type(o).__name__ for o in held)})" if held else ""
    raise ValueError(
        f"The optimizer {type(optimizer).__name__} hands its updates to other optimizers"
        f"{inner}, each with its own learning rate: a kerasclr callback or range test would "
        "set a rate that no update uses. Compile the model with one optimizer (a "
        "LossScaleOptimizer around it is fine), or give each inner optimizer a schedule "
        "of its own (`learning_rate=kerasclr.schedules.CyclicSchedule(...)`, in R "
        "`learning_rate_schedule_cyclic()`).")


def _optimizers_held(optimizer):
    def is_optimizer(value):
        kind = type(value)
        return value is not optimizer and hasattr(kind, "apply_gradients") and hasattr(kind, "iterations")

    found = []
    for value in getattr(optimizer, "__dict__", {}).values():
        items = [value]
        if isinstance(value, (list, tuple)):
            items = list(value)
        elif isinstance(value, dict):
            items = list(value.values())
        # one level further: a list of dicts such as TF Addons' `optimizer_specs`
        items = [v for item in items
                 for v in (item.values() if isinstance(item, dict) else [item])]
        found.extend(v for v in items if is_optimizer(v) and all(v is not f for f in found))
    return found


def optimizer_step(model_or_optimizer):
    """The optimizer's own iteration count, as a Python int.

    Args:
        model_or_optimizer: a compiled Keras model, or an optimizer.

    Returns:
        The number of updates applied so far (the 0-based index of the next step).
    """
    model = model_or_optimizer if hasattr(model_or_optimizer, "fit") else None
    optimizer = inner_optimizer(_model_optimizer(model_or_optimizer))
    slot = carried_slot(model, optimizer.iterations)
    if slot is not None:
        values, index = slot
        return int(np.asarray(values[index]))
    return int(to_float(optimizer.iterations))


def _learning_rate_variable(optimizer):
    optimizer = inner_optimizer(optimizer)
    if is_keras2_model(optimizer):
        hypers, key = keras2_hypers(optimizer)
        lr = hypers[key]
        lr = lr.original if isinstance(lr, Keras2ScheduledValue) else lr  # during fit()
        if not hasattr(lr, "assign"):
            raise ValueError(
                "The optimizer's learning rate is a schedule or a constant: it cannot be set by a "
                f"callback. Received: learning_rate={lr!r}")
        return lr
    lr = _keras.learning_rate_slot(optimizer)
    if not hasattr(lr, "assign"):
        raise ValueError(
            "The optimizer uses a `LearningRateSchedule` (or a callable) as its learning rate: "
            "use either that schedule or a learning-rate callback, not both. "
            f"Received: learning_rate={lr!r}")
    return lr


def learning_rate_is_variable(optimizer):
    """True when the optimizer's learning rate is a variable (not a schedule or a constant)."""
    try:
        _learning_rate_variable(optimizer)
    except ValueError:
        return False
    return True


def replace_learning_rate_schedule(optimizer):
    """Puts a variable in place of the optimizer's learning-rate schedule, if it has one.

    For the range test, which drives the learning rate itself; ``ModelState.restore()``
    puts the schedule back (it restores the optimizer's attributes and its list of
    variables, where the stand-in was added).
    """
    optimizer = inner_optimizer(optimizer)
    if learning_rate_is_variable(optimizer):
        return
    if is_keras2_model(optimizer):
        import tensorflow as tf

        hypers, key = keras2_hypers(optimizer)
        hypers[key] = tf.Variable(0.0, dtype=tf.float32, trainable=False, name="range_test_lr")
        return
    import keras

    stand_in = keras.Variable(0.0, dtype="float32", trainable=False, name="range_test_lr")
    _keras.set_learning_rate_slot(optimizer, stand_in)
    # One of the optimizer's variables, as a learning rate given as a number is: the JAX
    # fit loop carries those as state (set_learning_rate writes there), where any other
    # variable would be a constant of the traced step.
    _keras.track_optimizer_variable(optimizer, stand_in)


def set_learning_rate(model, value):
    """Sets the learning rate so that the next train step uses it, on every backend.

    Args:
        model: a compiled Keras model (or an optimizer, outside ``fit()``).
        value: the new learning rate (float).
    """
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Argument `value` must be a finite number >= 0. Received: value={value}")
    variable = _learning_rate_variable(_model_optimizer(model))
    if hasattr(model, "fit"):
        # Mid-epoch on JAX the loop carries the variables itself, and `_jax_state` holds
        # copies of them (Keras 3.15 wraps them in tracked lists): a value written there
        # would not reach the next step. Synced (a no-op when a callback's `self.model`
        # already did), the loop reads the variables again, the new value included.
        sync_jax_state(model)
    variable.assign(value)


# --------------------------------------------------------------------------- #
# The range test's steps: the rate in, the true batch loss out
# --------------------------------------------------------------------------- #
class HostDrivenSteps:
    """The range test's mechanism: each step's learning rate set from the host, each step's loss read back.

    It wraps ``model.train_function`` for one ``fit()`` in which one call is one step
    (``steps_per_execution`` 1): ``install()`` in ``on_train_begin`` (fit() has made its
    train function by then), ``on_epoch_begin()`` at every epoch (Keras resets its
    metrics), ``flush()`` after the fit, ``remove()`` in a ``finally``. Before call ``k``
    the rate ``rates[k]`` is put where that step reads it; after it the step's loss is
    taken, and ``on_loss(loss)`` gets the losses of the steps in order. The loss is that of
    the step's own batch: the change of the loss tracker's ``total`` over that of its
    ``count`` (Keras logs their ratio, the epoch's running mean; NaN when no batch was
    counted), or without a standard tracker (a custom ``train_step``) the logged loss.

    On JAX the fit loop passes its carried state from step to step and runs ahead of the
    device, unless the host waits for a value. So nothing here waits for the step just
    dispatched: the rate replaces the learning-rate variable's value in the state that
    goes into the step (device arrays made before the fit, with the variable's dtype and
    sharding: no new trace), the tracker's totals are copied on the device (the loop
    donates the state to the next step) and read ``JAX_LAG`` steps later. ``on_loss``
    then runs up to ``JAX_LAG`` steps behind, and a stop it asks for lands that many
    steps late. With ``deferred=False`` (the range test's validation loss, which needs
    the weights after each step) every loss waits for ``flush()`` in
    ``on_train_batch_end`` instead. Elsewhere the rate is assigned to the variable and
    the totals read right after the step (TensorFlow and PyTorch return from it then).

    Args:
        model: the compiled model.
        rates: the learning rate of each step (floats).
        on_loss: called with each step's loss (a float), in order.
        deferred: whether ``on_loss`` runs from the train function (lagged on JAX).
    """

    JAX_LAG = 2

    def __init__(self, model, rates, on_loss, deferred=True):
        from keras import backend

        self.model = model
        self.rates = [float(r) for r in rates]
        self.on_loss = on_loss
        self.deferred = deferred
        self.calls = 0
        self._variable = _learning_rate_variable(_model_optimizer(model))
        self._tracker = _standard_tracker(model)
        self._jax = not is_keras2_model(model) and backend.backend() == "jax"
        self._pending = []    # (epoch, totals or logged loss), oldest first
        self._epoch = 0
        self._last = None     # (epoch, total, count) of the last step read
        self._plain = None

    def install(self):
        model, variable, tracker = self.model, self._variable, self._tracker
        plain = self._plain = model.train_function
        if self._jax:
            # Made beforehand in one transfer: a third of the cost of one at each step.
            rates = _jax_arrays_like(variable.value, self.rates)
            slot = _keras.optimizer_variable_index(model, variable)
            lag = self.JAX_LAG if self.deferred else 0
            positions = _tracker_positions(model, tracker) if tracker is not None else None

            def with_rate(args, k):  # args: (state, data)
                return (_keras.with_carried_value(args[0], slot, rates[k]),) + tuple(args[1:])

            def take(out):  # out: (logs, state)
                if tracker is None:
                    return out[0].get("loss")
                metrics = _keras.carried_state_metrics(out[1])
                return _copy_pair()(metrics[positions[0]], metrics[positions[1]])
        else:
            lag = 0

            def with_rate(args, k):
                variable.assign(self.rates[k])
                return args

            def take(logs):
                if tracker is None:
                    return logs.get("loss") if logs is not None else None
                return to_float(tracker.total), to_float(tracker.count)

        def train_function(*args):
            if self.calls < len(self.rates):
                args = with_rate(args, self.calls)
            out = plain(*args)
            self._taken(take(out), lag)
            return out

        model.train_function = train_function
        return self

    def _taken(self, taken, lag):
        self.calls += 1
        self._pending.append((self._epoch, taken))
        if self.calls >= len(self.rates):
            self.model.stop_training = True  # one step per rate, however late on_loss runs
        if self.deferred:
            self._read(keep=lag)

    def on_epoch_begin(self):
        self._epoch += 1

    def flush(self):
        """Passes every loss not yet read to ``on_loss``: in ``on_train_batch_end`` with
        ``deferred=False``, and after the fit (the last steps' losses on JAX)."""
        self._read(keep=0)

    def _read(self, keep):
        while len(self._pending) > keep:
            epoch, taken = self._pending.pop(0)
            self.on_loss(self._loss(epoch, taken))

    def _loss(self, epoch, taken):
        if self._tracker is None:
            return math.nan if taken is None else float(np.asarray(taken))
        total, count = (float(v) for v in np.asarray(taken).tolist()) if self._jax else taken
        before = (0.0, 0.0) if self._last is None or self._last[0] != epoch else self._last[1:]
        self._last = (epoch, total, count)
        return float(_batch_mean(before[0], before[1], total, count, ops=_HostOps))

    def remove(self):
        if self._plain is not None:
            self.model.train_function = self._plain
            self._plain = None


def _jax_arrays_like(value, numbers):
    """``numbers`` as JAX arrays that the jitted step takes as it takes ``value`` (no new trace).

    jit keys its traces by the arguments' shardings, a committed one included: an
    uncommitted value gets uncommitted arrays, a committed one (under a
    ``keras.distribution``, across processes too) arrays with its sharding.
    """
    import jax

    numbers = [np.asarray(n, dtype=value.dtype) for n in numbers]
    if getattr(value, "committed", False):
        return jax.device_put(numbers, value.sharding)
    return jax.device_put(numbers)


@functools.cache
def _copy_pair():
    """A jitted function: two JAX scalars as one new device array (traced once per process)."""
    import jax
    import jax.numpy as jnp

    return jax.jit(lambda a, b: jnp.stack([a, b]))


def _tracker_positions(model, tracker):
    """Where the loss tracker's ``total`` and ``count`` are in ``model.metrics_variables``
    (the order of the metrics in the JAX fit loop's state)."""
    ids = [id(v) for v in model.metrics_variables]
    return ids.index(id(tracker.total)), ids.index(id(tracker.count))


def _batch_mean(total_before, count_before, total_after, count_after, ops=None):
    """The mean loss of a step from the tracker's totals around it (``ops``: keras.ops or tf)."""
    if ops is None:
        import keras

        ops = keras.ops
    # No batch counted (count 0, total 0): 0 / 0, NaN, as IEEE division gives in the step.
    return ops.divide(total_after - total_before, count_after - count_before)


class _HostOps:
    """The ops of ``_batch_mean`` and ``StepRecorder._row`` on the host, on Python floats.

    For the eager PyTorch step and the range test's reader: NumPy's (or torch's) ops on
    scalars would cost microseconds a call.
    """

    @staticmethod
    def divide(a, b):
        return a / b if b else math.nan

    @staticmethod
    def cast(value, dtype):
        return int(value) if dtype.startswith("int") else float(value)

    @staticmethod
    def mean(value):
        return float(value.mean()) if hasattr(value, "mean") else float(value)

    mod = staticmethod(operator.mod)
    stack = staticmethod(np.asarray)


class StepRecorder:
    """Records, inside the compiled train step, what each step used and gave.

    Per step the train step itself writes one row into a buffer of the fit: the
    learning rate and (with ``momentum_attribute``) the momentum that the optimizer
    used in that step, the loss of the step's own batch, and the values the step logs
    besides the loss (metrics: Keras' running means over the epoch). Row
    ``it % rows`` holds optimizer step ``it``; ``read(first, end)`` fetches steps
    ``first .. end - 1`` with one host read, once per epoch. No Python runs per batch
    for it on the compiled backends; eager PyTorch, whose step is Python anyway,
    writes plain floats into a NumPy buffer.

    The values are taken at the start of the step, in the scope of ``once_per_step``,
    so the optimizer's own reads of its learning rate and momentum during the step
    return these very tensors (``ScheduleHook``): the row is what the update used, not
    a recomputation. The batch loss is the change of the loss tracker's ``total`` over
    that of its ``count`` in the step (``_batch_mean``; a Keras ``Mean`` weighted by
    batch size); without a standard tracker (a custom ``train_step``) the logged loss.
    Under a ``tf.distribute`` strategy the row is the replicas' mean (Keras' own
    reduction of the logs), the Keras 2 loss the whole batch's.

    Where the buffer lives: a ``tf.Variable`` on TensorFlow (Keras 3 and Keras 2), a
    tensor on PyTorch; on JAX, whose fit loop carries the variables it knows from step
    to step, the variable of a metric added to the model's metrics (``_metrics``)
    while installed, so that the loop carries it too (the metric logs nothing, is not
    reset with the others and is not saved with the model).

    Install before the train step is traced; ``remove()`` after ``fit()``.

    Args:
        model: the compiled model.
        rows: the buffer's length in steps (at least the steps of one epoch).
        momentum_attribute: the optimizer's cycled momentum attribute, or None.
    """

    # The columns; STEP holds the optimizer step modulo 2**24 (exact in float32): a row is
    # read only for the step it was written in (not one of an earlier epoch, nor a step
    # that Keras counted without running it, as when a generator runs out).
    STEP, LR, MOMENTUM, LOSS = 0, 1, 2, 3
    _STEP_MODULUS = 2 ** 24

    def __init__(self, model, rows, momentum_attribute=None):
        self.model = model
        self.rows = int(rows)
        self.momentum_attribute = momentum_attribute
        self.optimizer = inner_optimizer(_model_optimizer(model))
        self.metric_names = _logged_metric_names(model)
        self.columns = 4 + len(self.metric_names)
        self.installed = False
        self._metric = None
        self.buffer = self._new_buffer()

    @staticmethod
    def logged_metric_names(model):
        """What ``metric_names`` would be for ``model`` now."""
        return _logged_metric_names(model)

    @property
    def signature(self):
        """What the traced step depends on: another one needs a new trace."""
        return (id(self), self.rows, self.columns)

    def _new_buffer(self):
        shape = (self.rows, self.columns)
        if is_keras2_model(self.model):
            import tensorflow as tf

            return _tf_buffer(tf, shape)
        from keras import backend

        if eager_torch(self.model):
            return np.full(shape, _NO_STEP)
        if backend.backend() == "jax":
            self._metric = _history_metric(shape)
            return self._metric.buffer
        if backend.backend() == "tensorflow":
            import tensorflow as tf

            return _tf_buffer(tf, shape)
        import torch

        return torch.full(shape, _NO_STEP)

    # -- reading ----------------------------------------------------------- #
    def read(self, first, end):
        """The rows of optimizer steps ``first .. end - 1``, a float64 array (one host read)."""
        steps = np.arange(int(first), int(end))
        if steps.size > self.rows:
            steps = steps[-self.rows:]  # the buffer holds the last `rows` steps
        buffer = self.buffer
        if hasattr(buffer, "detach"):  # a torch tensor
            buffer = buffer.detach().cpu().numpy()
        elif not isinstance(buffer, np.ndarray):  # a tf.Variable, a Keras variable
            buffer = buffer.numpy()
        rows = np.asarray(buffer, dtype=np.float64)[steps % self.rows]
        written = rows[:, self.STEP] == steps % self._STEP_MODULUS
        return rows[written], steps[written]

    # -- installing -------------------------------------------------------- #
    def install(self):
        """Wraps the model's train step; again when installed (a new function: JAX traces it anew)."""
        model = self.model
        if self.installed:
            _keras.unwrap_train_step(model)
        original = model.train_step
        # First: the JAX step finds its variable among the model's metrics.
        metrics = _keras.own_metrics(model)
        if self._metric is not None and all(m is not self._metric for m in metrics):
            metrics.append(self._metric)
            _forget_jax_test_function(model)
        if is_keras2_model(model):
            step = self._keras2_step(original)
        else:
            from keras import backend

            if backend.backend() == "jax":
                step = self._jax_step(original)
            elif eager_torch(model):
                step = self._eager_torch_step(original)
            else:
                step = self._graph_step(original)
        _keras.wrap_train_step(model, step)
        self.installed = True
        return self

    def remove(self):
        if not self.installed:
            return
        _keras.unwrap_train_step(self.model)
        if self._metric is not None:
            metrics = _keras.own_metrics(self.model)
            metrics[:] = [m for m in metrics if m is not self._metric]
            _forget_jax_test_function(self.model)
        self.installed = False

    # -- the values of a step, read at its start --------------------------- #
    def _used_values(self, ops):
        """The learning rate and momentum the optimizer uses in this step (tensors)."""
        optimizer = self.optimizer
        if is_keras2_model(optimizer):
            hypers, lr_key = keras2_hypers(optimizer)
            lr = ops.convert_to_tensor(hypers[lr_key])
            momentum = (ops.convert_to_tensor(hypers[self.momentum_attribute])
                        if self.momentum_attribute else None)
        else:
            lr = ops.convert_to_tensor(optimizer.learning_rate)
            momentum = (ops.convert_to_tensor(getattr(optimizer, self.momentum_attribute))
                        if self.momentum_attribute else None)
        nan = ops.cast(float("nan"), "float32")
        return (ops.cast(lr, "float32"),
                nan if momentum is None else ops.cast(momentum, "float32"))

    def _row(self, ops, step, lr, momentum, loss, logs):
        step = ops.cast(ops.mod(step, self._STEP_MODULUS), "float32")
        values = [step, lr, momentum, ops.cast(loss, "float32")]
        for name in self.metric_names:
            value = logs.get(name)
            values.append(ops.cast(ops.mean(value), "float32") if value is not None
                          else ops.cast(float("nan"), "float32"))
        return ops.stack(values)

    def _tracker_loss(self, ops, before, after, logs):
        if before is None:
            value = logs.get("loss")
            return ops.cast(float("nan") if value is None else value, "float32")
        return _batch_mean(before[0], before[1], after[0], after[1], ops=ops)

    # -- the train steps, per backend ---------------------------------------- #
    def _graph_step(self, original):
        """Keras 3 TensorFlow, and PyTorch with torch.compile: the variables are written in place."""
        import keras
        from keras import backend

        ops = keras.ops
        tracker = _standard_tracker(self.model)
        iterations = self.optimizer.iterations
        tf_backend = backend.backend() == "tensorflow"

        if tf_backend:
            # One read: TensorFlow orders it before the step's updates of the variable, and
            # copies the variable's buffer on write while the read still holds it.
            def copy(variable):
                return variable.value.value()
        else:
            # A real copy: torch.compile may turn `x + 0` into an alias of the variable.
            def copy(variable):
                return variable.value.detach().clone()

        def train_step(data):
            with _StepScope():
                # Reads ordered before the step's updates (TensorFlow orders the operations
                # on one variable as written).
                step = once_per_step(ITERATIONS, lambda: copy(iterations))
                before = (copy(tracker.total), copy(tracker.count)) if tracker else None
                lr, momentum = self._used_values(ops)
                logs = dict(original(data))
            after = (tracker.total.value, tracker.count.value) if tracker else None
            row = self._row(ops, step, lr, momentum, self._tracker_loss(ops, before, after, logs),
                            logs)
            if tf_backend:
                import tensorflow as tf

                replica = tf.distribute.get_replica_context()
                if replica is not None and replica.num_replicas_in_sync > 1:
                    row = replica.all_reduce("mean", row)  # as Keras reduces the logs
                _tf_write_row(self.buffer, step, row, self.rows)
            else:
                index = (step.reshape(1) % self.rows).long()
                self.buffer.index_copy_(0, index, row.reshape(1, -1).to(self.buffer.dtype))
            return logs

        return train_step

    def _jax_step(self, original):
        import jax
        import keras

        ops = keras.ops
        model, optimizer = self.model, self.optimizer
        tracker = _standard_tracker(model)
        metric_ids = [id(v) for v in model.metrics_variables]
        optimizer_refs = list(model.optimizer.variables)
        i_iterations = _keras.optimizer_variable_index(model, optimizer.iterations)
        i_buffer = metric_ids.index(id(self.buffer))
        i_tracker = _tracker_positions(model, tracker) if tracker else None

        def train_step(state, data):
            optimizer_values, metrics_before = state[2], state[3]
            with _StepScope():
                # The optimizer's variables, as the loop carries them, for the reads.
                with keras.StatelessScope(state_mapping=list(zip(optimizer_refs, optimizer_values))):
                    lr, momentum = self._used_values(ops)
                logs, state = original(state, data)
            logs = dict(logs)
            metrics_after = list(state[3])
            pick = (lambda values: (values[i_tracker[0]], values[i_tracker[1]])) if tracker else None
            loss = self._tracker_loss(ops, pick(metrics_before) if tracker else None,
                                      pick(metrics_after) if tracker else None, logs)
            step = optimizer_values[i_iterations]
            row = self._row(ops, step, lr, momentum, loss, logs)
            # In place, and with no bounds check (`.at[].set` adds two kernels): the row
            # index is in range by construction.
            index = ops.mod(ops.cast(step, "int32"), self.rows)
            metrics_after[i_buffer] = jax.lax.dynamic_update_slice(
                metrics_after[i_buffer], row[None, :], (index, 0))
            return logs, (state[0], state[1], state[2], metrics_after) + tuple(state[4:])

        return train_step

    def _eager_torch_step(self, original):
        tracker = _standard_tracker(self.model)
        iterations = self.optimizer.iterations

        def train_step(data):
            # The step runs as Python: host reads cost less than tensor operations.
            number = _keras.host_number
            step = int(number(iterations))
            before = (number(tracker.total), number(tracker.count)) if tracker else None
            with _StepScope() as used:
                logs = dict(original(data))
            if tracker:
                loss = float(_batch_mean(before[0], before[1], number(tracker.total),
                                         number(tracker.count), ops=_HostOps))
            else:
                loss = float(logs["loss"]) if "loss" in logs else math.nan
            momentum = used.get("momentum", math.nan) if self.momentum_attribute else math.nan
            self.buffer[step % self.rows] = self._row(_HostOps, step, used.get("lr", math.nan),
                                                      momentum, loss, logs)
            return logs

        return train_step

    def _keras2_step(self, original):
        import tensorflow as tf

        model = self.model
        tracker = _standard_tracker(model)
        iterations = self.optimizer.iterations

        def train_step(data):
            with _StepScope():
                step = tf.identity(iterations)
                before = (tf.identity(tracker.total), tf.identity(tracker.count)) if tracker else None
                lr, momentum = self._used_values(_TfOps)
                logs = dict(original(data))
            replica = tf.distribute.get_replica_context()
            replicas = replica.num_replicas_in_sync if replica is not None else 1
            if tracker:
                d_total = tf.identity(tracker.total) - before[0]
                d_count = tf.identity(tracker.count) - before[1]
                if replicas > 1:  # each replica saw its share of the batch
                    d_total, d_count = replica.all_reduce("sum", [d_total, d_count])
                loss = _batch_mean(0.0, 0.0, d_total, d_count, ops=tf)
            else:
                loss = self._tracker_loss(_TfOps, None, None, logs)
            row = self._row(_TfOps, step, lr, momentum, loss, logs)
            if replicas > 1:
                metrics = replica.all_reduce("mean", row[4:])
                row = tf.concat([row[:4], metrics], axis=0)
            _tf_write_row(self.buffer, step, row, self.rows)
            return logs

        return train_step


class _TfOps:
    """The few ``keras.ops`` the recorder needs, in TensorFlow (for Keras 2 models)."""

    @staticmethod
    def convert_to_tensor(value):
        import tensorflow as tf

        return tf.convert_to_tensor(value)

    @staticmethod
    def cast(value, dtype):
        import tensorflow as tf

        return tf.cast(value, dtype)

    @staticmethod
    def mean(value):
        import tensorflow as tf

        return tf.reduce_mean(value)

    @staticmethod
    def stack(values):
        import tensorflow as tf

        return tf.stack(values)

    @staticmethod
    def mod(a, b):
        import tensorflow as tf

        return tf.math.floormod(a, b)


def _standard_tracker(model):
    tracker = loss_tracker(model)
    return tracker if tracker is not None and hasattr(tracker, "total") else None


def _logged_metric_names(model):
    """The names of the values a train step logs besides the loss (sorted), as far as known."""
    try:
        if is_keras2_model(model):
            names = [m.name for m in model.metrics]
        else:
            names = list(model.get_metrics_result())
    except Exception:  # metrics not built yet, or a custom `metrics` property
        return []
    return sorted(set(names) - {"loss"})


# What the buffers hold before a step writes its row: no step is -1 (and NaN would differ
# from itself where JAX checks that every process holds the same initial value).
_NO_STEP = -1.0


def _tf_buffer(tf, shape):
    with tf.init_scope():
        # ON_READ + ONLY_FIRST_REPLICA: under a tf.distribute strategy each replica writes
        # its own copy (the rows agree: they are reduced over the replicas first).
        return tf.Variable(tf.fill(shape, _NO_STEP), trainable=False, name="kerasclr_history",
                           synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _tf_write_row(buffer, step, row, rows):
    import tensorflow as tf

    index = tf.math.floormod(tf.cast(step, tf.int64), rows)
    row = tf.cast(row, buffer.dtype)
    if isinstance(buffer, tf.distribute.DistributedValues):
        # Created in a strategy's scope (a replica's own copy): no scatter in place there.
        buffer.assign(tf.tensor_scatter_nd_update(buffer, tf.reshape(index, [1, 1]),
                                                  tf.reshape(row, [1, -1])))
    else:
        # One op: a scalar index takes the row as it is (scatter_nd would need two reshapes).
        tf.raw_ops.ResourceScatterUpdate(resource=buffer.handle, indices=index, updates=row)


def _history_metric(shape):
    """A metric holding the JAX buffer (the fit loop carries metric variables)."""
    import keras

    class StepHistory(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="kerasclr_step_history")
            self.buffer = self.add_variable(shape=shape, dtype="float32", name="buffer",
                                            initializer=keras.initializers.Constant(_NO_STEP))

        def update_state(self, *args, **kwargs):
            pass

        def result(self):
            return {}  # logs nothing

        def reset_state(self):
            pass  # read at each epoch's end: not reset with the model's metrics

    return StepHistory()


def _forget_jax_test_function(model):
    # With a distribution, the JAX test step is compiled for the model's metric variables:
    # it is traced again when they change (ours added or removed).
    try:
        import keras
    except ImportError:
        return
    if keras.backend.backend() == "jax" and keras.distribution.distribution() is not None:
        model.test_function = None


# --------------------------------------------------------------------------- #
# In-graph schedules of the learning rate and momentum
# --------------------------------------------------------------------------- #
_MOMENTUM_ATTRIBUTES = {
    # class name -> (attribute, what a value of 0 means for the optimizer)
    "SGD": "momentum",
    "RMSprop": "momentum",
    "Adam": "beta_1",
    "AdamW": "beta_1",
    "Nadam": "beta_1",
    "Adamax": "beta_1",
    "Lion": "beta_1",
}


def momentum_attribute(optimizer):
    """The name of the optimizer's momentum hyperparameter, or None.

    ``momentum`` for SGD and RMSprop, ``beta_1`` for the Adam family (and Lion).
    """
    optimizer = inner_optimizer(optimizer)
    for cls in type(optimizer).__mro__:
        if cls.__name__ in _MOMENTUM_ATTRIBUTES:
            return _MOMENTUM_ATTRIBUTES[cls.__name__]
    return None


def require_momentum_attribute(optimizer):
    """``momentum_attribute(optimizer)``, with a clear error when it cannot be cycled.

    Raises:
        ValueError: the optimizer has no momentum hyperparameter, or it is SGD/RMSprop
            created with ``momentum=0`` (then it has no momentum buffers).
    """
    optimizer = inner_optimizer(optimizer)
    attribute = momentum_attribute(optimizer)
    if attribute is None:
        raise ValueError(
            f"The optimizer {type(optimizer).__name__} has no momentum to cycle (supported: "
            "SGD and RMSprop `momentum`; Adam, AdamW, Nadam, Adamax, Lion `beta_1`). Pass "
            "`momentum=None` to cycle the learning rate only.")
    if attribute == "momentum" and float(getattr(optimizer, attribute)) == 0:
        raise ValueError(
            f"The optimizer {type(optimizer).__name__} was created with momentum=0, so it "
            "has no momentum buffers and cannot cycle momentum. Create it with a "
            "momentum > 0 (e.g. `SGD(momentum=0.9)`) or pass `momentum=None`.")
    return attribute


class _ShadowComparisons:
    """Comparisons with Python numbers, answered from a Python *shadow* value.

    Optimizers test their hyperparameters in Python (``if self.momentum != 0``,
    ``if self.momentum > 0``) while tracing the step; a stand-in whose value is a
    tensor computed per step answers these from the shadow, which keeps the
    optimizer on its momentum code path.
    """

    def _compare(self, other, op):
        if isinstance(other, (int, float)):
            return op(self._shadow, other)
        return NotImplemented

    def __eq__(self, other):
        result = self._compare(other, lambda a, b: a == b)
        return (self is other) if result is NotImplemented else result

    def __ne__(self, other):
        result = self._compare(other, lambda a, b: a != b)
        return (self is not other) if result is NotImplemented else result

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __bool__(self):
        return self._shadow != 0

    __hash__ = object.__hash__


def _scheduled_value_class():
    """A ``keras.Variable`` subclass whose value is a tensor set per train step.

    Keras 3 optimizers read ``self.momentum`` / ``self.beta_1`` as Python floats
    baked into the traced step, and test them in Python (``if self.momentum != 0``).
    An instance of this class stands in for the float during ``fit()``: its value
    is computed, in-graph, from the optimizer's iteration count at each read, so
    arithmetic and ``ops.cast`` see the scheduled tensor (every backend converts a
    ``keras.Variable`` through ``.value``), while comparisons with Python numbers
    answer from a Python shadow value (``_ShadowComparisons``).
    """
    import keras

    class ScheduledValue(_ShadowComparisons, keras.Variable):
        def __init__(self, shadow, name, compute):
            super().__init__(initializer=float(shadow), dtype="float32", trainable=False, name=name)
            self._shadow = float(shadow)
            self._compute = compute

        @property
        def value(self):
            # Computed at each read (no per-call state, so replica threads of a
            # tf.distribute strategy cannot interfere); XLA/grappler merge the copies.
            return self._compute()

    return ScheduledValue


class Keras2ScheduledValue(_ShadowComparisons):
    """Stands in for a Keras 2 optimizer hyperparameter during ``fit()``.

    Keras 2 optimizers read their learning rate (a ``tf.Variable``) and momentum
    (a Python float in ``tf_keras.optimizers``, a variable in the legacy ones)
    through ``tf.cast``/``tf.convert_to_tensor`` and plain arithmetic. This object
    converts to the tensor ``compute()`` (TensorFlow's ``__tf_tensor__``
    protocol), evaluated at each read inside the compiled step, and compares
    with Python numbers from its shadow. ``original`` is the value it replaces.
    """

    def __init__(self, shadow, compute, original):
        self._shadow = float(shadow)
        self._compute = compute
        self.original = original

    def __tf_tensor__(self, dtype=None, name=None):
        import tensorflow as tf

        value = self._compute()
        return value if dtype is None else tf.cast(value, dtype)

    def _tensor(self):
        import tensorflow as tf

        return tf.convert_to_tensor(self)

    def numpy(self):
        """The value at the optimizer's current iteration (eager)."""
        return self._tensor().numpy()

    def __float__(self):
        return float(self.numpy())

    def __neg__(self):
        return -self._tensor()


def _binary(op, reflected):
    if reflected:
        return lambda self, other: op(other, self._tensor())
    return lambda self, other: op(self._tensor(), other)


for _name in ("add", "sub", "mul", "truediv", "pow"):
    _op = getattr(operator, _name)
    setattr(Keras2ScheduledValue, f"__{_name}__", _binary(_op, False))
    setattr(Keras2ScheduledValue, f"__r{_name}__", _binary(_op, True))
del _name, _op


def eager_torch(model):
    """True when the model trains with PyTorch without ``torch.compile``.

    Then the train step runs as Python each step, and plain Python floats are the
    cheapest way to hand the optimizer its hyperparameters.
    """
    if is_keras2_model(model):
        return False
    from keras import backend

    return backend.backend() == "torch" and not getattr(model, "jit_compile", False)


# The values of the train step being traced (or run, in eager PyTorch), computed once per
# step: an optimizer reads its momentum once per variable (and, with weight decay, its
# learning rate too), TensorFlow without XLA would run every copy of the formula, and
# StepRecorder records the very values the update used. Thread-local: the replica threads
# of a tf.distribute strategy trace their steps at the same time.
_STEP_VALUES = threading.local()


class _StepScope:
    """The scope of one train step for ``once_per_step`` (opened by ``StepRecorder``)."""

    def __enter__(self):
        self._outer = getattr(_STEP_VALUES, "values", None)
        _STEP_VALUES.values = {}
        return _STEP_VALUES.values

    def __exit__(self, *exc):
        _STEP_VALUES.values = self._outer
        return False


# The once_per_step key of the optimizer's iteration count read at the start of a step.
ITERATIONS = "iterations"


def once_per_step(key, compute):
    """``compute()``, evaluated once per train step (within a ``StepRecorder``'s step).

    Outside such a step (or in another thread) it is evaluated at every call.
    """
    values = getattr(_STEP_VALUES, "values", None)
    if values is None:
        return compute()
    if key not in values:
        values[key] = compute()
    return values[key]


class ScheduleHook:
    """Drives an optimizer's learning rate and momentum from its iteration count.

    While installed (during ``fit()``), the optimizer's learning rate and its
    momentum hyperparameter (``momentum`` or ``beta_1``) are functions of
    ``optimizer.iterations``. The optimizer's learning-rate variable and
    ``get_config()`` are left alone, so ``model.save()`` works mid-fit; ``remove()``
    restores the momentum float.

    Two ways of computing the values:

    - in-graph (``lr_fn``/``momentum_fn`` with ``xp=keras.ops``): the optimizer's
      ``_get_current_learning_rate()`` returns ``lr_fn(iterations)`` and the
      momentum attribute is a ``ScheduledValue``, both evaluated inside the
      traced/compiled train step (no per-call state: safe with the replica
      threads of ``tf.distribute``). This takes effect on TensorFlow and JAX (where the iteration
      count is part of the state the loop carries) and with ``torch.compile``,
      at no per-batch Python cost.
    - host (``host_lr``/``host_momentum``, ``f(step) -> float``): for eager
      PyTorch, where ``apply()`` runs as Python at every step anyway, plain
      floats are handed to the optimizer (cheaper than a dozen tiny tensor ops).

    Keras 2 (``tf_keras``) optimizers, new and legacy, get the in-graph mode
    through ``Keras2ScheduledValue`` stand-ins for their learning rate and momentum
    (``_keras2_hypers``); ``lr_fn``/``momentum_fn`` are then called with
    ``xp=tensorflow`` (the callbacks give table lookups).

    The caller is responsible for re-tracing the train step after ``install()``
    (``model.make_train_function(force=True)``), see ``kerasclr.callbacks``.

    Args:
        model: the compiled model.
        lr_fn: ``f(iterations, xp) -> learning rate`` (in-graph), or None; ``iterations``
            is the optimizer's integer count (its variable, or the tensor read at the
            step's start).
        momentum_fn: same for the momentum, or None.
        momentum_shadow: the Python value that answers the optimizer's tests
            such as ``if self.momentum != 0`` (in-graph mode).
        host_lr, host_momentum: ``f(step: int) -> float`` (host mode), or None.
    """

    def __init__(self, model, lr_fn=None, momentum_fn=None, momentum_shadow=None,
                 host_lr=None, host_momentum=None):
        self.model = model
        self.lr_fn = lr_fn
        self.momentum_fn = momentum_fn
        self.momentum_shadow = momentum_shadow
        self.host_lr = host_lr
        self.host_momentum = host_momentum
        self.optimizer = None
        self.attribute = None
        self._scheduled = None

    def install(self):
        import keras

        optimizer = inner_optimizer(_model_optimizer(self.model))
        if is_keras2_model(optimizer):
            return self._install_keras2(optimizer)
        wants_lr = self.lr_fn is not None or self.host_lr is not None
        wants_momentum = self.momentum_fn is not None or self.host_momentum is not None
        if wants_lr:
            _learning_rate_variable(optimizer)  # raises for a LearningRateSchedule
        if wants_momentum:
            self.attribute = require_momentum_attribute(optimizer)
            self._original_value = getattr(optimizer, self.attribute)
        self.optimizer = optimizer
        setattr_ = object.__setattr__
        # The iteration count as the optimizer holds it (an integer): the formulas cast it
        # to float, the tables index with it. One read per step, shared with StepRecorder.
        iterations = lambda: once_per_step(ITERATIONS, lambda: optimizer.iterations)  # noqa: E731
        overrides = {}
        if self.lr_fn is not None:
            lr_fn = self.lr_fn
            overrides[_keras.CURRENT_LEARNING_RATE] = lambda: once_per_step(
                "lr", lambda: lr_fn(iterations(), keras.ops))
        if self.momentum_fn is not None:
            momentum_fn = self.momentum_fn
            self._scheduled = _scheduled_value_class()(
                self.momentum_shadow if self.momentum_shadow is not None else self._original_value,
                name=f"kerasclr_{self.attribute}",
                compute=lambda: once_per_step("momentum", lambda: keras.ops.cast(
                    momentum_fn(iterations(), keras.ops), "float32")))
            setattr_(optimizer, self.attribute, self._scheduled)
            original_get_config = optimizer.get_config
            attribute, original_value = self.attribute, self._original_value

            def get_config():
                # Saving mid-fit stores the optimizer's own (constant) value.
                config = original_get_config()
                config[attribute] = original_value
                return config

            overrides["get_config"] = get_config
        if self.host_lr is not None or self.host_momentum is not None:
            original_apply = optimizer.apply  # the bound method of the class
            host_lr, host_momentum = self.host_lr, self.host_momentum
            attribute, original_value = self.attribute, getattr(self, "_original_value", None)

            def apply(grads, trainable_variables=None):
                # Eager PyTorch: apply() runs as Python at each step, in one thread.
                saved_lr = _keras.learning_rate_slot(optimizer)
                step = int(_keras.host_number(optimizer.iterations))
                # once_per_step: the values StepRecorder records for this step.
                if host_lr is not None:
                    _keras.set_learning_rate_slot(optimizer, once_per_step("lr", lambda: host_lr(step)))
                if host_momentum is not None:
                    setattr_(optimizer, attribute,
                             once_per_step("momentum", lambda: host_momentum(step)))
                try:
                    return original_apply(grads, trainable_variables)
                finally:
                    _keras.set_learning_rate_slot(optimizer, saved_lr)
                    if host_momentum is not None:
                        setattr_(optimizer, attribute, original_value)

            overrides["apply"] = apply
        for name, function in overrides.items():
            setattr_(optimizer, name, function)
        self._overrides = list(overrides)
        return self

    def _install_keras2(self, optimizer):
        import tensorflow as tf

        if self.host_lr is not None or self.host_momentum is not None:
            raise ValueError("Host-side values are for eager PyTorch, not Keras 2.")
        hypers, lr_key = keras2_hypers(optimizer)
        iterations = optimizer.iterations
        stand_ins = {}
        if self.lr_fn is not None:
            _learning_rate_variable(optimizer)  # raises for a LearningRateSchedule
            lr_fn, original = self.lr_fn, hypers[lr_key]
            stand_ins[lr_key] = Keras2ScheduledValue(
                to_float(original),
                lambda: once_per_step("lr", lambda: tf.cast(lr_fn(iterations, tf), tf.float32)),
                original)
        if self.momentum_fn is not None:
            self.attribute = require_momentum_attribute(optimizer)
            momentum_fn, original = self.momentum_fn, hypers[self.attribute]
            shadow = self.momentum_shadow if self.momentum_shadow is not None else to_float(original)
            stand_ins[self.attribute] = Keras2ScheduledValue(
                shadow,
                lambda: once_per_step("momentum",
                                      lambda: tf.cast(momentum_fn(iterations, tf), tf.float32)),
                original)
        self.optimizer = optimizer
        self._keras2_hypers = hypers
        self._keras2_saved = {key: hypers[key] for key in stand_ins}
        hypers.update(stand_ins)
        saved, original_get_config = self._keras2_saved, optimizer.get_config

        def get_config():
            # Saving mid-fit stores the optimizer's own values.
            current = {key: hypers[key] for key in saved}
            hypers.update(saved)
            try:
                return original_get_config()
            finally:
                hypers.update(current)

        overrides = {"get_config": get_config}
        update_step = fresh_keras2_update_step(optimizer)
        if update_step is not None:
            overrides[_keras.KERAS2_UPDATE_STEP] = update_step
        for name, function in overrides.items():
            object.__setattr__(optimizer, name, function)
        self._overrides = list(overrides)
        return self

    def remove(self):
        """Gives the optimizer back its own methods and its momentum float."""
        if self.optimizer is None:
            return
        for name in self._overrides:
            self.optimizer.__dict__.pop(name, None)
        if getattr(self, "_keras2_saved", None):
            self._keras2_hypers.update(self._keras2_saved)
            self._keras2_saved = None
        if self._scheduled is not None:
            object.__setattr__(self.optimizer, self.attribute, self._original_value)
            self._scheduled = None
        self.optimizer = None


