"""kerasclr.training against the truth: hand-computed updates and directly computed losses."""

import os

import numpy as np
import pytest

from reference_training import make_data, make_model, optimizer_and_reference, sgd, simulate

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _weights(model):
    return [np.asarray(w, dtype=np.float64) for w in model.get_weights()]


def _setter_callback(keras, lrs, log):
    from kerasclr import training

    class SetLR(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            step = training.optimizer_step(self.model)
            log.append(step)
            training.set_learning_rate(self.model, lrs[step])

    return SetLR()


@pytest.mark.parametrize("jit_compile", [True, False])
def test_set_learning_rate_takes_effect_at_the_next_step(keras, jit_compile):
    from kerasclr import training

    x, y = make_data(n=10)
    lrs = [0.1, 0.01, 0.3, 0.05, 0.2, 0.02]
    model = make_model(keras, keras.optimizers.SGD(learning_rate=0.5), jit_compile=jit_compile)
    start = _weights(model)
    steps = []
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[_setter_callback(keras, lrs, steps)])
    expected, _ = simulate(start, x, y, 4, 2, sgd(lrs))
    assert steps == list(range(6))
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert training.optimizer_step(model) == 6
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(lrs[-1])


# PyTorch allows steps_per_execution=1 only.
SPE2 = pytest.param(2, marks=pytest.mark.backends("tensorflow", "jax"))


@pytest.mark.parametrize("steps_per_execution", [1, SPE2])
def test_optimizer_step_continues_across_fits_and_steps_per_execution(keras, steps_per_execution):
    from kerasclr import training

    x, y = make_data(n=12)
    model = make_model(keras, keras.optimizers.SGD(0.01), steps_per_execution=steps_per_execution)
    assert training.optimizer_step(model) == 0
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert training.optimizer_step(model) == 3
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert training.optimizer_step(model) == 9


def test_keras_is_a_supported_version_and_the_one_asked_for(keras):
    # Keras >= 3.8 (R/install.R, KERAS_MIN_VERSION). scripts/test.sh runs these tests again in a
    # second environment with the oldest supported Keras and names it in KERASCLR_EXPECT_KERAS.
    assert tuple(int(v) for v in keras.version().split(".")[:2]) >= (3, 8)
    assert keras.version() == os.environ.get("KERASCLR_EXPECT_KERAS", keras.version())


def test_inner_optimizer_unwraps_loss_scaling(keras):
    from kerasclr import training

    inner = keras.optimizers.SGD(0.01)
    outer = keras.optimizers.LossScaleOptimizer(inner)
    assert training.inner_optimizer(outer) is inner
    assert training.inner_optimizer(inner) is inner


def test_learning_rate_schedule_is_refused(keras):
    from kerasclr import training

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model = make_model(keras, keras.optimizers.SGD(schedule))
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        training.set_learning_rate(model, 0.1)


def test_model_without_optimizer_is_refused(keras):
    from kerasclr import training

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no optimizer"):
        training.optimizer_step(model)


@pytest.mark.parametrize("deferred", [True, False])
@pytest.mark.parametrize("jit_compile", [True, False])
def test_host_driven_steps_use_each_rate_and_read_each_batch_loss(keras, jit_compile, deferred):
    from kerasclr import training

    x, y = make_data(n=10)  # batches of 4, 4, 2
    lrs = [0.1, 0.01, 0.3, 0.05, 0.2]  # one fewer than the 6 steps of the fit: it stops there
    model = make_model(keras, keras.optimizers.SGD(0.5), jit_compile=jit_compile)
    start = _weights(model)
    seen, pending_at_batch_end = [], []

    class Drive(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = training.HostDrivenSteps(self.model, lrs, seen.append,
                                                  deferred=deferred).install()

        def on_epoch_begin(self, epoch, logs=None):
            self.steps.on_epoch_begin()

        def on_train_batch_end(self, batch, logs=None):
            pending_at_batch_end.append(len(self.steps._pending))
            if not deferred:
                self.steps.flush()

    drive = Drive()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # traced first
    start = _weights(model)
    plain = model.train_function
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[drive])
    drive.steps.flush()
    drive.steps.remove()
    assert model.train_function is plain
    # Rate 0 in a sixth step, which must not run: the weights after the first five.
    expected, losses = simulate(start, x, y, 4, 2, sgd(lrs + [0.0]))
    assert training.optimizer_step(model) == 3 + len(lrs)
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Each batch's own loss (not Keras' running mean), in order, across the epoch change.
    np.testing.assert_allclose(seen, losses[:len(lrs)], rtol=2e-5)
    lag = training.HostDrivenSteps.JAX_LAG if deferred and keras.backend.backend() == "jax" else 0
    expected_pending = [min(i + 1, lag) if deferred else 1 for i in range(len(lrs))]
    assert pending_at_batch_end == expected_pending


@pytest.mark.parametrize("jit_compile", [True, False])
@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam", "rmsprop"])
def test_schedule_hook_applies_lr_and_momentum_in_graph(keras, kind, jit_compile):
    from kerasclr import training

    x, y = make_data(n=10)
    steps = 6
    lrs = np.array([0.05, 0.02, 0.08, 0.01, 0.04, 0.03])
    moms = np.array([0.95, 0.5, 0.9, 0.2, 0.85, 0.7])
    opt, ref = optimizer_and_reference(keras, kind, lrs, moms)
    model = make_model(keras, opt, jit_compile=jit_compile)
    start = _weights(model)

    def table(values):
        return lambda it, xp: xp.take(xp.convert_to_tensor(values.astype("float32")),
                                      xp.cast(it, "int32"))

    hook = training.ScheduleHook(model, lr_fn=table(lrs), momentum_fn=table(moms)).install()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    hook.remove()
    expected, _ = simulate(start, x, y, 4, 2, ref)
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert training.optimizer_step(model) == steps
    # The optimizer is left as it was: floats in its config, the hook is gone.
    attr = training.momentum_attribute(opt)
    assert isinstance(getattr(opt, attr), float)
    assert "apply" not in vars(opt)
    assert isinstance(opt.get_config()["learning_rate"], float)
