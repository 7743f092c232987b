"""fit_one_cycle(): one call equals the range test and the one-cycle fit done by hand.

Runs on every backend (keras marker)."""

import numpy as np
import pytest

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _data(n=96, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ np.arange(1, d + 1, dtype="float32") / d + 0.1 * rng.normal(size=n)).astype("float32")
    return x, y[:, None]


def _model(keras, optimizer, seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


OPTIMIZERS = {
    "sgd_momentum": lambda k: k.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "adam": lambda k: k.optimizers.Adam(),
    "rmsprop": lambda k: k.optimizers.RMSprop(),
}
RANGE_TEST = dict(start_lr=1e-5, end_lr=10.0, num_iter=30)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_one_call_equals_the_two_steps_by_hand(keras, opt_name):
    from kerasclr.callbacks import OneCycle
    from kerasclr.pipeline import fit_one_cycle
    from kerasclr.range_test import lr_range_test

    x, y = _data()
    model = _model(keras, OPTIMIZERS[opt_name](keras))
    result = fit_one_cycle(model, x, y, epochs=3, batch_size=16, range_test_args=RANGE_TEST,
                           verbose=0)

    by_hand = _model(keras, OPTIMIZERS[opt_name](keras))
    test = lr_range_test(by_hand, x, y, batch_size=16, verbose=False, **RANGE_TEST)
    callback = OneCycle(max_lr=test)
    history = by_hand.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[callback])

    assert result.max_lr == test.lr_range[1] > 0
    assert result.range_test_steps == test.runs[0]["steps"]  # the curve fell: one test
    np.testing.assert_array_equal(result.range_test.history["loss"], test.history["loss"])
    for a, b in zip(model.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert result.history.history["loss"] == history.history["loss"]
    # Training started from the restored model: the optimizer's step 0, 3 epochs of 6 steps.
    iterations = result.one_cycle.history["iteration"]
    assert iterations[0] == 0 and len(iterations) == 18
    assert int(np.asarray(model.optimizer.iterations)) == 18
    lr = np.asarray(result.one_cycle.history["learning_rate"])
    assert lr.max() == pytest.approx(result.max_lr, rel=0.05)  # the peak of the cycle


def test_the_optimizer_momentum_is_the_range_tests(keras):
    # With the callback's defaults the momentum that the range test saw (the optimizer's
    # own) is the one training uses.
    from kerasclr.pipeline import fit_one_cycle

    x, y = _data()
    model = _model(keras, keras.optimizers.SGD(momentum=0.9))
    result = fit_one_cycle(model, x, y, epochs=2, batch_size=16, range_test_args=RANGE_TEST,
                           verbose=0)
    assert float(model.optimizer.momentum) == 0.9
    assert np.isnan(result.one_cycle.history["momentum"]).all()  # not cycled
    cycled = fit_one_cycle(_model(keras, keras.optimizers.SGD(momentum=0.9)), x, y, epochs=2,
                           batch_size=16, range_test_args=RANGE_TEST,
                           one_cycle_args=dict(momentum=(0.95, 0.85)), verbose=0)
    momentum = np.asarray(cycled.one_cycle.history["momentum"])
    assert momentum.max() == pytest.approx(0.95) and momentum.min() < 0.87


def test_given_max_lr_skips_the_range_test(keras):
    from kerasclr.pipeline import fit_one_cycle

    x, y = _data()
    model = _model(keras, keras.optimizers.SGD(momentum=0.9))
    result = fit_one_cycle(model, x, y, epochs=2, batch_size=32, max_lr=0.05, verbose=0)
    assert result.range_test is None and result.max_lr == 0.05
    assert result.one_cycle.history["iteration"][0] == 0 and len(result.history.history["loss"]) == 2
    assert max(result.one_cycle.history["learning_rate"]) == pytest.approx(0.05, rel=0.1)


def test_a_flat_curve_is_measured_again_with_three_times_the_steps(keras):
    # Inputs all zero and balanced targets in unshuffled batches: every gradient is 0,
    # the loss stays at 1.0, the curve is flat.
    from kerasclr import suggestions
    from kerasclr.pipeline import fit_one_cycle

    x = np.zeros((96, 4), dtype="float32")
    y = np.tile([[1.0], [-1.0]], (48, 1)).astype("float32")
    model = _model(keras, keras.optimizers.SGD(momentum=0.9))
    result = fit_one_cycle(model, x, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
                           range_test_args=dict(RANGE_TEST, shuffle=False))
    assert result.range_test.settings["num_iter"] == 90
    assert result.range_test_steps == 30 + 90
    h = result.range_test.history
    assert not suggestions.curve_fell(h["lr"], h["smoothed_loss"], num_iter=90)
    # Flat to the end: the turn-up rate is the last one fastai's trimming keeps.
    assert result.max_lr == pytest.approx(h["lr"][-6] / 6, rel=1e-12)


def test_dataset_input(keras):
    from kerasclr.pipeline import fit_one_cycle

    x, y = _data()

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)]

    model = _model(keras, keras.optimizers.Adam())
    result = fit_one_cycle(model, Batches(), epochs=2, range_test_args=RANGE_TEST, verbose=0)
    assert result.range_test.runs[0]["steps"] == 30  # the 6 batches cycled 5 times
    assert len(result.one_cycle.history["iteration"]) == 12


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "`epochs` must be a whole number >= 1"),
    (dict(epochs=2.5), "`epochs` must be a whole number >= 1"),
    (dict(range_test_args=dict(batch_size=8)), "must not set `batch_size`"),
    (dict(range_test_args=[1]), "must be a dict or None"),
    (dict(one_cycle_args=dict(max_lr=1.0)), "must not set `max_lr`"),
    (dict(one_cycle_args=dict(pct_start=2.0)), "pct_start"),
    (dict(max_lr=0.1, range_test_args=dict(num_iter=20)), "not both"),
    (dict(initial_epoch=1), "initial_epoch"),
])
def test_bad_arguments_fail_before_anything_trains(keras, kwargs, match):
    from kerasclr.pipeline import fit_one_cycle

    x, y = _data()
    model = _model(keras, keras.optimizers.SGD(momentum=0.9))
    kwargs = dict(dict(epochs=2, verbose=0), **kwargs)
    with pytest.raises(ValueError, match=match):
        fit_one_cycle(model, x, y, **kwargs)
    assert not model.optimizer.built or int(np.asarray(model.optimizer.iterations)) == 0


def test_a_curve_too_short_for_a_suggestion_is_a_clear_error(keras):
    from kerasclr.pipeline import fit_one_cycle

    x, y = _data()
    model = _model(keras, keras.optimizers.SGD(momentum=0.9))
    # Diverges at once: no point is left once fastai's trimming has cut both ends.
    with pytest.raises(ValueError, match="gave no learning rate"):
        fit_one_cycle(model, x, y, epochs=1, verbose=0,
                      range_test_args=dict(start_lr=1e3, end_lr=1e6, num_iter=10, smooth=0.0))
