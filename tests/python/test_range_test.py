"""lr_range_test() against the truth: bitwise restoration, an analytic divergence point,
directly computed losses. Runs on every backend (keras marker)."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _data(n=96, d=4, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    w = np.arange(1, d + 1, dtype="float32") / d
    y = (x @ w + 0.3 + noise * rng.normal(size=n)).astype("float32")[:, None]
    return x, y


def _model(keras, optimizer, seed=1, extras=True):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="tanh")]
    if extras:  # non-trainable state (batch-norm statistics) and a dropout seed generator
        layers += [keras.layers.BatchNormalization(), keras.layers.Dropout(0.1)]
    layers += [keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _state(model):
    from kerasclr.state import state_arrays

    return state_arrays(model)


def _assert_same_state(before, after, same_model=True):
    if same_model:
        assert list(before) == list(after)
    assert len(before) == len(after)
    for (key, a), b in zip(before.items(), after.values()):
        assert a.dtype == b.dtype, key
        assert np.array_equal(a, b, equal_nan=True), key


def _hyper(model):
    opt = model.optimizer
    return (type(opt._learning_rate).__name__, float(np.asarray(opt.learning_rate)),
            opt.weight_decay, getattr(opt, "momentum", None), getattr(opt, "beta_1", None))


def _trained(keras, model, x, y):
    """A model that has trained (optimizer built, non-zero slots, iterations > 0)."""
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model


class _RaiseAt:
    """A callback raising `error` at batch `at`, after checking the model did change."""

    def __new__(cls, keras, at, error, before):
        from kerasclr.state import state_arrays

        class Raiser(keras.callbacks.Callback):
            changed = None

            def on_train_batch_end(self, batch, logs=None):
                if batch == at:
                    if hasattr(self.model, "jax_state_sync"):
                        self.model.jax_state_sync()
                    now = state_arrays(self.model)
                    Raiser.changed = any(not np.array_equal(now[k], before[k]) for k in before)
                    raise error

        return Raiser()


OPTIMIZERS = {
    "sgd_momentum": lambda k: k.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "adam": lambda k: k.optimizers.Adam(learning_rate=1e-3),
}


# --------------------------------------------------------------------------- #
# Restoration in the five endings
# --------------------------------------------------------------------------- #
# With a grid the train step is traced afresh for each value; without one the model's
# own compiled step is reused (see lr_range_test): both are tested.
RETRACE = ["own_step", "fresh_trace"]


@pytest.mark.parametrize("trace", RETRACE)
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("ending", ["completed", "diverged", "nan", "error", "interrupt"])
def test_model_and_optimizer_restored_bit_for_bit(keras, opt_name, ending, trace):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _trained(keras, _model(keras, OPTIMIZERS[opt_name](keras)), x, y)
    before, hyper = _state(model), _hyper(model)
    kwargs = dict(start_lr=1e-5, end_lr=1e-3, num_iter=12, batch_size=16, verbose=False)
    if trace == "fresh_trace":
        kwargs["weight_decay"] = [0.0, 0.01]
    if ending == "diverged":
        kwargs.update(start_lr=1e-3, end_lr=1e4, smooth=0.0)
    if ending == "nan":
        x = x.copy()
        x[40] = np.nan  # batch 2 (samples 32..47) gives a NaN loss
        kwargs.update(shuffle=False)
    if ending in ("error", "interrupt"):
        error = RuntimeError("boom") if ending == "error" else KeyboardInterrupt()
        raiser = _RaiseAt(keras, 4, error, before)
        with pytest.raises(type(error)):
            lr_range_test(model, x, y, callbacks=[raiser], **kwargs)
        assert type(raiser).changed is True  # there was something to restore
    else:
        result = lr_range_test(model, x, y, **kwargs)
        assert {r["stop_reason"] for r in result["runs"]} == {ending}
        if ending == "completed":
            assert {r["steps"] for r in result["runs"]} == {12}
    _assert_same_state(before, _state(model))
    assert _hyper(model) == hyper
    assert model.train_function is not None
    # and the model still trains as before: one more epoch from here is finite
    model.fit(x[:32] if ending != "nan" else x[:32], y[:32], batch_size=16, verbose=0)


def test_an_abandoned_run_is_restored_by_restore_unfinished(keras, monkeypatch):
    """What R's wrappers do when an interrupt unwinds a run without running its `finally`."""
    from kerasclr import range_test

    x, y = _data()
    model = _trained(keras, _model(keras, OPTIMIZERS["sgd_momentum"](keras)), x, y)
    before = _state(model)

    class Abandoned(BaseException):
        pass

    class Abandon(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                raise Abandoned()

    class NeverRemoved(list):  # as if the `finally` never ran: the snapshot stays registered
        def remove(self, item):
            pass

    unfinished = NeverRemoved()
    monkeypatch.setattr(range_test, "_UNFINISHED", unfinished)
    with monkeypatch.context() as patch:
        patch.setattr(range_test.ModelState, "restore", lambda self, variables=True: None)
        with pytest.raises(Abandoned):
            range_test.lr_range_test(model, x, y, num_iter=12, batch_size=16, verbose=False,
                                     callbacks=[Abandon()])
    assert len(unfinished) == 1
    assert not all(np.array_equal(a, b) for a, b in zip(before.values(), _state(model).values()))
    assert range_test.restore_unfinished() == 1
    _assert_same_state(before, _state(model))
    assert range_test.restore_unfinished() == 0  # nothing left


def test_restore_false_keeps_weights_but_resets_hyperparameters(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _trained(keras, _model(keras, OPTIMIZERS["sgd_momentum"](keras)), x, y)
    before, hyper = _state(model), _hyper(model)
    lr_range_test(model, x, y, start_lr=1e-4, end_lr=1e-2, num_iter=6, batch_size=16,
                  momentum=[0.5], restore=False, verbose=False)
    after = _state(model)
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert _hyper(model) == hyper


@pytest.mark.parametrize("trace", RETRACE)
def test_unbuilt_optimizer_is_left_unbuilt_and_trains_as_a_fresh_one(keras, trace):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _model(keras, OPTIMIZERS["adam"](keras), seed=3, extras=False)
    twin = _model(keras, OPTIMIZERS["adam"](keras), seed=3, extras=False)
    assert not model.optimizer.built
    n_opt_vars = len(model.optimizer.variables)
    weights = _state(model)
    grid = dict(momentum=[0.8, 0.9]) if trace == "fresh_trace" else {}
    lr_range_test(model, x, y, start_lr=1e-5, end_lr=1.0, num_iter=10, batch_size=16, verbose=False,
                  **grid)
    assert not model.optimizer.built
    assert len(model.optimizer.variables) == n_opt_vars
    assert not hasattr(model.optimizer, "_momentums") or not model.optimizer._momentums
    _assert_same_state(weights, _state(model))
    # Equivalent to never having run: the next fit matches an untouched twin bit for bit.
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    twin.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    _assert_same_state(_state(twin), _state(model), same_model=False)


def test_learning_rate_schedule_is_put_back(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
    model = _trained(keras, _model(keras, keras.optimizers.SGD(schedule), extras=False), x, y)
    before = _state(model)
    result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=1.0, num_iter=8, batch_size=16,
                           verbose=False)
    assert model.optimizer._learning_rate is schedule
    _assert_same_state(before, _state(model))
    assert result["history"]["lr"][0] == pytest.approx(1e-4)


# --------------------------------------------------------------------------- #
# Truth: the divergence point of gradient descent on least squares
# --------------------------------------------------------------------------- #
def _least_squares(n, seed):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, 3)) * np.array([1.0, 2.0, 0.5])).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5]) + 1.0 + 0.5 * rng.normal(size=n)).astype("float32")[:, None]
    a = np.c_[x.astype(np.float64), np.ones(n)]  # the bias is a weight too
    big_l = np.linalg.eigvalsh(2 * a.T @ a / n).max()  # Hessian of mean((a w - y)^2)
    return x, y, 2 / big_l


