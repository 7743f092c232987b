"""Keras 2 (tf_keras) models, as the old R `keras` package builds them: the same callback
classes and the range test, against hand-computed updates and bitwise restoration.

tf_keras runs on TensorFlow only, whatever KERAS_BACKEND says: these tests run once, in the
tensorflow pass of the suite.
"""

import io
import logging
import os
import time

import numpy as np
import pytest

import test_range_test
from reference_training import adam, make_data, make_model, optimizer_and_reference, sgd, simulate

# The history holds the float32 values the optimizer used.
FLOAT32 = 1e-6
from test_range_test import _RaiseAt, _assert_same_state, _data, _model, _state

pytestmark = [pytest.mark.keras, pytest.mark.backends("tensorflow")]

CYCLE = dict(base_lr=0.01, max_lr=0.08, step_size=2)
MOMENTUM = (0.95, 0.6)


@pytest.fixture(scope="module")
def tf_keras():
    return pytest.importorskip("tf_keras")


def _weights(model):
    return [np.asarray(w, dtype=np.float64) for w in model.get_weights()]


def _assert_weights(model, expected, rtol=1e-4):
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)


def _cyclic_reference(steps, momentum=MOMENTUM, **cycle):
    from kerasclr import policies

    cycle = cycle or CYCLE
    it = np.arange(steps)
    moms = None if momentum is None else policies.cyclic_momentum(
        it, base_momentum=momentum[1], max_momentum=momentum[0], **cycle)
    return policies.cyclic_lr(it, **cycle), moms


class _Legacy:
    """tf_keras, with its legacy optimizers in place of the others."""

    def __init__(self, tf_keras):
        self._module = tf_keras
        self.optimizers = tf_keras.optimizers.legacy

    def __getattr__(self, name):
        return getattr(self._module, name)


def _keras2(tf_keras, family):
    """The Keras 2 module of an optimizer family ("new" or "legacy"), for Keras-agnostic helpers."""
    return _Legacy(tf_keras) if family == "legacy" else tf_keras


# --------------------------------------------------------------------------- #
# Callbacks
# --------------------------------------------------------------------------- #
KINDS = [("new", "sgd"), ("new", "nesterov"), ("new", "rmsprop"), ("new", "adam"),
         ("new-xla", "sgd"), ("new-xla", "adam"),
         ("legacy", "sgd"), ("legacy", "nesterov"), ("legacy", "rmsprop"), ("legacy", "adam")]


