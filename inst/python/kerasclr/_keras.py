"""The private attributes of Keras that kerasclr relies on: all of them are read or set here.

The rest of kerasclr goes through these functions (``kerasclr.training`` above all), so
that a change in Keras shows up in one place. Each is named with what it touches.

Keras 3, checked with 3.8.0, 3.9.0, 3.10.0, 3.11.0 and 3.15.1 (CI runs 3.8.0 and 3.15.1):

- variables: ``_value`` (``held_tensor``, ``host_number``);
- optimizers: ``_learning_rate`` (the variable, or a schedule; ``learning_rate_slot``,
  ``set_learning_rate_slot``), ``_get_current_learning_rate()`` (overridden during a fit:
  ``CURRENT_LEARNING_RATE``), ``_track_variable()`` (``track_optimizer_variable``);
- models: ``_loss_tracker`` (``loss_tracker``), ``_metrics`` (the model's own metrics:
  ``own_metrics``), ``_jax_state`` / ``_jax_state_synced`` (the JAX fit loop's carried
  state: ``carried_slot``, ``optimizer_variable_index``, ``with_carried_value``,
  ``carried_state_metrics``, ``sync_jax_state``, ``drop_jax_state``,
  ``FIT_MODEL_ATTRIBUTES``), an instance ``train_step`` (``FreshTrace``; kerasclr's step
  wrappers rely on the JAX one's ``(trainable, non_trainable, optimizer, metrics)`` state).

Keras 2 (``tf_keras`` 2.21: its optimizers in ``tf_keras.optimizers`` and the legacy ones in
``tf_keras.optimizers.legacy``): optimizers' ``_hyper`` / ``_get_hyper()``,
``_learning_rate``, ``_current_learning_rate``, ``_update_step_xla``, ``_slots``, ``_built``,
``_momentum``; models' ``compiled_loss._total_loss_mean``, ``_is_compiled``,
``_steps_per_execution``; callbacks' ``_supports_tf_logs`` and ``_implements_*_batch_hooks()``
(``Keras2CallbackMixin``); TensorFlow's ``ListWrapper._storage`` / ``_update_snapshot()``
(TensorFlow 2.21, ``truncate_list``).
"""

import numpy as np

# The method of a Keras 3 optimizer that gives the learning rate of the current step.
CURRENT_LEARNING_RATE = "_get_current_learning_rate"
# The per-variable update step of a Keras 2 optimizer with jit_compile (a tf.function).
KERAS2_UPDATE_STEP = "_update_step_xla"


def to_float(value):
    """A Python float from a tensor, a variable (Keras 2 or 3) or a number."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    elif hasattr(value, "value") and hasattr(value.value, "numpy"):
        value = value.value.numpy()
    return float(np.asarray(value))


def held_tensor(value):
    """The tensor a Keras 3 variable holds, the fast way; any other value as it is.

    ``variable._value`` is that tensor (keras/src/backend/torch/core.py: read in the
    sources of Keras 3.8.0 and 3.15.1, run with 3.15.1): ``.value`` costs about 1.5 us
    more per read on PyTorch (it goes through autocasting), which an eager step pays at
    every read.
    """
    return getattr(value, "_value", value)  # a tensor has no `_value`


def host_number(variable):
    """A Keras 3 variable's scalar value as a Python number, the fast way, on eager PyTorch."""
    return held_tensor(variable).item()


def is_keras2_model(model_or_optimizer):
    """True for ``tf_keras`` (Keras 2) models and optimizers."""
    return type(model_or_optimizer).__module__.startswith("tf_keras")


def carried_slot(model, variable):
    """Where the JAX fit loop carries ``variable`` mid-epoch: ``(values, index)`` or None.

    Mid-epoch on JAX the optimizer variables are stale: the loop passes its own
    ``state`` from step to step, and ``model._jax_state["optimizer_variables"]`` holds
    its current values (keras/src/backend/jax/trainer.py, ``fit()``), in the order of
    ``model.optimizer.variables``: for reading only, since Keras 3.15 keeps tracked
    copies there, and a value written into them does not reach the next step. None
    anywhere else (other backends, between epochs, after a sync), where the variable
    itself is current.
    """
    state = getattr(model, "_jax_state", None) if model is not None else None
    if not state or getattr(model, "_jax_state_synced", True):
        return None
    values = state.get("optimizer_variables")
    index = optimizer_variable_index(model, variable)
    if not values or index is None:
        return None
    return values, index


def optimizer_variable_index(model, variable):
    """The position of ``variable`` in ``model.optimizer.variables`` (the JAX loop's order), or None."""
    for index, ref in enumerate(model.optimizer.variables):
        if ref is variable:
            return index
    return None


