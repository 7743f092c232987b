"""kerasclr.schedules on the current Keras backend (scripts/test.sh runs this file once per backend).

The schedules evaluate kerasclr.policies with keras.ops in float32; here they are compared
with the float64 NumPy vectors of the same policies (which test_policies.py checks against
the paper and PyTorch), serialized, saved in a model, and checked inside real train steps
by recomputing the SGD update by hand.
"""

import inspect
import json

import keras
import numpy as np
import pytest
from keras import ops

from kerasclr import policies
from kerasclr.schedules import CyclicSchedule, OneCycleSchedule

pytestmark = [
    pytest.mark.keras,
    # JAX without x64 turns the int64 step tensors of these tests into int32 (and warns).
    pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64:UserWarning"),
]

STEPS = np.arange(4000)
FLOAT32_TOL = 1e-6  # max abs error of the float32 schedules with max_lr = 1


@keras.saving.register_keras_serializable(package="kerasclr_tests")
def halving_scale(cycle):
    """triangular2 written as a custom, keras.ops-compatible scale function."""
    return ops.power(0.5, cycle - 1.0)


@keras.saving.register_keras_serializable(package="kerasclr_tests")
def slow_decay_scale(iteration):
    return 1.0 / ops.power(5.0, iteration * 1e-4)


# The same scale functions in NumPy, for the float64 reference vectors.
NUMPY_SCALE = {
    halving_scale: lambda c: 0.5 ** (c - 1.0),
    slow_decay_scale: lambda it: 1.0 / 5.0 ** (it * 1e-4),
}

CYCLIC_CONFIGS = {
    "triangular": {"mode": "triangular", "step_size": 250},
    "triangular2": {"mode": "triangular2", "step_size": 250},
    "exp_range": {"mode": "exp_range", "gamma": 0.9995, "step_size": 250},
    "sinus": {"mode": "sinus", "step_size": 250},
    "halfcosine": {"mode": "halfcosine", "step_size": 250},
    "short steps": {"mode": "sinus", "step_size": 3},
    "asymmetric": {"mode": "triangular2", "step_size_up": 100, "step_size_down": 400},
    "tail": {"step_size": 250, "tail": 40},
    "tail divisor": {"step_size": 250, "tail": 40, "tail_divisor": (2.0, 1.1)},
    "tail schedule": {"step_size": 250, "tail": 100, "tail_scope": "schedule", "total_iterations": 3500},
    "scale_fn cycle": {"step_size": 250, "scale_fn": halving_scale},
    "scale_fn iterations": {"step_size": 250, "scale_fn": slow_decay_scale, "scale_mode": "iterations"},
}

ONE_CYCLE_CONFIGS = {
    "defaults": {},
    "pct_start": {"pct_start": 0.1},
    "div factors": {"div_factor": 10.0, "final_div_factor": 100.0},
    "linear": {"anneal_strategy": "linear"},
    "three_phase": {"three_phase": True},
    "three_phase linear": {"three_phase": True, "anneal_strategy": "linear", "pct_start": 0.4},
    "fastai": {k: v for k, v in policies.ONE_CYCLE_PRESETS["fastai"].items() if "momentum" not in k},
}


