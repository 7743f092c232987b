"""kerasclr.callbacks end to end, against hand-computed updates, torch's schedulers and fresh processes."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from reference_training import make_data, make_model, optimizer_and_reference, sgd, simulate

# The history holds the float32 values the optimizer used.
FLOAT32 = 1e-6

pytestmark = pytest.mark.keras

# PyTorch allows steps_per_execution=1 only.
SPE2 = pytest.param(2, marks=pytest.mark.backends("tensorflow", "jax"))


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _weights(model):
    return [np.asarray(w, dtype=np.float64) for w in model.get_weights()]


def _assert_weights(model, expected, rtol=1e-4):
    for got, want in zip(_weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)


CYCLE = dict(base_lr=0.01, max_lr=0.08, step_size=2)


def _cyclic_reference(steps, momentum=(0.95, 0.6), **cycle):
    from kerasclr import policies

    cycle = cycle or CYCLE
    it = np.arange(steps)
    lrs = policies.cyclic_lr(it, **cycle)
    moms = None if momentum is None else policies.cyclic_momentum(
        it, base_momentum=momentum[1], max_momentum=momentum[0], **cycle)
    return lrs, moms


@pytest.mark.parametrize("jit_compile", [True, False])
@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam", "adamw", "rmsprop"])
def test_cyclic_lr_and_momentum_reach_the_weights(keras, kind, jit_compile):
    from kerasclr import callbacks

    x, y = make_data(n=10)
    lrs, moms = _cyclic_reference(6)
    opt, ref = optimizer_and_reference(keras, kind, lrs, moms)
    model = make_model(keras, opt, jit_compile=jit_compile)
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=(0.95, 0.6), **CYCLE)
    fit = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    expected, losses = simulate(start, x, y, 4, 2, ref)
    _assert_weights(model, expected)
    h = cb.history_arrays()
    np.testing.assert_array_equal(h["iteration"], np.arange(6))
    np.testing.assert_array_equal(h["epoch"], [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(h["learning_rate"], lrs, rtol=FLOAT32)
    np.testing.assert_allclose(h["momentum"], moms, rtol=FLOAT32)
    np.testing.assert_allclose(h["loss"], losses, rtol=1e-4)
    # The epoch logs carry the rate and momentum of each epoch's last step.
    np.testing.assert_allclose(fit.history["learning_rate"], [lrs[2], lrs[5]], rtol=FLOAT32)
    np.testing.assert_allclose(fit.history["momentum"], [moms[2], moms[5]], rtol=FLOAT32)
    assert not any(k.startswith("kerasclr") for k in fit.history)
    # The optimizer is left usable and serializable: floats, our hook gone, next LR stored.
    config = opt.get_config()
    attr = "beta_1" if kind.startswith("adam") else "momentum"
    assert isinstance(config[attr], float) and "apply" not in vars(opt)
    next_lr = cb.learning_rate_at(6)
    assert config["learning_rate"] == pytest.approx(float(next_lr), rel=1e-6)


def test_one_cycle_matches_torch_and_infers_its_length(keras):
    torch = pytest.importorskip("torch")
    from kerasclr import callbacks

    x, y = make_data(n=20)
    model = make_model(keras, keras.optimizers.SGD(0.1, momentum=0.9))
    cb = callbacks.OneCycle(max_lr=0.1, pct_start=0.25, momentum=(0.95, 0.85))
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[cb])
    assert cb.total_iterations == 15

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=15, pct_start=0.25)
    want_lr, want_mom = [], []
    for _ in range(15):
        want_lr.append(opt.param_groups[0]["lr"])
        want_mom.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    h = cb.history_arrays()
    np.testing.assert_allclose(h["learning_rate"], want_lr, rtol=FLOAT32)
    np.testing.assert_allclose(h["momentum"], want_mom, rtol=FLOAT32)


def test_cyclic_lr_default_is_one_cycle_over_the_first_fit(keras):
    # step_size=None: the first fit is one whole cycle (half its steps up, half down),
    # counted from its first step; a later fit goes on with the same cycle length.
    torch = pytest.importorskip("torch")
    from kerasclr import callbacks

    x, y = make_data(n=16)
    model = make_model(keras, keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # the optimizer is at step 4
    cb = callbacks.CyclicLR(base_lr=0.01, max_lr=0.08)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[cb])  # 12 steps
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])  # 4 more
    assert cb._cycle["step_size"] == 6

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.01)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.08, step_size_up=6,
                                              cycle_momentum=False)
    want = []
    for _ in range(16):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    h = cb.history_arrays()
    np.testing.assert_array_equal(h["iteration"], np.arange(4, 20))
    np.testing.assert_allclose(h["learning_rate"], want, rtol=FLOAT32)
    assert h["learning_rate"][6] == pytest.approx(0.08, rel=FLOAT32)  # the peak, mid-fit


@pytest.mark.parametrize("optimizer", ["SGD", "RMSprop", "Adam", "Adagrad"])
def test_one_cycle_leaves_the_momentum_alone_by_default(keras, optimizer):
    # The default momentum=None: any optimizer (RMSprop's momentum is 0, Adagrad has
    # none), its momentum / beta_1 untouched, the learning rate still cycled.
    from kerasclr import callbacks, policies

    x, y = make_data(n=20)
    model = make_model(keras, getattr(keras.optimizers, optimizer)(0.01))
    attribute = {"SGD": "momentum", "RMSprop": "momentum", "Adam": "beta_1"}.get(optimizer)
    before = getattr(model.optimizer, attribute) if attribute else None
    cb = callbacks.OneCycle(max_lr=0.1)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[cb])
    h = cb.history_arrays()
    assert np.isnan(h["momentum"]).all()
    if attribute:
        assert getattr(model.optimizer, attribute) == before
    expected = policies.one_cycle_lr(np.arange(10), 10, 0.1)
    np.testing.assert_allclose(h["learning_rate"], expected, rtol=FLOAT32)


@pytest.mark.parametrize("steps_per_execution", [1, SPE2])
def test_schedule_continues_over_fits_and_executions(keras, steps_per_execution):
    from kerasclr import callbacks

    x, y = make_data(n=12)
    lrs, moms = _cyclic_reference(9)
    model = make_model(keras, keras.optimizers.SGD(0.5, momentum=0.9),
                       steps_per_execution=steps_per_execution)
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=(0.95, 0.6), **CYCLE)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    expected, losses = simulate(start, x, y, 4, 3, sgd(lrs, moms))
    _assert_weights(model, expected)
    h = cb.history_arrays()
    # Every step has its row, with several steps per execution too (the step records it).
    np.testing.assert_array_equal(h["iteration"], np.arange(9))
    np.testing.assert_array_equal(h["epoch"], [0, 0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(h["learning_rate"], lrs, rtol=FLOAT32)
    np.testing.assert_allclose(h["momentum"], moms, rtol=FLOAT32)
    np.testing.assert_allclose(h["loss"], losses, rtol=1e-4)
    # The optimizer keeps the rate of the next step; a later fit without the callback
    # does not reuse the train step traced with it.
    assert float(model.optimizer.learning_rate) == pytest.approx(float(cb.learning_rate_at(9)), rel=1e-6)
    assert model.train_function is not cb._traced[1]


def test_batch_losses_with_a_small_last_batch(keras):
    from kerasclr import callbacks

    x, y = make_data(n=10)  # 4, 4, 2
    lrs, _ = _cyclic_reference(6, momentum=None)
    model = make_model(keras, keras.optimizers.SGD(0.5))
    start = _weights(model)
    cb = callbacks.CyclicLR(**CYCLE)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb],
              validation_data=(x, y))
    _, losses = simulate(start, x, y, 4, 2, sgd(lrs))
    h = cb.history_arrays()
    np.testing.assert_allclose(h["loss"], losses, rtol=1e-4)
    assert np.all(np.isnan(h["momentum"]))


def test_schedule_vector_drives_the_rate_and_holds_the_last_value(keras):
    from kerasclr import callbacks

    x, y = make_data(n=12)
    schedule = np.array([0.05, 0.01, 0.03, 0.07])
    momentum = np.array([0.9, 0.5, 0.7, 0.8])
    model = make_model(keras, keras.optimizers.SGD(0.5, momentum=0.9))
    start = _weights(model)
    cb = callbacks.CyclicLR(schedule=schedule, momentum_schedule=momentum)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    held = lambda v: np.concatenate([v, np.repeat(v[-1], 2)])  # noqa: E731
    expected, _ = simulate(start, x, y, 4, 2, sgd(held(schedule), held(momentum)))
    _assert_weights(model, expected)
    np.testing.assert_allclose(cb.history_arrays()["learning_rate"], held(schedule))


def test_reset_restarts_the_cycle_with_new_bounds(keras):
    from kerasclr import policies, callbacks

    x, y = make_data(n=12)
    model = make_model(keras, keras.optimizers.SGD(0.1))
    cb = callbacks.CyclicLR(**CYCLE)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])  # steps 0..2
    cb.reset(base_lr=0.001, max_lr=0.002)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])  # steps 3..5
    h = cb.history_arrays()
    np.testing.assert_array_equal(h["iteration"], np.arange(6))
    np.testing.assert_allclose(h["learning_rate"][:3], policies.cyclic_lr(np.arange(3), **CYCLE))
    np.testing.assert_allclose(h["learning_rate"][3:], policies.cyclic_lr(
        np.arange(3), base_lr=0.001, max_lr=0.002, step_size=2))


@pytest.mark.parametrize("scale_fn", [None, "numpy"])
def test_reset_during_fit_takes_effect_at_the_next_step(keras, scale_fn):
    """Mid-fit, also when the fit's values were tabulated at its start (a custom scale_fn)."""
    from kerasclr import policies, callbacks

    x, y = make_data(n=12)
    cycle = dict(CYCLE)
    if scale_fn:
        cycle["scale_fn"] = lambda c: 1.0 / np.asarray(c)  # noqa: E731  (numpy only: tabulated)
    model = make_model(keras, keras.optimizers.SGD(0.1))
    start = _weights(model)
    cb = callbacks.CyclicLR(**cycle)

    class ResetAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:  # after steps 0 and 1
                cb.reset(base_lr=0.001, max_lr=0.002)

    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb, ResetAt()])
    new = dict(cycle, base_lr=0.001, max_lr=0.002)
    # A reset at batch 1 of each epoch: new cycles start at steps 2 and 5.
    want = np.r_[policies.cyclic_lr(np.arange(2), **cycle), policies.cyclic_lr(np.arange(3), **new),
                 policies.cyclic_lr(np.arange(1), **new)]
    h = cb.history_arrays()
    np.testing.assert_allclose(h["learning_rate"], want, rtol=FLOAT32)
    expected, _ = simulate(start, x, y, 4, 2, sgd(want))
    _assert_weights(model, expected)