@pytest.mark.parametrize("family, kind", KINDS)
def test_cyclic_lr_and_momentum_reach_the_weights(tf_keras, family, kind):
    """The optimizers the old R package creates (optimizer_sgd(momentum =), optimizer_rmsprop(
    momentum =), optimizer_adam()): tf_keras.optimizers, with XLA (tf_keras' choice when there
    is a GPU) or not, and the legacy ones. A first fit without the callback traces the step
    with the optimizer's own constants; the callback then continues from its iteration 3."""
    from kerasclr import callbacks

    x, y = make_data(n=10)
    lrs, moms = _cyclic_reference(9)
    own_momentum = 0.5 if kind == "rmsprop" else 0.9  # as optimizer_and_reference() creates them
    lrs[:3], moms[:3] = 0.5, own_momentum
    opt, ref = optimizer_and_reference(_keras2(tf_keras, family.split("-")[0]), kind, lrs, moms)
    if family == "new-xla":
        opt.jit_compile = True
    model = make_model(tf_keras, opt)
    start = _weights(model)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    cb = callbacks.CyclicLR(momentum=MOMENTUM, **CYCLE)
    fit = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    expected, losses = simulate(start, x, y, 4, 3, ref)
    _assert_weights(model, expected)
    h = cb.history_arrays()
    np.testing.assert_array_equal(h["iteration"], np.arange(3, 9))
    np.testing.assert_array_equal(h["epoch"], [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(h["learning_rate"], lrs[3:], rtol=FLOAT32)
    np.testing.assert_allclose(h["momentum"], moms[3:], rtol=FLOAT32)
    np.testing.assert_allclose(h["loss"], losses[3:], rtol=1e-4)
    np.testing.assert_allclose(fit.history["learning_rate"], [lrs[5], lrs[8]], rtol=FLOAT32)
    assert not any(k.startswith("kerasclr") for k in fit.history)
    # After the fit: the optimizer's own hyperparameters are back (floats; NumPy ones for
    # the legacy optimizers); its learning rate is the one of the next step.
    config = opt.get_config()
    attr = "beta_1" if kind == "adam" else "momentum"
    assert isinstance(config[attr], (float, np.floating))
    assert float(config[attr]) == pytest.approx(own_momentum)
    assert config["learning_rate"] == pytest.approx(float(cb.learning_rate_at(9)), rel=1e-6)
    assert not {"get_config", "_update_step_xla"} & set(vars(opt))
    assert model.train_function is not cb._traced[1]


def test_callbacks_are_classes_keras_2_and_3_accept(tf_keras):
    import keras

    from kerasclr import callbacks

    class Logged(callbacks.OneCycle):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            Logged.epochs += 1

    cb = Logged(0.1)
    assert isinstance(cb, keras.callbacks.Callback) and isinstance(cb, callbacks.ScheduleCallback)
    # No batch hook: the history is recorded in the train step.
    assert not cb._implements_train_batch_hooks() and not cb._implements_test_batch_hooks()
    x, y = make_data(n=8)
    model = make_model(tf_keras, tf_keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[cb], validation_data=(x, y))
    assert Logged.epochs == 2 and len(cb.history_arrays()["loss"]) == 4


def test_one_cycle_with_adam_as_the_r_package_makes_it(tf_keras):
    """callback_one_cycle() with optimizer_adam(): beta_1 follows the momentum cycle."""
    from kerasclr import callbacks, policies

    x, y = make_data(n=12)
    model = make_model(tf_keras, tf_keras.optimizers.Adam(0.01))
    start = _weights(model)
    cb = callbacks.OneCycle(max_lr=0.05, pct_start=0.25, momentum=(0.95, 0.85))
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[cb])
    assert cb.total_iterations == 9
    args = dict(total_steps=9, max_lr=0.05, pct_start=0.25, base_momentum=0.85, max_momentum=0.95)
    lrs = policies.one_cycle_lr(np.arange(9), **args)
    beta_1s = policies.one_cycle_momentum(np.arange(9), **args)
    expected, _ = simulate(start, x, y, 4, 3, adam(lrs, beta_1s))
    _assert_weights(model, expected)
    np.testing.assert_allclose(cb.history_arrays()["momentum"], beta_1s, rtol=FLOAT32)


def test_unknown_length_and_an_r_style_scale_fn(tf_keras, monkeypatch):
    """A generator without steps_per_epoch: the tables grow while the fit runs (small
    chunks here), also for a scale_fn that only NumPy can evaluate (like an R function)."""
    from kerasclr import callbacks, policies

    monkeypatch.setattr(callbacks.ScheduleCallback, "_TABLE_CHUNK", 4)
    x, y = make_data(n=12)
    cycle = dict(base_lr=0.01, max_lr=0.08, step_size=1, scale_fn=lambda c: 1.0 / np.asarray(c))

    def batches(epochs):
        for _ in range(epochs):
            for i in range(0, 12, 4):
                yield x[i:i + 4], y[i:i + 4]

    model = make_model(tf_keras, tf_keras.optimizers.SGD(0.5, momentum=0.9))
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=MOMENTUM, **cycle)
    model.fit(batches(3), epochs=1, verbose=0, callbacks=[cb])  # 9 steps
    model.fit(batches(1), epochs=1, verbose=0, callbacks=[cb])  # 3 more
    assert cb._fit_table.end > 12  # grown
    # The values of the optimizer's iterations. (tf_keras' optimizers count one more
    # iteration when a generator runs out: the second fit starts at 10.)
    it = cb.history_arrays()["iteration"]
    assert len(it) == 12 and it[0] == 0
    lrs = policies.cyclic_lr(it, **cycle)
    moms = policies.cyclic_momentum(it, base_momentum=0.6, max_momentum=0.95, **cycle)
    np.testing.assert_allclose(cb.history_arrays()["learning_rate"], lrs, rtol=FLOAT32)
    expected, _ = simulate(start, x, y, 4, 4, sgd(lrs, moms))
    _assert_weights(model, expected)


@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_tf_data_input_and_reset(tf_keras, steps_per_execution):
    import tensorflow as tf

    from kerasclr import callbacks, policies

    x, y = make_data(n=12)
    model = make_model(tf_keras, tf_keras.optimizers.SGD(0.5, momentum=0.9),
                       steps_per_execution=steps_per_execution)
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=MOMENTUM, **CYCLE)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model.fit(data, epochs=1, verbose=0, callbacks=[cb])
    cb.reset(base_lr=0.001, max_lr=0.002)
    model.fit(data, epochs=1, verbose=0, callbacks=[cb])
    it = np.arange(3)
    new = dict(base_lr=0.001, max_lr=0.002, step_size=2)
    lrs = np.r_[policies.cyclic_lr(it, **CYCLE), policies.cyclic_lr(it, **new)]
    moms = np.r_[policies.cyclic_momentum(it, base_momentum=0.6, max_momentum=0.95, **CYCLE),
                 policies.cyclic_momentum(it, base_momentum=0.6, max_momentum=0.95, **new)]
    expected, _ = simulate(start, x, y, 4, 2, sgd(lrs, moms))
    _assert_weights(model, expected)
    h = cb.history_arrays()
    np.testing.assert_allclose(h["learning_rate"], lrs[h["iteration"]], rtol=FLOAT32)
    np.testing.assert_array_equal(h["iteration"], np.arange(6))  # every step, executions of 2 too