def _linear_model(keras):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.01), loss="mse")  # plain SGD, no momentum
    return model


@pytest.mark.parametrize("smooth, factor", [(0.0, 3.0), (0.98, 4.0)])
@pytest.mark.parametrize("seed", [7, 8])
def test_divergence_matches_the_least_squares_stability_bound(keras, seed, smooth, factor):
    """Gradient descent on mean((Xw + b - y)^2) is stable iff lr < 2 / L, L the largest
    eigenvalue of the Hessian H = 2 A^T A / n, A = [X, 1]. Large batches (1000 of 4000
    samples) keep the batch Hessians close to H."""
    from kerasclr.range_test import lr_range_test

    x, y, bound = _least_squares(4000, seed)
    result = lr_range_test(_linear_model(keras), x, y, start_lr=1e-4, end_lr=10, num_iter=100,
                           batch_size=1000, smooth=smooth, verbose=False)
    run = result["runs"][0]
    lrs = np.asarray(result["history"]["lr"])
    assert run["stop_reason"] == "diverged"
    stop_lr = lrs[run["steps"] - 1]
    # Detected above the bound, and soon after it: the loss has to grow 5-fold first,
    # and the smoothed loss lags the raw one (measured: 2.0-2.4x the bound raw, 2.8-3.5x
    # smoothed, over the three backends).
    assert bound < stop_lr < factor * bound, (bound, stop_lr)
    for name, lr in result["suggestions"].items():
        assert lr < bound, (name, lr, bound)
    assert result["lr_range"][1] < bound