def test_custom_python_scale_fn_known_and_unknown_length(keras):
    from kerasclr import policies, callbacks

    x, y = make_data(n=12)
    scale_fn = lambda c: 1.0 / np.asarray(c)  # noqa: E731  (numpy only: cannot run in-graph)
    cycle = dict(base_lr=0.01, max_lr=0.08, step_size=1, scale_fn=scale_fn)
    want = policies.cyclic_lr(np.arange(6), **cycle)
    for data in ("arrays", "generator"):
        model = make_model(keras, keras.optimizers.SGD(0.5))
        start = _weights(model)
        cb = callbacks.CyclicLR(**cycle)
        if data == "arrays":
            model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
        else:
            def batches():
                for _ in range(2):
                    for i in range(0, 12, 4):
                        yield x[i:i + 4], y[i:i + 4]
            model.fit(batches(), epochs=1, verbose=0, callbacks=[cb])
        expected, _ = simulate(start, x, y, 4, 2, sgd(want))
        _assert_weights(model, expected)
        np.testing.assert_allclose(cb.history_arrays()["learning_rate"], want)


def test_pydataset_and_generator_inputs(keras):
    from kerasclr import callbacks

    x, y = make_data(n=12)
    lrs, moms = _cyclic_reference(6)

    class Data(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

    model = make_model(keras, keras.optimizers.SGD(0.5, momentum=0.9))
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=(0.95, 0.6), **CYCLE)
    model.fit(Data(), epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    expected, losses = simulate(start, x, y, 4, 2, sgd(lrs, moms))
    _assert_weights(model, expected)
    np.testing.assert_allclose(cb.history_arrays()["loss"], losses, rtol=1e-4)


@pytest.mark.backends("tensorflow")
@pytest.mark.parametrize("policy", ["cyclic", "one_cycle_with_momentum"])
def test_tf_step_adds_few_graph_ops(keras, policy):
    # TensorFlow without XLA runs each small op of the step on its own (about 0.5 us each
    # on the benchmark's machine): the value lookup, the batch loss and the history row
    # take 18 (CyclicLR) and 19 (OneCycle with momentum) ops besides constants and
    # identities, variable reads included (25 and 28 before they were trimmed).
    import collections

    import tensorflow as tf
    from kerasclr import callbacks

    x, y = make_data(n=8)
    spec = (tf.TensorSpec((4, 3), tf.float32), tf.TensorSpec((4, 2), tf.float32))
    traced = []

    class TraceStep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            graph = tf.function(self.model.train_step).get_concrete_function(spec).graph
            traced.append([op.type for op in graph.get_operations()
                           if op.type not in ("Const", "NoOp", "Placeholder", "Identity")])

    model = make_model(keras, keras.optimizers.SGD(0.1, momentum=0.9))
    cb = (callbacks.CyclicLR(**CYCLE) if policy == "cyclic"
          else callbacks.OneCycle(max_lr=0.1, total_iterations=100, momentum=(0.95, 0.85)))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # builds the optimizer first
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[TraceStep()])
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb, TraceStep()])
    plain, hooked = traced
    added = len(hooked) - len(plain)
    assert 0 < added <= {"cyclic": 18, "one_cycle_with_momentum": 19}[policy], \
        collections.Counter(hooked) - collections.Counter(plain)