def with_carried_value(state, index, value):
    """The JAX fit loop's ``state`` with ``value`` for optimizer variable ``index``.

    ``state`` is ``(trainable, non_trainable, optimizer, metrics)`` values, as the loop
    passes them to ``model.train_function`` (the optimizer's in the order of
    ``model.optimizer.variables``); the lists are copied, not changed.
    """
    values = list(state[2])
    values[index] = value
    return (state[0], state[1], values) + tuple(state[3:])


def carried_state_metrics(state):
    """The metric variables' values in the JAX fit loop's ``state`` (``model.metrics_variables`` order)."""
    return state[3]


def sync_jax_state(model):
    """Mid-epoch on JAX, writes the state the fit loop carries back into the variables.

    The loop re-reads them before its next step (``jax_state_sync()``, which Keras' own
    callbacks use), so the model can be called directly. Nothing to do elsewhere.
    """
    if not is_keras2_model(model) and getattr(model, "_jax_state", None):
        model.jax_state_sync()


def drop_jax_state(model):
    """Forgets the JAX loop's carried state (a ``fit()`` that was interrupted).

    So that a later ``jax_state_sync()`` cannot overwrite variables restored since.
    """
    if "_jax_state" in vars(model):
        vars(model)["_jax_state"] = None
        vars(model)["_jax_state_synced"] = True


# Attributes that fit() sets on a Keras 3 model (``_jax_state*``: the JAX loop's carried
# state); kerasclr.state restores them after the range test.
FIT_MODEL_ATTRIBUTES = (
    "train_function",
    "history",
    "stop_training",
    "steps_per_execution",
    "_jax_state",
    "_jax_state_synced",
)


# --------------------------------------------------------------------------- #
# Keras 3 optimizers and models
# --------------------------------------------------------------------------- #
def learning_rate_slot(optimizer):
    """A Keras 3 optimizer's learning rate as it holds it: a variable, a schedule, or None."""
    return getattr(optimizer, "_learning_rate", None)


def set_learning_rate_slot(optimizer, value):
    """Puts ``value`` (a variable, a float for one eager step, or None) in its place."""
    if value is None:
        vars(optimizer).pop("_learning_rate", None)
    else:
        object.__setattr__(optimizer, "_learning_rate", value)


def track_optimizer_variable(optimizer, variable):
    """Makes ``variable`` one of the optimizer's (so that the JAX fit loop carries it)."""
    optimizer._track_variable(variable)


def own_metrics(model):
    """The list of the model's own metrics (``model.metrics`` includes them; not saved)."""
    return model._metrics


def wrap_train_step(model, train_step):
    """Gives the model an instance ``train_step`` (Keras' fit loop calls ``self.train_step``)."""
    object.__setattr__(model, "train_step", train_step)


def unwrap_train_step(model):
    """Gives the model back its class's ``train_step``."""
    vars(model).pop("train_step", None)


# --------------------------------------------------------------------------- #
# Keras 2 (tf_keras) and the few differences from Keras 3 that the rest needs
# --------------------------------------------------------------------------- #
def keras2_hypers(optimizer):
    """Where a Keras 2 optimizer keeps its hyperparameters, as ``(dict, learning-rate key)``.

    Legacy optimizers (``OptimizerV2``) keep them in ``_hyper`` (tf.Variables once
    ``_create_hypers()`` ran, which ``_get_hyper`` does first), read through
    ``_get_hyper(name, dtype)`` = ``tf.cast(value)``. The others keep
    ``_learning_rate`` (a tf.Variable, or a schedule) and ``momentum``/``beta_1``
    (Python floats) as attributes: their dict is the instance ``__dict__``.
    """
    if hasattr(optimizer, "_hyper"):
        optimizer._get_hyper("learning_rate")  # creates the hyperparameter variables
        return optimizer._hyper, "learning_rate"
    return vars(optimizer), "_learning_rate"


def fresh_keras2_update_step(optimizer):
    """A new ``_update_step_xla`` for a Keras 2 optimizer with ``jit_compile``, else None.

    With ``jit_compile`` (tf_keras turns it on when there is a GPU) a Keras 2
    optimizer updates each variable in a ``tf.function`` of its own, traced once
    with the hyperparameters it read then, and reused by every later train
    function. A fresh one (an instance attribute, popped afterwards) reads the
    current ones.
    """
    import tensorflow as tf

    method = getattr(type(optimizer), KERAS2_UPDATE_STEP, None)
    if not getattr(optimizer, "jit_compile", False) or not hasattr(method, "python_function"):
        return None
    return tf.function(method.python_function.__get__(optimizer), jit_compile=True)


def is_compiled(model):
    """True when ``model`` was compiled (Keras 3 ``compiled``, Keras 2 ``_is_compiled``)."""
    if is_keras2_model(model):
        return bool(getattr(model, "_is_compiled", False))
    return bool(getattr(model, "compiled", False))