def test_full_batch_gradient_descent_contracts_below_the_bound(keras):
    """Full batch, no smoothing: every step below the bound lowers the loss, and the test
    stops past the bound. (It stops late, about 5x the bound: the stable phase shrinks the
    error along the top eigenvector to rounding level, and it must regrow first.)"""
    from kerasclr.range_test import lr_range_test

    x, y, bound = _least_squares(200, 7)
    result = lr_range_test(_linear_model(keras), x, y, start_lr=1e-4, end_lr=10, num_iter=100,
                           batch_size=200, smooth=0.0, verbose=False)
    lrs = np.asarray(result["history"]["lr"])
    losses = np.asarray(result["history"]["loss"])
    stable = lrs < bound
    assert np.all(np.diff(losses[stable]) <= 1e-5 * losses[stable][:-1])
    assert result["runs"][0]["stop_reason"] == "diverged"
    assert bound < lrs[-1] < 8 * bound


# --------------------------------------------------------------------------- #
# Truth: the recorded losses are the batches' own losses
# --------------------------------------------------------------------------- #
def _mse(model, xb, yb):
    w = [np.asarray(v, dtype=np.float64) for v in model.get_weights()]
    pred = xb.astype(np.float64) @ w[0] + w[1]
    return float(np.mean((pred - yb) ** 2))


def test_recorded_losses_equal_direct_computation(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=100)  # batches of 32: 32, 32, 32, 4 -> cycled over 3 epochs
    xv, yv = _data(n=40, seed=5)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    result = lr_range_test(model, x, y, start_lr=1e-12, end_lr=1e-11, num_iter=10, batch_size=32,
                           shuffle=False, smooth=0.9, validation_data=(xv, yv), val_batches=2,
                           verbose=False)
    starts = [0, 32, 64, 96] * 3
    expected = [_mse(model, x[s:s + 32], y[s:s + 32]) for s in starts[:10]]
    np.testing.assert_allclose(result["history"]["loss"], expected, rtol=2e-5)
    # bias-corrected smoothing, computed here from the expected losses
    avg, smoothed = 0.0, []
    for i, loss in enumerate(expected):
        avg = 0.9 * avg + 0.1 * loss
        smoothed.append(avg / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result["history"]["smoothed_loss"], smoothed, rtol=2e-5)
    # validation loss: the first two batches (32 + 8 samples) of the validation data
    val = _mse(model, xv, yv)
    np.testing.assert_allclose(result["history"]["val_loss"], [val] * 10, rtol=2e-5)
    # the learning rates asked for
    want = 1e-12 * (10.0 ** (np.arange(10) / 9))
    np.testing.assert_allclose(result["history"]["lr"], want, rtol=1e-12)