@pytest.mark.backends("jax")
def test_jax_step_adds_one_kernel(keras):
    # The history row is written in place with one kernel: `.at[index].set()` added two
    # more for its bounds check, which XLA on the CPU runs one after the other.
    import jax
    from kerasclr import callbacks

    x, y = make_data(n=8)
    kernels = []

    class CompileStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch:
                return
            state = tuple(list(self.model._jax_state[part]) for part in (
                "trainable_variables", "non_trainable_variables", "optimizer_variables",
                "metrics_variables"))
            text = jax.jit(self.model.train_step).lower(state, (x[:4], y[:4])).compile().as_text()
            entry = text[text.index("\nENTRY"):].splitlines()[1:]
            kernels.append(sum(" fusion(" in line or " dot(" in line for line in entry))

    model = make_model(keras, keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[CompileStep()])
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[callbacks.OneCycle(max_lr=0.1, total_iterations=100,
                                            momentum=(0.95, 0.85)), CompileStep()])
    plain, hooked = kernels
    assert hooked - plain <= 1, kernels


@pytest.mark.backends("tensorflow")
def test_tf_data_input(keras):
    import tensorflow as tf
    from kerasclr import callbacks

    x, y = make_data(n=12)
    lrs, moms = _cyclic_reference(6)
    model = make_model(keras, keras.optimizers.SGD(0.5, momentum=0.9))
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=(0.95, 0.6), **CYCLE)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=2, verbose=0, callbacks=[cb])
    expected, _ = simulate(start, x, y, 4, 2, sgd(lrs, moms))
    _assert_weights(model, expected)