def numpy_cyclic(steps, **kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("scale_fn") is not None:
        kwargs["scale_fn"] = NUMPY_SCALE[kwargs["scale_fn"]]
    return policies.cyclic_lr(steps, **kwargs)


def as_numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", list(CYCLIC_CONFIGS))
def test_cyclic_schedule_equals_the_numpy_policy(name):
    kwargs = dict(base_lr=0.001, max_lr=1.0, **CYCLIC_CONFIGS[name])
    schedule = CyclicSchedule(**kwargs)
    expected = numpy_cyclic(STEPS, **kwargs)
    got = schedule(ops.convert_to_tensor(STEPS, dtype="int64"))
    assert ops.convert_to_numpy(got).dtype == np.float32
    assert np.abs(as_numpy(got) - expected).max() <= FLOAT32_TOL
    got32 = schedule(ops.convert_to_tensor(STEPS, dtype="int32"))
    assert np.abs(as_numpy(got32) - expected).max() <= FLOAT32_TOL


@pytest.mark.parametrize("name", list(ONE_CYCLE_CONFIGS))
def test_one_cycle_schedule_equals_the_numpy_policy(name):
    kwargs = dict(total_steps=3000, max_lr=1.0, **ONE_CYCLE_CONFIGS[name])
    schedule = OneCycleSchedule(**kwargs)
    expected = policies.one_cycle_lr(STEPS, **kwargs)  # STEPS go 1000 steps past the end
    got = as_numpy(schedule(ops.convert_to_tensor(STEPS, dtype="int64")))
    assert np.abs(got - expected).max() <= FLOAT32_TOL
    # After the last step its value is held: with PyTorch's convention, the final value
    # max_lr / (div_factor * final_div_factor); fastai's last step stops short of it.
    np.testing.assert_array_equal(got[3000:], got[2999])
    div, final_div = kwargs.get("div_factor", 25.0), kwargs.get("final_div_factor", 1e4)
    if kwargs.get("convention", "pytorch") == "pytorch":
        assert got[-1] == pytest.approx(1.0 / div / final_div, rel=1e-6)
    else:
        assert got[-1] > 1.0 / div / final_div


def test_schedule_accepts_scalar_steps_and_the_int64_iterations_variable():
    schedule = CyclicSchedule(base_lr=0.001, max_lr=0.1, step_size=7, mode="triangular2")
    expected = policies.cyclic_lr(np.arange(40), base_lr=0.001, max_lr=0.1, step_size=7, mode="triangular2")
    iterations = keras.Variable(0, dtype="int64", trainable=False, name="iterations")
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    for step in (0, 7, 13, 21, 39):
        iterations.assign(step)
        assert float(schedule(iterations)) == pytest.approx(expected[step], rel=1e-6)
        assert float(schedule(step)) == pytest.approx(expected[step], rel=1e-6)
        optimizer.iterations.assign(step)
        assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(expected[step], rel=1e-6)


# --------------------------------------------------------------------------- #
# Construction and serialization
# --------------------------------------------------------------------------- #
def constructor_arguments(cls):
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def test_cyclic_schedule_takes_the_arguments_of_the_policy():
    policy_args = [
        p for p in inspect.signature(policies.cyclic_lr).parameters if p not in ("iterations", "xp")
    ]
    assert constructor_arguments(CyclicSchedule) == policy_args
    defaults = {k: v.default for k, v in inspect.signature(policies.cyclic_lr).parameters.items()}
    for name, param in inspect.signature(CyclicSchedule.__init__).parameters.items():
        if name != "self":
            assert param.default == defaults[name], name


def test_one_cycle_schedule_arguments():
    assert constructor_arguments(OneCycleSchedule) == [
        "total_steps",
        "max_lr",
        "pct_start",
        "div_factor",
        "final_div_factor",
        "anneal_strategy",
        "three_phase",
        "convention",
    ]


SERIALIZABLE = [
    (CyclicSchedule, {"base_lr": 1e-4, "max_lr": 1e-2, "step_size": 50, "mode": "exp_range", "gamma": 0.999}),
    (
        CyclicSchedule,
        {
            "base_lr": 1e-4,
            "max_lr": 1e-2,
            "step_size_up": 20,
            "step_size_down": 80,
            "tail": 10,
            "tail_scope": "schedule",
            "tail_divisor": (1.5, 1.3),
            "total_iterations": 1000,
        },
    ),
    (CyclicSchedule, {"base_lr": 1e-4, "max_lr": 1e-2, "step_size": 50, "scale_fn": halving_scale}),
    (CyclicSchedule, {"step_size": 50, "scale_fn": slow_decay_scale, "scale_mode": "iterations"}),
    (
        OneCycleSchedule,
        {
            "total_steps": 500,
            "max_lr": 0.3,
            "pct_start": 0.2,
            "div_factor": 10.0,
            "final_div_factor": 1e3,
            "anneal_strategy": "linear",
            "three_phase": True,
        },
    ),
    (OneCycleSchedule, {"total_steps": 500, "max_lr": 0.3, "pct_start": 0.25, "convention": "fastai"}),
]


@pytest.mark.parametrize("cls, kwargs", SERIALIZABLE)
def test_get_config_is_the_constructor_arguments(cls, kwargs):
    schedule = cls(**kwargs)
    config = schedule.get_config()
    assert list(config) == constructor_arguments(cls)
    for name, value in config.items():
        assert hasattr(schedule, name)
        if name != "scale_fn":
            given = kwargs.get(name, inspect.signature(cls.__init__).parameters[name].default)
            assert value == (list(given) if isinstance(given, tuple) else given), name
    json.dumps(config)  # plain JSON: no lambdas, no tensors
    restored = cls.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    steps = ops.convert_to_tensor(np.arange(1200), dtype="int64")
    np.testing.assert_array_equal(as_numpy(restored(steps)), as_numpy(schedule(steps)))


@pytest.mark.parametrize("cls, kwargs", SERIALIZABLE)
def test_keras_serialization_round_trip(cls, kwargs):
    schedule = cls(**kwargs)
    serialized = keras.saving.serialize_keras_object(schedule)
    assert serialized["registered_name"] == f"kerasclr>{cls.__name__}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is cls
    assert restored.get_config() == schedule.get_config()
    if kwargs.get("scale_fn") is not None:
        assert restored.scale_fn is kwargs["scale_fn"]
    steps = ops.convert_to_tensor(np.arange(1200), dtype="int64")
    np.testing.assert_array_equal(as_numpy(restored(steps)), as_numpy(schedule(steps)))


def test_unregistered_scale_fn_cannot_be_saved_and_says_what_to_do():
    def my_scale(cycle):
        return 1.0 / cycle

    for scale_fn in (my_scale, lambda cycle: 1.0 / cycle):
        schedule = CyclicSchedule(step_size=10, scale_fn=scale_fn)  # usable ...
        assert float(schedule(25)) > 0
        with pytest.raises(ValueError, match="register_keras_serializable"):  # ... but not saved
            schedule.get_config()


def test_scale_fn_registered_in_a_custom_object_scope_round_trips():
    def scoped_scale(cycle):
        return 1.0 / cycle

    with keras.saving.custom_object_scope({"scoped_scale": scoped_scale}):
        schedule = CyclicSchedule(step_size=10, scale_fn=scoped_scale)
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert restored.scale_fn is scoped_scale


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"step_size": 0}, "step_size"),
        ({"base_lr": 0.1, "max_lr": 0.01}, "max_lr"),
        ({"mode": "cosine"}, "mode"),
        ({"tail": 3, "tail_scope": "schedule"}, "total_iterations"),
        ({"tail": 1.5}, "tail"),
        ({"scale_fn": "triangular"}, "scale_fn"),
    ],
)
def test_cyclic_schedule_validates_in_init(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        CyclicSchedule(**kwargs)


@pytest.mark.parametrize("bad_value", [float("nan"), 2.0])
def test_cyclic_schedule_checks_scale_fn_values_in_init(bad_value):
    def bad_scale(cycle):
        return ops.where(cycle >= 2, bad_value, 1.0)  # bad from the second cycle on

    with pytest.raises(ValueError, match=r"`scale_fn` must return values in \[0, 1\]"):
        CyclicSchedule(step_size=10, scale_fn=bad_scale)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"total_steps": 1, "max_lr": 0.1}, "total_steps"),
        ({"total_steps": 100, "max_lr": -0.1}, "max_lr"),
        ({"total_steps": 100, "max_lr": 0.1, "pct_start": 0.0}, "pct_start"),
        ({"total_steps": 100, "max_lr": 0.1, "anneal_strategy": "cosine"}, "anneal_strategy"),
        ({"total_steps": 100, "max_lr": 0.1, "div_factor": 0}, "div_factor"),
    ],
)
def test_one_cycle_schedule_validates_in_init(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        OneCycleSchedule(**kwargs)


# --------------------------------------------------------------------------- #
# In real training: the learning rate of each SGD update, and saving
# --------------------------------------------------------------------------- #
def linear_model(schedule, jit_compile):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse", jit_compile=jit_compile)
    return model


def regression_data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3).astype("float32")
    return x, y