@pytest.mark.parametrize("trace", RETRACE + ["schedule"])
def test_learning_rate_really_applied_each_step(keras, trace):
    """One weight, loss (w x - 0)^2 with x = 1: SGD gives w <- w (1 - 2 lr_i) exactly.

    The model has trained before (its own step is compiled); a learning-rate schedule
    is replaced by the test's rates (a fresh trace).
    """
    from kerasclr.range_test import lr_range_test

    x = np.ones((8, 1), "float32")
    y = np.zeros((8, 1), "float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, use_bias=False, kernel_initializer="ones")])
    lr = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5) if trace == "schedule" else 0.1
    model.compile(keras.optimizers.SGD(learning_rate=lr), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    w0 = float(model.get_weights()[0][0, 0])
    assert w0 == pytest.approx(0.8)
    # Batches of 4: two steps per epoch, so rates also change within an epoch (where the JAX
    # fit loop carries the optimizer's variables itself).
    result = lr_range_test(model, x, y, start_lr=0.01, end_lr=0.3, num_iter=6, step_mode="linear",
                           batch_size=4, smooth=0.0, verbose=False,
                           weight_decay=[0.0] if trace == "fresh_trace" else None)
    lrs = 0.01 + (0.3 - 0.01) * np.arange(6) / 5
    w, expected = w0, []
    for lr in lrs:
        expected.append(w * w)  # the loss of the batch, before the update
        w *= 1 - 2 * lr
    np.testing.assert_allclose(result["history"]["loss"], expected, rtol=1e-5)
    assert float(model.get_weights()[0][0, 0]) == w0  # restored


# --------------------------------------------------------------------------- #
# Grids, input kinds, errors
# --------------------------------------------------------------------------- #
def test_grid_runs_start_from_the_same_state(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _trained(keras, _model(keras, OPTIMIZERS["sgd_momentum"](keras), extras=False), x, y)
    kwargs = dict(start_lr=1e-3, end_lr=3.0, num_iter=15, batch_size=16, shuffle=False, verbose=False)
    plain = lr_range_test(model, x, y, **kwargs)  # the model's own compiled step
    grid = lr_range_test(model, x, y, weight_decay=[0.0, 0.5], momentum=[0.9, 0.0], **kwargs)
    hist = grid["history"]
    assert [(r["weight_decay"], r["momentum"]) for r in grid["runs"]] == [
        (0.0, 0.9), (0.0, 0.0), (0.5, 0.9), (0.5, 0.0)]
    wd, mom, loss = (np.asarray(hist[k]) for k in ("weight_decay", "momentum", "loss"))
    first = [loss[(wd == a) & (mom == b)][0] for a, b in [(0, 0.9), (0, 0), (0.5, 0.9), (0.5, 0)]]
    assert len(set(first)) == 1  # the same start: the same first batch loss
    # wd 0 / momentum 0.9 is the optimizer as compiled: the same curve as without a grid
    same = (wd == 0) & (mom == 0.9)
    np.testing.assert_array_equal(loss[same], np.asarray(plain["history"]["loss"])[:same.sum()])
    # the other settings change the curve
    for a, b in [(0, 0), (0.5, 0.9)]:
        other = loss[(wd == a) & (mom == b)]
        k = min(len(other), same.sum())
        assert not np.array_equal(other[:k], loss[same][:k])


def test_other_compiled_functions_are_left_alone(keras):
    """A range test that traces its own steps (a grid, the hook) keeps every other trace.

    The user's own jitted function keeps its compiled cache (JAX), and the model's own
    train step still trains with its own hyperparameters afterwards: a twin model
    trained alongside ends bit for bit the same.
    """
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    models = [_trained(keras, _model(keras, OPTIMIZERS["sgd_momentum"](keras), extras=False), x, y)
              for _ in range(2)]
    jitted = None
    if keras.backend.backend() == "jax":
        import jax

        jitted = jax.jit(lambda a: a * 2.0 + 1.0)
        jitted(np.ones(3, "float32"))
        jitted(np.ones((2, 2), "float32"))
        cached = jitted._cache_size()
        assert cached == 2
    result = lr_range_test(models[0], x, y, start_lr=1e-3, end_lr=1.0, num_iter=6, batch_size=16,
                           weight_decay=[0.5], momentum=[0.0, 0.5], verbose=False)
    assert [r["steps"] for r in result["runs"]] == [6, 6]
    assert "train_step" not in vars(models[0])  # the model's own method again
    if jitted is not None:
        assert jitted._cache_size() == cached
    for model in models:
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.backends("jax")
def test_jax_reuses_the_models_compiled_step(keras):
    """Without a grid, the JAX range test runs the model's own compiled train step:
    nothing is traced or compiled (the rates enter the step as its own learning rate
    does). A first test, on another model, compiles the one helper it has."""
    import jax

    from kerasclr.range_test import lr_range_test

    x, y = _data()
    events = []
    # Stays registered (JAX has no public way to remove one): it only appends to `events`.
    jax.monitoring.register_event_duration_secs_listener(lambda name, secs, **kw: events.append(name))
    for _ in range(2):
        model = _trained(keras, _model(keras, OPTIMIZERS["sgd_momentum"](keras), extras=False), x, y)
        first = len(events)
        result = lr_range_test(model, x, y, start_lr=1e-3, end_lr=1.0, num_iter=8,
                               batch_size=16, verbose=False)
        assert result["runs"][0]["steps"] == 8
    compiled = events[first:]
    assert "/jax/core/compile/backend_compile_duration" not in compiled, compiled


def test_momentum_grid_needs_momentum_buffers(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _trained(keras, _model(keras, keras.optimizers.SGD(0.01), extras=False), x, y)
    with pytest.raises(ValueError, match="momentum=0"):
        lr_range_test(model, x, y, num_iter=5, momentum=[0.9], verbose=False)


def test_input_kinds(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=64)
    model = _model(keras, OPTIMIZERS["adam"](keras), extras=False)
    kwargs = dict(start_lr=1e-4, end_lr=1e-2, num_iter=10, verbose=False)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

    res = lr_range_test(model, Batches(), **kwargs)  # 4 batches, cycled
    assert res["runs"][0]["steps"] == 10

    def generator(n):
        for i in range(n):
            j = i % 4
            yield x[j * 16:(j + 1) * 16], y[j * 16:(j + 1) * 16]

    assert lr_range_test(model, generator(20), **kwargs)["runs"][0]["steps"] == 10
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches, cycled
    assert lr_range_test(model, dataset, **kwargs)["runs"][0]["steps"] == 10
    short = lr_range_test(model, generator(6), **kwargs)["runs"][0]
    assert (short["stop_reason"], short["steps"]) == ("exhausted", 6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(start_lr=1.0, end_lr=0.1), "start_lr"),
    (dict(start_lr=0.0), "start_lr"),
    (dict(end_lr=-1.0), "end_lr"),
    (dict(num_iter=4), "num_iter"),
    (dict(step_mode="cos"), "step_mode"),
    (dict(smooth=1.0), "smooth"),
    (dict(weight_decay=[-1.0]), "weight_decay"),
    (dict(epochs=3), "epochs"),
])
def test_argument_errors(keras, kwargs, match):
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=32)
    model = _model(keras, OPTIMIZERS["adam"](keras), extras=False)
    with pytest.raises(ValueError, match=match):
        lr_range_test(model, x, y, verbose=False, **kwargs)


