"""Optimizers that hand their updates to other optimizers get a clear error, never an ignored schedule.

``keras.optimizers.MultiOptimizer`` (Keras 3.15+) routes each variable to an inner
optimizer with its own learning rate; the wrapper's own rate (0) is used by no update.
A minimal wrapper written here does the same on every Keras version, so the refusal is
tested on the oldest supported Keras too.
"""

import numpy as np
import pytest

from reference_training import make_data, make_model

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _delegating_optimizer_class(keras):
    class Delegating(keras.optimizers.Optimizer):
        """Kernels go to `kernels`, every other variable to `others` (like MultiOptimizer)."""

        def __init__(self, kernels, others):
            super().__init__(learning_rate=0.0)
            self.kernels, self.others = kernels, others

        def _owner(self, variable):
            return self.kernels if "kernel" in variable.name else self.others

        def build(self, var_list):
            if self.built:
                return
            for opt in (self.kernels, self.others):
                opt.build([v for v in var_list if self._owner(v) is opt])
            super().build(var_list)

        @property
        def variables(self):  # the base stateless_apply (JAX) maps these
            return self._variables[:] + self.kernels.variables + self.others.variables

        def apply(self, grads, trainable_variables=None):
            trainable_variables = trainable_variables or self._trainable_variables
            if not self.built:
                self.build(trainable_variables)
            for opt in (self.kernels, self.others):
                pairs = [(g, v) for g, v in zip(grads, trainable_variables) if self._owner(v) is opt]
                opt.apply([g for g, _ in pairs], [v for _, v in pairs])
            self._iterations.assign_add(1)

    return Delegating


def _wrappers(keras):
    """(label, factory) of each wrapper this Keras has: ours, and Keras' MultiOptimizer (3.15+)."""
    delegating = _delegating_optimizer_class(keras)
    found = [("minimal wrapper", lambda: delegating(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.0)))]
    if hasattr(keras.optimizers, "MultiOptimizer"):
        multi, omap = keras.optimizers.MultiOptimizer, keras.optimizers.OptimizerMap
        found.append(("MultiOptimizer(OptimizerMap)", lambda: multi(omap(
            default_optimizer=keras.optimizers.SGD(0.0), optimizer_map={".*kernel": keras.optimizers.SGD(0.1)}))))

        def with_a_callable():
            kernels, others = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.0)
            return multi(lambda v: kernels if "kernel" in v.name else others)

        found.append(("MultiOptimizer(callable)", with_a_callable))
    return found


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_the_wrappers_use_their_inner_rates(keras):
    # What makes a silently ignored schedule possible: the wrapper's own rate is 0,
    # yet the kernels train (at the inner 0.1) and the biases do not (inner 0.0).
    x, y = make_data(n=8)
    for label, make in _wrappers(keras):
        model = make_model(keras, make())
        before = _weights(model)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        after = _weights(model)
        assert not np.array_equal(after[0], before[0]), label
        np.testing.assert_array_equal(after[1], before[1], err_msg=label)


def test_callbacks_and_range_test_refuse_a_wrapper(keras):
    from kerasclr import callbacks, range_test, training

    x, y = make_data(n=8)
    message = "hands its updates to other optimizers"
    for label, make in _wrappers(keras):
        for wrap_in_loss_scaling in (False, True):
            opt = make()
            if wrap_in_loss_scaling:
                opt = keras.optimizers.LossScaleOptimizer(opt)
            model = make_model(keras, opt)
            before = _weights(model)
            for cb in (callbacks.CyclicLR(base_lr=0.01, max_lr=0.1, step_size=2),
                       callbacks.OneCycle(0.1, momentum=None)):
                with pytest.raises(ValueError, match=message):
                    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])
            with pytest.raises(ValueError, match=message):
                range_test.lr_range_test(model, x, y, batch_size=4, num_iter=5)
            for call in (lambda: training.set_learning_rate(model, 0.1),
                         lambda: training.get_learning_rate(model),
                         lambda: training.optimizer_step(model)):
                with pytest.raises(ValueError, match=message):
                    call()
            after = _weights(model)
            for got, want in zip(after, before):  # nothing trained
                np.testing.assert_array_equal(got, want, err_msg=label)


def test_the_error_names_the_inner_optimizers(keras):
    from kerasclr import training

    delegating = _delegating_optimizer_class(keras)
    opt = delegating(keras.optimizers.SGD(0.1), keras.optimizers.Adam(0.1))
    with pytest.raises(ValueError, match=r"Delegating hands its updates to other optimizers \(SGD, Adam\)"):
        training.inner_optimizer(opt)


def test_plain_and_loss_scaled_optimizers_pass(keras):
    from kerasclr import training

    names = ["SGD", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adagrad", "Adadelta", "Ftrl", "Lion",
             "Lamb", "Muon"]
    for name in names:
        if not hasattr(keras.optimizers, name):  # Lamb, Muon: newer Keras
            continue
        opt = getattr(keras.optimizers, name)()
        assert training.inner_optimizer(opt) is opt
        assert training.inner_optimizer(keras.optimizers.LossScaleOptimizer(opt)) is opt


@pytest.mark.backends("tensorflow")
def test_keras2_optimizers_pass():
    tf_keras = pytest.importorskip("tf_keras")
    from kerasclr import training

    for opt in (tf_keras.optimizers.SGD(0.1), tf_keras.optimizers.Adam(0.1),
                tf_keras.optimizers.legacy.SGD(0.1, momentum=0.9), tf_keras.optimizers.legacy.Adam(0.1)):
        assert training.inner_optimizer(opt) is opt
        assert training.inner_optimizer(tf_keras.mixed_precision.LossScaleOptimizer(opt)) is opt