def test_loss_scale_optimizer(keras):
    from kerasclr import callbacks

    x, y = make_data(n=10)
    lrs, moms = _cyclic_reference(6)
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5, momentum=0.9))
    model = make_model(keras, opt)
    start = _weights(model)
    cb = callbacks.CyclicLR(momentum=(0.95, 0.6), **CYCLE)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    expected, _ = simulate(start, x, y, 4, 2, sgd(lrs, moms))
    _assert_weights(model, expected)  # scaling by a power of two is exact


def test_clear_errors_at_the_start_of_fit(keras):
    from kerasclr import callbacks

    x, y = make_data(n=8)
    cases = [
        (keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
         callbacks.CyclicLR(), "LearningRateSchedule"),
        (keras.optimizers.SGD(0.1), callbacks.CyclicLR(momentum=(0.95, 0.85)), "momentum=0"),
        (keras.optimizers.Adagrad(0.1), callbacks.OneCycle(0.1, momentum=(0.95, 0.85)),
         "no momentum to cycle"),
    ]
    for opt, cb, message in cases:
        model = make_model(keras, opt)
        before = _weights(model)
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])
        _assert_weights(model, before, rtol=0)  # nothing trained

    def endless():
        while True:
            yield x[:4], y[:4]

    model = make_model(keras, keras.optimizers.SGD(0.1, momentum=0.9))
    before = _weights(model)
    # Named as Python and R users know the callback.
    with pytest.raises(ValueError,
                       match=r"OneCycle \(callback_one_cycle\(\) in R\) cannot infer `total_iterations`"):
        model.fit(endless(), epochs=1, verbose=0, callbacks=[callbacks.OneCycle(0.1)])
    with pytest.raises(ValueError,
                       match=r"CyclicLR \(callback_cyclic_lr\(\) in R\) cannot infer `step_size`"):
        model.fit(endless(), epochs=1, verbose=0, callbacks=[callbacks.CyclicLR()])
    # The tail is checked against the cycle that the fit sets (6 steps here).
    with pytest.raises(ValueError, match="tail"):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[callbacks.CyclicLR(tail=9)])
    _assert_weights(model, before, rtol=0)
    with pytest.raises(ValueError, match="set by the first fit"):
        callbacks.CyclicLR().learning_rate_at([0])