class _Logged:
    """Captures what TensorFlow logs (tf_keras warns through the `tensorflow` logger)."""

    def __enter__(self):
        import tensorflow as tf

        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.logger = tf.get_logger()
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)

    def slow(self):
        return "is slow compared to the batch time" in self.stream.getvalue()


def _digits_like(tf_keras, n=2048, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64), dtype=np.float32)
    y = rng.integers(0, 10, size=n).astype("int32")
    tf_keras.utils.set_random_seed(1)
    model = tf_keras.Sequential([tf_keras.Input((64,)), tf_keras.layers.Dense(32, activation="relu"),
                                 tf_keras.layers.Dense(10, activation="softmax")])
    model.compile(tf_keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, x, y


def test_no_slow_callback_warning_on_a_small_model(tf_keras):
    """tf_keras times the batch hooks of custom callbacks over the first batches and warns
    when they take longer than the step. A callback that does per-batch host work of the
    size of a step (the control) gets the warning; ours do not."""
    from kerasclr import callbacks
    from kerasclr.range_test import lr_range_test

    model, x, y = _digits_like(tf_keras)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # traced once
    start = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    step_time = (time.perf_counter() - start) / 32

    class Slow(tf_keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            time.sleep(3 * step_time)

    with _Logged() as control:
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[Slow()])
    assert control.slow()
    for make in (lambda: callbacks.CyclicLR(base_lr=1e-3, max_lr=0.1, step_size=16,
                                            momentum=(0.95, 0.85)),
                 lambda: callbacks.OneCycle(0.1)):
        with _Logged() as log:
            model.fit(x, y, batch_size=64, epochs=2, verbose=0, callbacks=[make()])
        assert not log.slow(), log.stream.getvalue()
    with _Logged() as log:
        lr_range_test(model, x, y, start_lr=1e-4, end_lr=1.0, num_iter=40, batch_size=64,
                      verbose=False)
    assert not log.slow(), log.stream.getvalue()


def test_clear_errors_at_the_start_of_fit(tf_keras):
    from kerasclr import callbacks

    x, y = make_data(n=8)
    schedule = tf_keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    cases = [(tf_keras.optimizers.SGD(schedule), callbacks.CyclicLR(), "schedule"),
             (tf_keras.optimizers.SGD(0.1), callbacks.CyclicLR(momentum=(0.95, 0.85)), "momentum=0"),
             (tf_keras.optimizers.legacy.SGD(0.1), callbacks.OneCycle(0.1, momentum=(0.95, 0.85)),
              "momentum=0"),
             (tf_keras.optimizers.Adagrad(0.1), callbacks.OneCycle(0.1, momentum=(0.95, 0.85)),
              "no momentum to cycle")]
    for opt, cb, message in cases:
        model = make_model(tf_keras, opt)
        before = _weights(model)
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])
        _assert_weights(model, before, rtol=0)


def test_saving_mid_fit_stores_the_optimizers_own_values(tf_keras, tmp_path):
    from kerasclr import callbacks

    x, y = make_data(n=12)
    for opt in (tf_keras.optimizers.Adam(0.1), tf_keras.optimizers.legacy.SGD(0.1, momentum=0.9)):
        model = make_model(tf_keras, opt)
        name = type(opt).__module__.split(".")[-2]
        path = str(tmp_path / f"{name}.h5")
        savers = [tf_keras.callbacks.ModelCheckpoint(path, save_freq=2),
                  # a TensorFlow checkpoint (the optimizer's tracked variables)
                  tf_keras.callbacks.ModelCheckpoint(str(tmp_path / f"{name}-ckpt"),
                                                     save_weights_only=True, save_freq=2)]
        model.fit(x, y, batch_size=4, epochs=2, verbose=0,
                  callbacks=[callbacks.OneCycle(0.1, momentum=(0.95, 0.85))] + savers)
        config = tf_keras.models.load_model(path).optimizer.get_config()
        attr = "beta_1" if "beta_1" in config else "momentum"
        assert config[attr] == pytest.approx(0.9)
        assert os.path.exists(str(tmp_path / f"{name}-ckpt.index"))