def sgd_step_by_hand(kernel, bias, x, y, lr):
    """One SGD step (no momentum) on the mean squared error, in float64."""
    kernel, bias, x, y = (np.asarray(a, dtype=np.float64) for a in (kernel, bias, x, y))
    residual = x @ kernel + bias - y
    grad_kernel = 2.0 * x.T @ residual / residual.size
    grad_bias = 2.0 * residual.sum(axis=0) / residual.size
    return kernel - lr * grad_kernel, bias - lr * grad_bias


def check_updates_use_the_schedule(model, x, y, lr_by_step, first_step, n_steps):
    """Runs `n_steps` train steps and checks each weight update against lr_by_step[step]."""
    for step in range(first_step, first_step + n_steps):
        kernel, bias = (np.array(w) for w in model.get_weights())
        model.train_on_batch(x, y)
        new_kernel, new_bias = model.get_weights()
        want_kernel, want_bias = sgd_step_by_hand(kernel, bias, x, y, lr_by_step[step])
        np.testing.assert_allclose(new_kernel, want_kernel, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(new_bias, want_bias, rtol=2e-6, atol=2e-6)
        # The neighbouring steps' learning rates would not pass: the check can tell them apart.
        for other in (step - 1, step + 1):
            if 0 <= other < len(lr_by_step) and abs(lr_by_step[other] - lr_by_step[step]) > 1e-3:
                off_kernel, _ = sgd_step_by_hand(kernel, bias, x, y, lr_by_step[other])
                assert np.abs(off_kernel - new_kernel).max() > 1e-4
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == first_step + n_steps


TRAINING_SCHEDULES = {
    "cyclic": (
        {
            "base_lr": 0.01,
            "max_lr": 0.1,
            "step_size_up": 3,
            "step_size_down": 5,
            "mode": "triangular2",
            "tail": 2,
        },
        CyclicSchedule,
        policies.cyclic_lr,
    ),
    "one_cycle": (
        {"total_steps": 10, "max_lr": 0.2, "pct_start": 0.4, "three_phase": True},
        OneCycleSchedule,
        policies.one_cycle_lr,
    ),
}


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("kind", list(TRAINING_SCHEDULES))
def test_train_step_uses_the_schedule_learning_rate(kind, jit_compile):
    kwargs, cls, policy = TRAINING_SCHEDULES[kind]
    n_steps = 12
    lr_by_step = policy(np.arange(n_steps), **kwargs)
    model = linear_model(cls(**kwargs), jit_compile)
    x, y = regression_data()
    check_updates_use_the_schedule(model, x, y, lr_by_step, first_step=0, n_steps=n_steps)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("kind", list(TRAINING_SCHEDULES))
def test_eager_torch_evaluates_on_the_host_with_the_same_float32_values(kind):
    # Eager PyTorch: the scalar step is evaluated with NumPy (faster than keras.ops on
    # scalar tensors); a vector of steps takes keras.ops. Both give the float32 of the policy.
    import torch

    kwargs, cls, policy = TRAINING_SCHEDULES[kind]
    schedule = cls(**kwargs)
    steps = np.arange(10)
    vectorized = np.asarray(ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps, "int64"))))
    iterations = keras.Variable(0, dtype="int64", trainable=False)
    for step in steps:
        iterations.assign(int(step))
        value = schedule(iterations)
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.dim() == 0
        assert float(value) == pytest.approx(float(np.float32(policy(step, **kwargs))), rel=0, abs=0)
        assert float(value) == pytest.approx(float(vectorized[step]), rel=2e-7)
    # The host values are computed a block of steps at a time: across blocks, and after a
    # change of the schedule's arguments.
    for step in (4095, 4096, 123457, 3):
        iterations.assign(step)
        assert float(schedule(iterations)) == float(np.float32(policy(step, **kwargs)))
    schedule.max_lr = 0.3
    changed = dict(kwargs, max_lr=0.3)
    assert float(schedule(iterations)) == float(np.float32(policy(3, **changed)))