def test_bad_arguments_are_refused_at_creation():
    from kerasclr import callbacks

    with pytest.raises(ValueError, match="step_size"):
        callbacks.CyclicLR(step_size=0)
    with pytest.raises(ValueError, match="max_lr"):
        callbacks.CyclicLR(base_lr=0.1, max_lr=0.01)
    with pytest.raises(ValueError, match="schedule"):
        callbacks.CyclicLR(schedule=[0.1, float("nan")])
    with pytest.raises(ValueError, match="schedule"):
        callbacks.CyclicLR(schedule=[0.1, -1])
    with pytest.raises(ValueError, match="momentum"):
        callbacks.CyclicLR(momentum=(0.8, 0.9))
    with pytest.raises(ValueError, match="total_steps"):
        callbacks.OneCycle(0.1, total_iterations=1)


def test_saving_mid_fit_works(keras, tmp_path):
    from kerasclr import callbacks

    x, y = make_data(n=12)
    model = make_model(keras, keras.optimizers.Adam(0.1))
    path = str(tmp_path / "m.keras")
    saver = keras.callbacks.ModelCheckpoint(path, save_freq=2)
    cb = callbacks.OneCycle(0.1, momentum=(0.95, 0.85))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[cb, saver])
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer.get_config()["beta_1"], float)
    assert int(loaded.optimizer.iterations) in (2, 4, 6)


_CONTINUE = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    import keras
    from kerasclr import callbacks
    from reference_training import make_data
    x, y = make_data(n=12)
    model = keras.saving.load_model(sys.argv[3])
    cb = callbacks.OneCycle(0.1, total_iterations=12, momentum=(0.95, 0.8))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    h = cb.history_arrays()
    json.dump({"lr": h["learning_rate"].tolist(), "momentum": h["momentum"].tolist(),
               "iteration": h["iteration"].tolist(),
               "weights": [w.tolist() for w in model.get_weights()]}, open(sys.argv[4], "w"))