# --------------------------------------------------------------------------- #
# The range test
# --------------------------------------------------------------------------- #
RANGE_OPTIMIZERS = {
    "sgd_momentum": lambda k: k.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "adam": lambda k: k.optimizers.Adam(learning_rate=1e-3),
    "legacy_sgd_momentum": lambda k: k.optimizers.legacy.SGD(learning_rate=0.01, momentum=0.9),
    "legacy_adam": lambda k: k.optimizers.legacy.Adam(learning_rate=1e-3),
}


def _hyper(model):
    config = model.optimizer.get_config()
    return {k: v for k, v in config.items() if k in ("learning_rate", "momentum", "beta_1",
                                                      "weight_decay")}


def _trained(model, x, y):
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model


@pytest.mark.parametrize("opt_name", list(RANGE_OPTIMIZERS))
@pytest.mark.parametrize("ending", ["completed", "diverged", "nan", "error", "interrupt"])
def test_range_test_restores_bit_for_bit(tf_keras, opt_name, ending):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _trained(_model(tf_keras, RANGE_OPTIMIZERS[opt_name](tf_keras)), x, y)
    before, hyper = _state(model), _hyper(model)
    kwargs = dict(start_lr=1e-5, end_lr=1e-3, num_iter=12, batch_size=16, verbose=False)
    if ending == "diverged":
        kwargs.update(start_lr=1e-3, end_lr=1e4, smooth=0.0)
    if ending == "nan":
        x = x.copy()
        x[40] = np.nan
        kwargs.update(shuffle=False)
    if ending in ("error", "interrupt"):
        error = RuntimeError("boom") if ending == "error" else KeyboardInterrupt()
        raiser = _RaiseAt(tf_keras, 4, error, before)
        with pytest.raises(type(error)):
            lr_range_test(model, x, y, callbacks=[raiser], **kwargs)
        assert type(raiser).changed is True
    else:
        result = lr_range_test(model, x, y, **kwargs)
        assert {r["stop_reason"] for r in result["runs"]} == {ending}
    _assert_same_state(before, _state(model))
    assert _hyper(model) == hyper
    model.fit(x[:32], y[:32], batch_size=16, verbose=0)


@pytest.mark.parametrize("opt_name", ["adam", "legacy_adam"])
def test_range_test_leaves_an_unbuilt_optimizer_unbuilt(tf_keras, opt_name, tmp_path):
    """Equivalent to never having run: the next fit matches an untouched twin bit for bit,
    and the optimizer can still be checkpointed (TensorFlow refuses lists it tracks once an
    element was deleted)."""
    from kerasclr import training
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _model(tf_keras, RANGE_OPTIMIZERS[opt_name](tf_keras), seed=3, extras=False)
    twin = _model(tf_keras, RANGE_OPTIMIZERS[opt_name](tf_keras), seed=3, extras=False)
    assert not training.optimizer_built(model.optimizer)
    weights = [w.copy() for w in model.get_weights()]
    lr_range_test(model, x, y, start_lr=1e-5, end_lr=1.0, num_iter=10, batch_size=16, verbose=False)
    assert not training.optimizer_built(model.optimizer)
    for a, b in zip(weights, model.get_weights()):
        assert np.array_equal(a, b)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    twin.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    _assert_same_state(_state(twin), _state(model), same_model=False)
    model.save_weights(str(tmp_path / "ckpt"))


def test_range_test_losses_and_learning_rates_are_the_true_ones(tf_keras):
    """Keras 3's test on a Keras 2 model: each recorded loss is its batch's MSE computed
    there, the validation loss (Keras 2's own path) that of the first validation batches."""
    test_range_test.test_recorded_losses_equal_direct_computation(tf_keras)


@pytest.mark.parametrize("family", ["new", "legacy"])
def test_range_test_learning_rate_really_applied_each_step(tf_keras, family):
    """Keras 3's test (w <- w (1 - 2 lr_i) exactly) on Keras 2, whose optimizers have their
    learning rate set before each batch."""
    test_range_test.test_learning_rate_really_applied_each_step(_keras2(tf_keras, family),
                                                                "variable")