def test_uncompiled_model_and_mismatched_lengths(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compiled"):
        lr_range_test(model, x, y, verbose=False)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="same number of samples"):
        lr_range_test(model, x, y[:20], verbose=False)


def test_loss_scale_optimizer_and_steps_per_execution_are_restored(keras):
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    inner = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    model = _model(keras, keras.optimizers.LossScaleOptimizer(inner), extras=False)
    model = _trained(keras, model, x, y)
    if keras.backend.backend() != "torch":  # torch allows steps_per_execution=1 only
        model.steps_per_execution = 2
        model.train_function = None
    spe = model.steps_per_execution
    before = _state(model)
    result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=1.0, num_iter=8, batch_size=16,
                           weight_decay=[0.01], momentum=[0.5], verbose=False)
    assert result["runs"][0]["steps"] == 8  # one event per step, not per execution
    _assert_same_state(before, _state(model))
    assert model.steps_per_execution == spe
    assert (inner.weight_decay, inner.momentum) == (None, 0.9)


def test_unbuilt_model_keeps_its_initial_weights(keras):
    """A model without an input shape is built by the test's fit(); it cannot be unbuilt,
    so its new weights are restored to their initial values (what fit() gave them)."""
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(), "mse")
    initial = {}

    class Grab(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            initial["weights"] = [np.array(w) for w in self.model.get_weights()]

    result = lr_range_test(model, x, y, num_iter=6, batch_size=16, verbose=False, callbacks=[Grab()])
    assert result["runs"][0]["steps"] == 6
    assert model.built and not model.optimizer.built
    for a, b in zip(initial["weights"], model.get_weights()):
        assert np.array_equal(a, b)


def test_r_generator_batches_are_drawn_on_the_main_thread_only(keras):
    """R runs on the main thread only: a source made by R/data.R's r_generator() (here a
    Python iterator standing in for reticulate's) is never called from fit()'s data thread,
    where TensorFlow reads generators, and gives the same curve as the plain generator."""
    import threading

    from kerasclr._r_bridge import generator_of
    from kerasclr.range_test import lr_range_test

    x, y = _data(n=64)
    callers = []

    def batches():
        i = 0
        while True:
            callers.append(threading.current_thread() is threading.main_thread())
            j = i % 4
            i += 1
            yield x[j * 16:(j + 1) * 16], y[j * 16:(j + 1) * 16]

    kwargs = dict(start_lr=1e-4, end_lr=1e-2, num_iter=12, verbose=False)
    model = _model(keras, OPTIMIZERS["adam"](keras), extras=False)
    reference = lr_range_test(model, batches(), **kwargs)
    if keras.backend.backend() == "tensorflow":
        assert not all(callers)  # the plain generator is read from TensorFlow's thread
    callers.clear()
    res = lr_range_test(model, generator_of(batches()), **kwargs)
    assert callers and all(callers)
    assert res["runs"][0]["steps"] == 12
    np.testing.assert_array_equal(res.history["loss"], reference.history["loss"])