""")


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_reloaded_model_continues_in_a_fresh_process(keras, tmp_path, kind):
    from kerasclr import callbacks

    here = os.path.dirname(__file__)
    inst = os.path.join(here, "..", "..", "inst", "python")
    x, y = make_data(n=12)

    def opt():
        return (keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True) if kind == "sgd"
                else keras.optimizers.Adam(0.1))

    # One uninterrupted run of 4 epochs (12 steps).
    full = make_model(keras, opt())
    cb_full = callbacks.OneCycle(0.1, total_iterations=12, momentum=(0.95, 0.8))
    full.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[cb_full])
    # The same, interrupted after 2 epochs, saved, and continued in another process.
    part = make_model(keras, opt())
    cb = callbacks.OneCycle(0.1, total_iterations=12, momentum=(0.95, 0.8))
    part.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    path, out = str(tmp_path / "part.keras"), str(tmp_path / "out.json")
    part.save(path)
    subprocess.run([sys.executable, "-c", _CONTINUE, inst, here, path, out], check=True,
                   env=dict(os.environ), capture_output=True, timeout=300)
    result = json.load(open(out))
    h = cb_full.history_arrays()
    assert result["iteration"] == list(range(6, 12))
    np.testing.assert_allclose(result["lr"], h["learning_rate"][6:], rtol=1e-12)
    np.testing.assert_allclose(result["momentum"], h["momentum"][6:], rtol=1e-12)
    for got, want in zip(result["weights"], full.get_weights()):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-7)


_DISTRIBUTED = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    import numpy as np
    kind = sys.argv[3]
    if kind == "mirrored":
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    from kerasclr import callbacks
    from reference_training import make_data, make_model
    x, y = make_data(n=8)
    opt = lambda: keras.optimizers.SGD(0.5, momentum=0.9)
    if kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            model = make_model(keras, opt())
    else:
        import jax
        assert len(jax.devices()) == 2
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
        model = make_model(keras, opt())
    start = [w.tolist() for w in model.get_weights()]
    cb = callbacks.CyclicLR(base_lr=0.01, max_lr=0.08, step_size=2, momentum=(0.95, 0.6))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    h = cb.history_arrays()
    json.dump({"start": start, "weights": [w.tolist() for w in model.get_weights()],
               "lr": h["learning_rate"].tolist(), "loss": h["loss"].tolist()},
              open(sys.argv[4], "w"))
""")


def _run_distributed(tmp_path, kind, env):
    here = os.path.dirname(__file__)
    inst = os.path.join(here, "..", "..", "inst", "python")
    out = str(tmp_path / "out.json")
    proc = subprocess.run([sys.executable, "-c", _DISTRIBUTED, inst, here, kind, out],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.load(open(out))
    x, y = make_data(n=8)
    lrs, moms = _cyclic_reference(4)
    expected, losses = simulate(result["start"], x, y, 4, 2, sgd(lrs, moms))
    for got, want in zip(result["weights"], expected):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result["lr"], lrs, rtol=FLOAT32)
    return result, losses


def _mirrored_batch_losses(keras, losses, replicas=2, batch_size=4, steps_per_epoch=2):
    """The batch losses recorded under MirroredStrategy: the true ones from Keras 3.10 on.

    Keras 3.8 and 3.9 make metric variables mirrored (on-write, SUM aggregation), and
    their loss tracker's update, ``total.assign(total + batch_sum)`` in every replica,
    is summed over the replicas: each step multiplies the epoch's total and count by the
    number of replicas (the loss Keras itself logs is wrong too). The recorded loss, the
    step's change of total over that of count, then follows from this recurrence.
    """
    if tuple(int(v) for v in keras.version().split(".")[:2]) >= (3, 10):
        return losses
    recorded = []
    for k, loss in enumerate(losses):
        if k % steps_per_epoch == 0:
            total = count = 0.0  # reset at each epoch
        new_total = replicas * total + batch_size * loss
        new_count = replicas * count + batch_size
        recorded.append((new_total - total) / (new_count - count))
        total, count = new_total, new_count
    return recorded


@pytest.mark.backends("tensorflow")
def test_tf_mirrored_strategy_two_cpus(keras, tmp_path):
    result, losses = _run_distributed(tmp_path, "mirrored", {"KERAS_BACKEND": "tensorflow"})
    np.testing.assert_allclose(result["loss"], _mirrored_batch_losses(keras, losses), rtol=1e-4)


@pytest.mark.backends("jax")
def test_jax_data_parallel_two_devices(tmp_path):
    env = {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result, losses = _run_distributed(tmp_path, "data_parallel", env)
    np.testing.assert_allclose(result["loss"], losses, rtol=1e-4)