def test_range_test_input_kinds(tf_keras):
    """Arrays, a Python generator (what fit_generator() takes) and tf.data."""
    import tensorflow as tf

    from kerasclr.range_test import lr_range_test

    x, y = _data(n=64)
    model = _trained(_model(tf_keras, RANGE_OPTIMIZERS["adam"](tf_keras), extras=False), x, y)
    before = _state(model)
    kwargs = dict(start_lr=1e-4, end_lr=1e-2, num_iter=10, verbose=False)

    def generator(n):
        for i in range(n):
            j = i % 4
            yield x[j * 16:(j + 1) * 16], y[j * 16:(j + 1) * 16]

    assert lr_range_test(model, x, y, batch_size=16, **kwargs)["runs"][0]["steps"] == 10
    assert lr_range_test(model, generator(20), **kwargs)["runs"][0]["steps"] == 10
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    assert lr_range_test(model, dataset, **kwargs)["runs"][0]["steps"] == 10
    short = lr_range_test(model, generator(6), **kwargs)["runs"][0]
    assert (short["stop_reason"], short["steps"]) == ("exhausted", 6)
    _assert_same_state(before, _state(model))


@pytest.mark.parametrize("family", ["new", "legacy"])
def test_range_test_grid_and_steps_per_execution(tf_keras, family):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    opt = _keras2(tf_keras, family).optimizers.SGD(learning_rate=0.01, momentum=0.9)
    model = _model(tf_keras, opt, extras=False)
    model.compile(opt, loss="mse", steps_per_execution=2)
    model = _trained(model, x, y)
    before, hyper = _state(model), _hyper(model)
    kwargs = dict(start_lr=1e-3, end_lr=3.0, num_iter=15, batch_size=16, shuffle=False,
                  verbose=False)
    plain = lr_range_test(model, x, y, **kwargs)
    wd = [0.0, 0.5] if family == "new" else None  # legacy optimizers have no weight_decay
    grid = lr_range_test(model, x, y, weight_decay=wd, momentum=[0.9, 0.0], **kwargs)
    assert all(r["steps"] > 5 for r in grid["runs"])  # one event per step, not per execution
    hist = {k: np.asarray(v) for k, v in grid["history"].items()}
    mask = hist["momentum"] == 0.9
    if wd is not None:
        mask &= hist["weight_decay"] == 0.0
    np.testing.assert_allclose(hist["loss"][mask], np.asarray(plain["history"]["loss"])[:mask.sum()],
                               rtol=1e-6)
    other = hist["loss"][hist["momentum"] == 0.0][:mask.sum()]
    assert other[0] == hist["loss"][mask][0] and not np.array_equal(other, hist["loss"][mask][:len(other)])
    _assert_same_state(before, _state(model))
    assert _hyper(model) == hyper
    assert int(model.steps_per_execution.numpy()) == 2


def test_range_test_learning_rate_schedule_is_put_back(tf_keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    for make in (tf_keras.optimizers.SGD, tf_keras.optimizers.legacy.SGD):
        schedule = tf_keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
        model = _trained(_model(tf_keras, make(schedule), extras=False), x, y)
        before = _state(model)
        result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=1.0, num_iter=8, batch_size=16,
                               verbose=False)
        assert model.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
        _assert_same_state(before, _state(model))
        assert result["history"]["lr"][0] == pytest.approx(1e-4)


def test_range_test_refuses_an_uncompiled_model(tf_keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=32)
    model = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compiled"):
        lr_range_test(model, x, y, verbose=False)
    model.compile(tf_keras.optimizers.legacy.SGD(0.01), "mse")
    with pytest.raises(ValueError, match="momentum=0"):
        lr_range_test(model, x, y, momentum=[0.9], verbose=False)


@pytest.mark.parametrize("name", ["CyclicSchedule", "OneCycleSchedule"])
def test_a_keras_3_schedule_in_a_keras_2_optimizer_says_what_to_use(tf_keras, name):
    import kerasclr

    schedule = (kerasclr.CyclicSchedule(1e-3, 1e-2, step_size=4) if name == "CyclicSchedule"
                else kerasclr.OneCycleSchedule(total_steps=10, max_lr=0.1))
    message = r"Keras 2 \(tf_keras\) optimizer cannot use one.*callback_cyclic_lr\(\)"
    with pytest.raises(TypeError, match=message):
        tf_keras.optimizers.SGD(learning_rate=schedule)
    # A legacy optimizer takes any callable, and calls it (with no step) in the first update.
    model = make_model(tf_keras, tf_keras.optimizers.legacy.SGD(learning_rate=schedule))
    before = _weights(model)
    x, y = make_data(n=8)
    with pytest.raises(TypeError, match=message):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    _assert_weights(model, before, rtol=0)
    # A Keras 3 optimizer still takes it, and the value at step 0 is the policy's.
    import keras

    assert float(keras.optimizers.SGD(learning_rate=schedule).learning_rate) == pytest.approx(
        float(schedule(0)), rel=1e-6)