def loss_tracker(model):
    """The ``Mean`` metric of the model's total loss, or None.

    Keras 3: ``model._loss_tracker``; Keras 2: ``model.compiled_loss._total_loss_mean``.
    """
    if is_keras2_model(model):
        return getattr(getattr(model, "compiled_loss", None), "_total_loss_mean", None)
    return getattr(model, "_loss_tracker", None)


def steps_per_execution(model):
    """The model's ``steps_per_execution`` as an int (Keras 2 keeps a tf.Variable)."""
    value = getattr(model, "steps_per_execution", None)
    return 1 if value is None else int(to_float(value))


def optimizer_built(optimizer):
    """True when the optimizer has created its slot variables."""
    if is_keras2_model(optimizer):
        if hasattr(optimizer, "_hyper"):  # legacy: slots are created per variable
            return bool(getattr(optimizer, "_slots", None))
        return bool(getattr(optimizer, "_built", False))
    return bool(optimizer.built)


def has_momentum_buffers(optimizer):
    """False when the optimizer has no momentum buffers to cycle (SGD/RMSprop with momentum 0).

    Keras 3 and the newer Keras 2 optimizers create them when built with a momentum > 0;
    the legacy Keras 2 ones decide it when created (``_momentum``).
    """
    if is_keras2_model(optimizer) and hasattr(optimizer, "_hyper"):
        return bool(getattr(optimizer, "_momentum", True))
    return not (optimizer_built(optimizer) and to_float(optimizer.momentum) == 0)


def optimizer_variables(optimizer):
    """The optimizer's variables: iterations, learning rate, slots (and Keras 2 hyperparameters)."""
    if not is_keras2_model(optimizer):
        return list(optimizer.variables)
    if hasattr(optimizer, "_hyper"):  # legacy: `weights` holds iterations and slots
        hypers, _ = keras2_hypers(optimizer)
        return list(optimizer.weights) + [v for _, v in sorted(hypers.items()) if hasattr(v, "assign")]
    extra = [vars(optimizer).get(name) for name in ("_learning_rate", "_current_learning_rate")]
    return list(optimizer.variables) + [v for v in extra if hasattr(v, "assign")]


def metric_variables(model):
    """The variables of the model's metrics (the loss tracker included).

    Keras 2 also keeps ``steps_per_execution`` in a variable (``_steps_per_execution``).
    """
    if not is_keras2_model(model):
        return list(getattr(model, "metrics_variables", []))
    variables = [v for metric in model.metrics for v in metric.variables]
    spe = getattr(model, "_steps_per_execution", None)
    return variables + ([spe] if spe is not None else [])


def truncate_list(values, length):
    """``del values[length:]``, also for a list that TensorFlow tracks (Keras 2 optimizers).

    TensorFlow wraps the lists of trackable objects (a Keras 2 optimizer's
    ``_variables``) in a ``ListWrapper``, which refuses to be checkpointed once an
    element was deleted. Undoing appends (what ``ModelState.restore`` does after the
    first ``fit()`` built the optimizer) is no such change: the wrapped list is cut
    and the wrapper told (``_storage``, ``_update_snapshot()``; TensorFlow 2.21).
    """
    storage = getattr(values, "_storage", None)
    if isinstance(storage, list) and callable(getattr(values, "_update_snapshot", None)):
        del storage[length:]
        values._update_snapshot()
        return
    del values[length:]


class Keras2CallbackMixin:
    """What Keras 2's ``CallbackList`` asks of a callback, for a Keras 3 callback class.

    tf_keras (checked with 2.21, ``tf_keras/src/callbacks.py``) calls
    ``_implements_{train,test,predict}_batch_hooks()`` on every callback, and
    passes batch logs as tensors (no host sync per batch) to callbacks whose
    ``_supports_tf_logs`` is true. A hook counts as implemented when the class
    (or the instance) overrides Keras 3's ``Callback`` method.
    """

    _supports_tf_logs = False

    def _overrides(self, *names):
        import keras

        base = keras.callbacks.Callback
        return any(name in vars(self) or getattr(type(self), name) is not getattr(base, name)
                   for name in names)

    def _implements_train_batch_hooks(self):
        return self._overrides("on_batch_begin", "on_batch_end", "on_train_batch_begin",
                               "on_train_batch_end")

    def _implements_test_batch_hooks(self):
        return self._overrides("on_test_batch_begin", "on_test_batch_end")

    def _implements_predict_batch_hooks(self):
        return self._overrides("on_predict_batch_begin", "on_predict_batch_end")


class FreshTrace:
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

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer  # the one that updates the weights (unwrapped)
        self._saved = None

    def install(self):
        import keras

        model = self.model
        model.train_function = None
        if is_keras2_model(model):
            update_step = fresh_keras2_update_step(self.optimizer)
            if update_step is not None:
                object.__setattr__(self.optimizer, KERAS2_UPDATE_STEP, update_step)
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
