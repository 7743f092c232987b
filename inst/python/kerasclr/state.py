"""In-memory snapshot and exact restore of a Keras model's training state.

``ModelState.capture(model)`` copies every model variable (weights, non-trainable
state such as batch-norm statistics and seed generators), every optimizer variable
(iterations, learning rate, slots such as momentums) and every metric variable into
NumPy arrays, and remembers the Python attributes of the optimizer(s) and the few
attributes ``fit()`` changes on the model. ``restore()`` puts all of them back bit for
bit. Nothing is written to disk.

An optimizer that was not built yet is left unbuilt: ``fit()`` builds it (adding slot
variables and attributes such as ``momentums``), and ``restore()`` puts its attribute
dictionary back as it was, with its lists and dicts restored in place (Keras' variable
tracker holds references to them). The model's cached ``train_function``, which refers
to the slots, is put back too, so the next ``fit()`` traces a new one.

A model that was not built yet cannot be unbuilt: ``fit()`` creates its weights with
their initial values, and ``capture_new_variables()`` (called when training begins)
adds them, so they are restored to those initial values.
"""

import copy

import numpy as np

from kerasclr import training

# Attributes that fit() sets on the model; restored to what they were.
_MODEL_ATTRIBUTES = training.FIT_MODEL_ATTRIBUTES
_MISSING = object()


def optimizers_of(model):
    """The model's optimizer and, for wrappers such as LossScaleOptimizer, the inner ones."""
    found = []
    opt = getattr(model, "optimizer", None)
    while opt is not None and all(opt is not o for o in found):
        found.append(opt)
        opt = getattr(opt, "inner_optimizer", None)
    return found


def _to_numpy(variable, keras2=False):
    if keras2:  # a tf.Variable
        return np.array(variable.numpy(), copy=True)
    import keras

    # A copy: on the torch backend convert_to_numpy may share the tensor's memory.
    return np.array(keras.ops.convert_to_numpy(variable.value), copy=True)


def _copy_attributes(obj):
    """A shallow copy of ``obj.__dict__`` with list/dict/set containers copied too."""
    saved = {}
    for key, value in vars(obj).items():
        if isinstance(value, (list, dict, set)):
            saved[key] = (value, copy.copy(value))
        else:
            saved[key] = (value, None)
    return saved


def _same_contents(container, contents):
    """True if ``container`` holds the same objects (by identity) as ``contents``."""
    if len(container) != len(contents):
        return False
    if isinstance(contents, dict):
        return all(k in container and container[k] is v for k, v in contents.items())
    if isinstance(contents, set):
        return container == contents
    return all(a is b for a, b in zip(container, contents))


def _restore_attributes(obj, saved):
    current = vars(obj)
    for key in [k for k in current if k not in saved]:
        del current[key]
    for key, (value, contents) in saved.items():
        if contents is not None and not _same_contents(value, contents):
            # The same container object, with its former contents.
            if isinstance(value, list):
                if len(value) > len(contents) and all(a is b for a, b in zip(value, contents)):
                    training.truncate_list(value, len(contents))  # only appended to (build())
                else:
                    value[:] = contents
            else:
                value.clear()
                value.update(contents)
        current[key] = value


class ModelState:
    """A restorable copy of a model's weights, optimizer state and attributes.

    Example:
        >>> state = ModelState.capture(model)
        >>> try:
        ...     model.fit(x, y)  # anything that changes the model
        ... finally:
        ...     state.restore()
    """

    def __init__(self, model):
        self.model = model
        self._keras2 = training.is_keras2_model(model)
        self._values = []  # (variable, numpy copy)
        self._seen = set()
        self._optimizer_attributes = []
        self._model_attributes = {}

    @classmethod
    def capture(cls, model):
        """Snapshots ``model`` now. On JAX, a pending training state is synced first."""
        state = cls(model)
        sync = getattr(model, "jax_state_sync", None)
        if callable(sync):
            sync()
        state.capture_new_variables()
        for opt in optimizers_of(model):
            state._optimizer_attributes.append((opt, _copy_attributes(opt)))
        for name in _MODEL_ATTRIBUTES:
            state._model_attributes[name] = vars(model).get(name, _MISSING)
        return state

    def _all_variables(self):
        model = self.model
        variables = list(model.variables)
        for opt in optimizers_of(model):
            variables.extend(training.optimizer_variables(opt))
        variables.extend(training.metric_variables(model))
        return variables

    def capture_new_variables(self):
        """Adds the variables created since the snapshot (e.g. by building the model)."""
        for variable in self._all_variables():
            if id(variable) in self._seen:
                continue
            self._seen.add(id(variable))
            self._values.append((variable, _to_numpy(variable, self._keras2)))

    def restore(self, variables=True):
        """Puts the snapshot back.

        Args:
            variables: also restore the variable values (weights, optimizer state). With
                False only the Python attributes (hyperparameters such as momentum or
                weight decay, a replaced learning-rate schedule, the model's cached
                train function) are restored.
        """
        model = self.model
        training.drop_jax_state(model)
        for opt, saved in self._optimizer_attributes:
            _restore_attributes(opt, saved)
        if variables:
            for variable, value in self._values:
                variable.assign(value)
        for name, value in self._model_attributes.items():
            if value is _MISSING:
                vars(model).pop(name, None)
            else:
                vars(model)[name] = value


def state_arrays(model):
    """Every model, optimizer and metric variable as a ``{path: numpy copy}`` dict (for tests)."""
    state = ModelState(model)
    state.capture_new_variables()
    out = {}
    for i, (variable, value) in enumerate(state._values):
        out[f"{i}:{getattr(variable, 'path', variable.name)}"] = value
    return out