@pytest.mark.parametrize("scale_fn", [None, halving_scale])
def test_saved_model_reloads_the_schedule_and_continues(tmp_path, scale_fn):
    kwargs = {
        "base_lr": 0.01,
        "max_lr": 0.1,
        "step_size": 4,
        "mode": "triangular",
        "tail": 1,
        "scale_fn": scale_fn,
    }
    schedule = CyclicSchedule(**kwargs)
    model = linear_model(schedule, jit_compile=False)
    x, y = regression_data()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # 8 steps
    path = tmp_path / "clr_model.keras"
    model.save(path)

    reloaded = keras.saving.load_model(path)
    restored = reloaded.optimizer._learning_rate
    assert type(restored) is CyclicSchedule and restored is not schedule
    assert restored.get_config() == schedule.get_config()
    assert restored.scale_fn is scale_fn
    steps = ops.convert_to_tensor(np.arange(200), dtype="int64")
    np.testing.assert_array_equal(as_numpy(restored(steps)), as_numpy(schedule(steps)))
    np.testing.assert_array_equal(reloaded.get_weights()[0], model.get_weights()[0])
    assert int(ops.convert_to_numpy(reloaded.optimizer.iterations)) == 8

    # Training continues from step 8, with the schedule's learning rates for steps 8, 9, ...
    reference_kwargs = dict(kwargs, scale_fn=None if scale_fn is None else NUMPY_SCALE[scale_fn])
    lr_by_step = policies.cyclic_lr(np.arange(20), **reference_kwargs)
    check_updates_use_the_schedule(reloaded, x, y, lr_by_step, first_step=8, n_steps=4)


def test_saved_model_with_one_cycle_schedule(tmp_path):
    schedule = OneCycleSchedule(total_steps=20, max_lr=0.1, anneal_strategy="linear")
    model = linear_model(schedule, jit_compile=False)
    x, y = regression_data()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)  # 6 steps
    model.save(tmp_path / "one_cycle.keras")
    reloaded = keras.saving.load_model(tmp_path / "one_cycle.keras")
    assert reloaded.optimizer._learning_rate.get_config() == schedule.get_config()
    assert int(ops.convert_to_numpy(reloaded.optimizer.iterations)) == 6
    assert float(ops.convert_to_numpy(reloaded.optimizer.learning_rate)) == pytest.approx(
        float(policies.one_cycle_lr(6, 20, 0.1, anneal_strategy="linear")), rel=1e-6
    )


def test_docstring_examples():
    import doctest

    from kerasclr import schedules

    result = doctest.testmod(schedules, extraglobs={"keras": keras}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0
