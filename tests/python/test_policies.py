"""The policy formulas (kerasclr.policies, NumPy float64) against independent references.

References: the closed forms of Smith's paper as published with the original Keras
callback (bckenstler/CLR README), the R blog's "halfcosine", PyTorch's CyclicLR and
OneCycleLR run step by step (the numeric oracle), and fastai's fit_one_cycle formula.
No Keras here: these tests run once, without a backend.
"""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from kerasclr import policies
from kerasclr.policies import (
    ONE_CYCLE_PRESETS,
    cyclic_lr,
    cyclic_momentum,
    one_cycle_lr,
    one_cycle_momentum,
)

TORCH_TOL = 1e-12  # max abs error allowed against PyTorch (both compute in float64)


# --------------------------------------------------------------------------- #
# The paper's closed forms (bckenstler/CLR README, arXiv:1506.01186), verbatim
# --------------------------------------------------------------------------- #
def paper_clr(iterations, base_lr, max_lr, step_size, mode, gamma=1.0):
    cycle = np.floor(1 + iterations / (2 * step_size))
    x = np.abs(iterations / step_size - 2 * cycle + 1)
    if mode == "triangular":
        return base_lr + (max_lr - base_lr) * np.maximum(0, (1 - x))
    if mode == "triangular2":
        return base_lr + (max_lr - base_lr) * np.maximum(0, (1 - x)) / 2.0 ** (cycle - 1)
    if mode == "exp_range":
        return base_lr + (max_lr - base_lr) * np.maximum(0, (1 - x)) * gamma ** (iterations)
    if mode == "sinus":  # the README's "custom cycle-policy"
        return base_lr + (max_lr - base_lr) * np.maximum(0, (1 - x)) * 0.5 * (1 + np.sin(cycle * np.pi / 2.0))
    if mode == "halfcosine":  # the R blog: scale_fn <- function(x) 0.5*(1+cos(x*pi)^2), on cycle
        return base_lr + (max_lr - base_lr) * np.maximum(0, (1 - x)) * 0.5 * (1 + np.cos(cycle * np.pi) ** 2)
    raise AssertionError(mode)


@pytest.mark.parametrize("mode", policies.CLR_MODES)
@pytest.mark.parametrize("step_size", [1, 7, 250, 2000])
def test_cyclic_lr_is_the_paper_formula(mode, step_size):
    iterations = np.arange(20_000)
    kwargs = {"base_lr": 0.001, "max_lr": 0.006, "step_size": step_size, "mode": mode, "gamma": 0.99994}
    with np.errstate(over="ignore"):  # 2.0**(cycle - 1) overflows after 1024 cycles: 1/inf = 0
        expected = paper_clr(iterations, **kwargs)
    got = cyclic_lr(iterations, **kwargs)
    assert got.shape == expected.shape and got.dtype == np.float64
    # 1e-14: rounding only. The largest gap (3.8e-15, sinus with 10000 cycles) is the
    # paper form's own: sin(cycle*pi/2) loses cycle*ulp(pi/2) of its argument.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("up, down", [(7, 3), (700, 3), (150, 450), (250, 250)])
def test_cyclic_lr_is_exact_to_rounding(up, down):
    # Exact rational arithmetic as the reference: the triangle height at step i is
    # position/up on the way up and (cycle_length - position)/down on the way down.
    # Against PyTorch the gap reaches 2.9e-14 for down=3: that is PyTorch's rounding
    # ((x - 1)/(ratio - 1) amplifies the error of x by 1/(1 - ratio)), not ours.
    base_lr, max_lr = Fraction(0.001), Fraction(0.1)
    iterations = np.arange(0, 6 * (up + down), max(1, (up + down) // 97))
    got = cyclic_lr(iterations, base_lr=0.001, max_lr=0.1, step_size_up=up, step_size_down=down)
    for step, value in zip(iterations, got):
        position = int(step) % (up + down)
        height = Fraction(position, up) if position <= up else Fraction(up + down - position, down)
        assert abs(Fraction(value) - (base_lr + (max_lr - base_lr) * height)) <= np.spacing(0.1)


def test_halfcosine_is_triangular_on_whole_cycles():
    # The R blog's 0.5*(1 + cos(cycle*pi)^2) is 1 for every whole cycle number.
    iterations = np.arange(10_000)
    np.testing.assert_allclose(
        cyclic_lr(iterations, step_size=70, mode="halfcosine"),
        cyclic_lr(iterations, step_size=70),
        rtol=1e-15,
    )


def test_cyclic_lr_landmarks():
    # Values that follow from the definition without any formula: start at base_lr,
    # peak at max_lr after step_size steps, back at base_lr after a full cycle.
    lr = cyclic_lr(
        np.array([0, 1000, 2000, 3000, 4000, 6000]),
        base_lr=0.001,
        max_lr=0.006,
        step_size=2000,
        mode="triangular2",
    )
    np.testing.assert_allclose(lr, [0.001, 0.0035, 0.006, 0.0035, 0.001, 0.0035], rtol=1e-15)


# --------------------------------------------------------------------------- #
# PyTorch CyclicLR as the oracle (lr and momentum)
# --------------------------------------------------------------------------- #
def torch_cyclic(n_steps, **kwargs):
    """lr and momentum PyTorch's CyclicLR gives to each of `n_steps` optimizer steps."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=kwargs["base_lr"], momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, cycle_momentum=True, **kwargs)
    lrs, momenta = [], []
    for _ in range(n_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs, dtype=np.float64), np.array(momenta, dtype=np.float64)


def _sinus_of_cycle(x):
    return 0.5 * (1 + np.sin(x * np.pi / 2.0))


def _decay_of_iterations(x):
    return 1 / (5 ** (x * 0.0001))


CYCLE_SIZES = {"symmetric": (250, None), "asymmetric": (150, 450), "short-down": (700, 3)}


@pytest.mark.parametrize("sizes", list(CYCLE_SIZES))
@pytest.mark.parametrize("mode, gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.9995)])
def test_cyclic_lr_and_momentum_equal_torch(mode, gamma, sizes):
    up, down = CYCLE_SIZES[sizes]
    n = 6000
    cycle = {
        "base_lr": 0.001,
        "max_lr": 0.1,
        "step_size_up": up,
        "step_size_down": down,
        "mode": mode,
        "gamma": gamma,
    }
    expected_lr, expected_momentum = torch_cyclic(n, base_momentum=0.8, max_momentum=0.9, **cycle)
    iterations = np.arange(n)
    lr = cyclic_lr(iterations, **cycle)
    momentum = cyclic_momentum(iterations, base_momentum=0.8, max_momentum=0.9, **cycle)
    assert np.abs(lr - expected_lr).max() <= TORCH_TOL
    assert np.abs(momentum - expected_momentum).max() <= TORCH_TOL
    # The comparison is not vacuous: the lr sweeps most of [base_lr, max_lr].
    assert expected_lr.max() - expected_lr.min() > 0.04


@pytest.mark.parametrize(
    "scale_fn, scale_mode", [(_sinus_of_cycle, "cycle"), (_decay_of_iterations, "iterations")]
)
@pytest.mark.parametrize("sizes", ["symmetric", "asymmetric"])
def test_custom_scale_fn_equals_torch(scale_fn, scale_mode, sizes):
    up, down = CYCLE_SIZES[sizes]
    n = 5000
    cycle = {
        "base_lr": 0.001,
        "max_lr": 0.006,
        "step_size_up": up,
        "step_size_down": down,
        "scale_fn": scale_fn,
        "scale_mode": scale_mode,
    }
    expected_lr, expected_momentum = torch_cyclic(n, base_momentum=0.85, max_momentum=0.95, **cycle)
    lr = cyclic_lr(np.arange(n), **cycle)
    momentum = cyclic_momentum(np.arange(n), base_momentum=0.85, max_momentum=0.95, **cycle)
    assert np.abs(lr - expected_lr).max() <= TORCH_TOL
    assert np.abs(momentum - expected_momentum).max() <= TORCH_TOL


def test_custom_scale_fn_is_used_instead_of_mode():
    iterations = np.arange(3000)
    custom = cyclic_lr(iterations, step_size=200, mode="triangular", scale_fn=_sinus_of_cycle)
    np.testing.assert_allclose(custom, cyclic_lr(iterations, step_size=200, mode="sinus"), rtol=1e-14)
    assert np.abs(custom - cyclic_lr(iterations, step_size=200)).max() > 1e-3


# --------------------------------------------------------------------------- #
# PyTorch OneCycleLR as the oracle
# --------------------------------------------------------------------------- #
def torch_one_cycle(total_steps, max_lr, **kwargs):
    """lr and momentum of PyTorch's OneCycleLR at steps 0 .. total_steps - 1."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=max_lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=total_steps, cycle_momentum=True, **kwargs
    )
    lrs, momenta = [], []
    for step in range(total_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        if step < total_steps - 1:  # PyTorch refuses to step past total_steps
            optimizer.step()
            scheduler.step()
    return np.array(lrs, dtype=np.float64), np.array(momenta, dtype=np.float64)


ONE_CYCLE_OPTIONS = {
    "defaults": {},
    "pct_start=0.1": {"pct_start": 0.1},
    "pct_start=0.45": {"pct_start": 0.45},
    "div_factors": {"div_factor": 10.0, "final_div_factor": 100.0},
    "linear": {"anneal_strategy": "linear"},
    "three_phase": {"three_phase": True},
    "three_phase linear": {"three_phase": True, "anneal_strategy": "linear", "pct_start": 0.4},
    "momentum range": {"base_momentum": 0.7, "max_momentum": 0.99},
    "everything": {
        "pct_start": 0.2,
        "div_factor": 5.0,
        "final_div_factor": 1e3,
        "anneal_strategy": "linear",
        "three_phase": True,
        "base_momentum": 0.8,
        "max_momentum": 0.9,
    },
}


@pytest.mark.parametrize("options", list(ONE_CYCLE_OPTIONS))
@pytest.mark.parametrize("total_steps", [97, 4000])
def test_one_cycle_lr_and_momentum_equal_torch(options, total_steps):
    kwargs = ONE_CYCLE_OPTIONS[options]
    expected_lr, expected_momentum = torch_one_cycle(total_steps, 0.3, **kwargs)
    iterations = np.arange(total_steps)
    lr = one_cycle_lr(iterations, total_steps, 0.3, **kwargs)
    momentum = one_cycle_momentum(iterations, total_steps, 0.3, **kwargs)
    assert np.abs(lr - expected_lr).max() <= TORCH_TOL
    assert np.abs(momentum - expected_momentum).max() <= TORCH_TOL
    assert expected_lr.max() > 0.29  # the warm-up reaches (about) max_lr: not a flat comparison


@pytest.mark.parametrize("options", ["defaults", "linear", "three_phase"])
def test_one_cycle_holds_the_last_value_after_total_steps(options):
    kwargs = ONE_CYCLE_OPTIONS[options]
    total_steps = 500
    expected_lr, expected_momentum = torch_one_cycle(total_steps, 0.3, **kwargs)
    after = np.arange(total_steps, total_steps + 300)
    lr = one_cycle_lr(after, total_steps, 0.3, **kwargs)
    momentum = one_cycle_momentum(after, total_steps, 0.3, **kwargs)
    np.testing.assert_array_equal(lr, np.full(after.shape, lr[0]))
    assert abs(lr[0] - expected_lr[-1]) <= TORCH_TOL
    np.testing.assert_array_equal(momentum, np.full(after.shape, momentum[0]))
    assert abs(momentum[0] - expected_momentum[-1]) <= TORCH_TOL
    # The final value is max_lr / (div_factor * final_div_factor).
    assert lr[0] == pytest.approx(0.3 / 25 / 1e4, rel=1e-12)


# --------------------------------------------------------------------------- #
# fastai's fit_one_cycle and the "fastai" preset
# --------------------------------------------------------------------------- #
def fastai_sched_cos(start, end, pos):
    # fastai.callback.schedule.SchedCos: start + (1 + cos(pi*(1-pos))) * (end-start) / 2
    return start + (1 + np.cos(np.pi * (1 - pos))) * (end - start) / 2


def fastai_combined_cos(pct, start, middle, end, pos):
    # combine_scheds([pct, 1-pct], [SchedCos(start, middle), SchedCos(middle, end)]):
    # each phase sees the fraction of itself done; pos = train_iter / total_iters.
    return np.where(
        pos < pct,
        fastai_sched_cos(start, middle, pos / pct),
        fastai_sched_cos(middle, end, (pos - pct) / (1 - pct)),
    )


@pytest.mark.parametrize("total_steps", [7, 100, 1000, 10_000])
def test_fastai_preset_reproduces_fit_one_cycle(total_steps):
    # fit_one_cycle(lr_max, div=25, div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)),
    # fastai 2.8 (fastai/callback/schedule.py), the lr and momentum of every batch.
    lr_max = 0.01
    steps = np.arange(total_steps)
    pos = steps / total_steps  # fastai's pct_train at the batch with index `step`
    fastai_lr = fastai_combined_cos(0.25, lr_max / 25, lr_max, lr_max / 1e5, pos)
    fastai_momentum = fastai_combined_cos(0.25, 0.95, 0.85, 0.95, pos)
    preset = ONE_CYCLE_PRESETS["fastai"]
    lr = one_cycle_lr(steps, total_steps, lr_max, **preset)
    momentum = one_cycle_momentum(steps, total_steps, lr_max, **preset)
    # fastai itself evaluates the phase position in float32 (a torch tensor): checked once
    # against fastai 2.8.12's own combined_cos, the gap was at most 2e-5 relative (1.9e-6
    # at 100 steps) for the lr and 9e-9 for the momentum; in float64 the two agree to rounding.
    np.testing.assert_allclose(lr, fastai_lr, rtol=1e-10, atol=0)  # cos vs sin² form at ~1e-7
    np.testing.assert_allclose(momentum, fastai_momentum, rtol=1e-12, atol=0)
    # After the last step the last value is held.
    after = one_cycle_lr(np.arange(total_steps, total_steps + 5), total_steps, lr_max, **preset)
    np.testing.assert_array_equal(after, np.full(5, lr[-1]))


def test_fastai_preset_peak_and_last_rate_by_hand():
    # 100 steps, max_lr 0.1: the peak at pos = 25/100 = pct_start, i.e. batch 25 (PyTorch:
    # batch 24 = 0.25 * 100 - 1); the last batch at pos = 0.99, 98.67% through the
    # annealing: 1e-6 + (0.1 - 1e-6) * (1 + cos(pi * (1 - 0.74 / 0.75))) / 2 = 4.4858e-05
    # (not the final 0.1 / 1e5 = 1e-6 that PyTorch's convention reaches).
    preset = ONE_CYCLE_PRESETS["fastai"]
    lr = one_cycle_lr(np.arange(100), 100, 0.1, **preset)
    momentum = one_cycle_momentum(np.arange(100), 100, 0.1, **preset)
    assert int(np.argmax(lr)) == 25 and lr[25] == pytest.approx(0.1, rel=1e-15)
    assert lr[0] == pytest.approx(0.004, rel=1e-15)
    assert lr[-1] == pytest.approx(4.4858e-05, rel=1e-4)
    assert int(np.argmin(momentum)) == 25 and momentum[25] == pytest.approx(0.85, rel=1e-15)
    assert momentum[0] == 0.95 and momentum[-1] == pytest.approx(0.94996, abs=1e-5)
    pytorch = one_cycle_lr(np.arange(100), 100, 0.1, pct_start=0.25, final_div_factor=4000)
    assert int(np.argmax(pytorch)) == 24 and pytorch[-1] == pytest.approx(1e-6, rel=1e-12)


def test_fastai_convention_three_phase_and_linear():
    # The same clock for the other shapes: phase boundaries at pct_start and 2 * pct_start.
    total, pct = 40, 0.2
    pos = np.arange(total) / total
    lr = one_cycle_lr(np.arange(total), total, 1.0, pct_start=pct, three_phase=True,
                      anneal_strategy="linear", convention="fastai")
    lin = lambda a, b, t: a + (b - a) * t  # noqa: E731 (fastai's sched_lin)
    expected = np.where(pos < pct, lin(0.04, 1.0, pos / pct),
                        np.where(pos < 2 * pct, lin(1.0, 0.04, (pos - pct) / pct),
                                 lin(0.04, 0.04 / 1e4, (pos - 2 * pct) / (1 - 2 * pct))))
    np.testing.assert_allclose(lr, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle_lr(np.arange(10), 10, 1.0, pct_start=0.5, three_phase=True, convention="fastai")
    with pytest.raises(ValueError, match="convention"):
        one_cycle_lr(np.arange(10), 10, 1.0, convention="keras")


def test_presets_are_valid_one_cycle_arguments():
    pytorch = ONE_CYCLE_PRESETS["pytorch"]
    expected, _ = torch_one_cycle(300, 0.1)  # PyTorch's defaults
    assert np.abs(one_cycle_lr(np.arange(300), 300, 0.1, **pytorch) - expected).max() <= TORCH_TOL


# --------------------------------------------------------------------------- #
# The tail ("annihilation" of the learning rate at the end of each cycle)
# --------------------------------------------------------------------------- #
def reference_divisors(tail, factor=1.1, base=1.2):
    # The R blog: l_rate_div <- 1.1 * (1.2^i), i <- 1:tail
    return factor * base ** np.arange(1, tail + 1)


@pytest.mark.parametrize("tail", [1, 7, 40, 100])
@pytest.mark.parametrize("sizes", [(50, None), (30, 70)])
@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
def test_tail_divides_the_last_steps_of_each_cycle(tail, sizes, mode):
    up, down = sizes
    cycle_length = up + (down or up)
    iterations = np.arange(10 * cycle_length)
    kwargs = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": up, "step_size_down": down, "mode": mode}
    plain = cyclic_lr(iterations, **kwargs)
    tailed = cyclic_lr(iterations, tail=tail, **kwargs)

    position = iterations % cycle_length
    tail_step = position - (cycle_length - tail) + 1  # 1..tail inside the tail
    expected_divisor = np.ones(iterations.shape)
    inside = tail_step >= 1
    expected_divisor[inside] = reference_divisors(tail)[tail_step[inside] - 1]
    np.testing.assert_allclose(plain / tailed, expected_divisor, rtol=1e-14)
    assert inside.sum() == 10 * tail


@pytest.mark.parametrize("tail", [1, 30])
def test_tail_scope_schedule_only_divides_the_end(tail):
    iterations = np.arange(1000)
    kwargs = {"base_lr": 0.001, "max_lr": 0.006, "step_size": 60}
    plain = cyclic_lr(iterations, **kwargs)
    tailed = cyclic_lr(iterations, tail=tail, tail_scope="schedule", total_iterations=1000, **kwargs)
    np.testing.assert_array_equal(tailed[: 1000 - tail], plain[: 1000 - tail])
    np.testing.assert_allclose(
        plain[1000 - tail :] / tailed[1000 - tail :], reference_divisors(tail), rtol=1e-14
    )
    # Past total_iterations the last divisor is kept.
    later = np.arange(1000, 1200)
    np.testing.assert_allclose(
        cyclic_lr(later, **kwargs)
        / cyclic_lr(later, tail=tail, tail_scope="schedule", total_iterations=1000, **kwargs),
        reference_divisors(tail)[-1],
        rtol=1e-14,
    )


def test_custom_tail_divisor():
    iterations = np.arange(800)
    kwargs = {"base_lr": 0.01, "max_lr": 0.1, "step_size": 100}
    ratio = cyclic_lr(iterations, **kwargs) / cyclic_lr(iterations, tail=5, tail_divisor=(2.0, 1.5), **kwargs)
    np.testing.assert_allclose(
        ratio.reshape(4, 200)[:, -5:], np.tile(reference_divisors(5, 2.0, 1.5), (4, 1)), rtol=1e-14
    )
    np.testing.assert_array_equal(ratio.reshape(4, 200)[:, :-5], 1.0)


def test_tail_is_applied_to_the_base_lr_too():
    # With base_lr = 0 the tail divides zero: it can only lower the learning rate.
    plain = cyclic_lr(np.arange(400), base_lr=0.0, max_lr=1.0, step_size=100)
    lr = cyclic_lr(np.arange(400), base_lr=0.0, max_lr=1.0, step_size=100, tail=50)
    assert lr[0] == 0.0 and lr[200] == 0.0
    np.testing.assert_array_equal(lr[:150], plain[:150])
    assert np.all(lr[150:200] < plain[150:200])


# --------------------------------------------------------------------------- #
# Argument checks
# --------------------------------------------------------------------------- #
CYCLIC_BAD_ARGS = [
    ({"base_lr": -1}, "base_lr"),
    ({"base_lr": "a"}, "base_lr"),
    ({"max_lr": -1}, "max_lr"),
    ({"base_lr": 0.01, "max_lr": 0.001}, "max_lr"),
    ({"max_lr": float("inf")}, "max_lr"),
    ({"step_size": 0}, "step_size"),
    ({"step_size": float("nan")}, "step_size"),
    ({"step_size": None}, "step_size"),
    ({"step_size_up": -3}, "step_size_up"),
    ({"step_size_down": 0}, "step_size_down"),
    ({"mode": "triangle"}, "mode"),
    ({"gamma": 0}, "gamma"),
    ({"scale_fn": 2.0}, "scale_fn"),
    ({"scale_mode": "epochs"}, "scale_mode"),
    ({"tail": -1}, "tail"),
    ({"tail": 2.5}, "tail"),
    ({"step_size": 10, "tail": 21}, "tail"),
    ({"tail": 3, "tail_scope": "end"}, "tail_scope"),
    ({"tail": 3, "tail_scope": "schedule"}, "total_iterations"),
    ({"total_iterations": 0}, "total_iterations"),
    ({"tail": 3, "tail_divisor": (1.1,)}, "tail_divisor"),
    ({"tail": 3, "tail_divisor": 1.1}, "tail_divisor"),
    ({"tail": 3, "tail_divisor": (1.1, -2)}, "tail_divisor"),
]


def _raises_naming(name):
    return pytest.raises(ValueError, match=rf"`{re.escape(name)}(\[\d\])?`")


@pytest.mark.parametrize(
    "kwargs, name", CYCLIC_BAD_ARGS, ids=[f"{n}-{i}" for i, (_, n) in enumerate(CYCLIC_BAD_ARGS)]
)
def test_cyclic_lr_bad_arguments_name_the_argument(kwargs, name):
    with _raises_naming(name):
        cyclic_lr(np.arange(10), **kwargs)


@pytest.mark.parametrize("iterations", [[-1, 0, 1], [0, np.nan], [np.inf]])
def test_bad_iterations(iterations):
    with _raises_naming("iterations"):
        cyclic_lr(np.array(iterations, dtype=float))
    with _raises_naming("iterations"):
        one_cycle_lr(np.array(iterations, dtype=float), 100, 0.1)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"base_momentum": 1.5}, "base_momentum"),
        ({"max_momentum": -0.1}, "max_momentum"),
        ({"base_momentum": 0.9, "max_momentum": 0.8}, "max_momentum"),
        ({"step_size": -1}, "step_size"),
    ],
)
def test_cyclic_momentum_bad_arguments(kwargs, name):
    with _raises_naming(name):
        cyclic_momentum(np.arange(10), **kwargs)


ONE_CYCLE_BAD_ARGS = [
    ({"total_steps": 1}, "total_steps"),
    ({"total_steps": 100.5}, "total_steps"),
    ({"total_steps": -5}, "total_steps"),
    ({"max_lr": 0}, "max_lr"),
    ({"max_lr": "big"}, "max_lr"),
    ({"pct_start": 1.5}, "pct_start"),
    ({"pct_start": 0}, "pct_start"),
    ({"pct_start": 0.005}, "pct_start"),  # warm-up of 0 steps with total_steps=100
    ({"pct_start": 0.5, "three_phase": True}, "pct_start"),  # no room for the last phase
    ({"pct_start": 1.0}, "pct_start"),  # no annealing phase left
    ({"div_factor": 0}, "div_factor"),
    ({"final_div_factor": -1}, "final_div_factor"),
    ({"anneal_strategy": "cosine"}, "anneal_strategy"),
    ({"base_momentum": 2}, "base_momentum"),
    ({"max_momentum": -1}, "max_momentum"),
]


@pytest.mark.parametrize(
    "kwargs, name", ONE_CYCLE_BAD_ARGS, ids=[f"{n}-{i}" for i, (_, n) in enumerate(ONE_CYCLE_BAD_ARGS)]
)
def test_one_cycle_bad_arguments_name_the_argument(kwargs, name):
    args = {"total_steps": 100, "max_lr": 0.1}
    args.update(kwargs)
    with _raises_naming(name):
        one_cycle_lr(np.arange(10), **args)


def test_one_cycle_edge_phases_that_torch_accepts_are_accepted():
    # The shortest valid warm-up: 2 steps (pct_start * total_steps - 1 = 1).
    expected, _ = torch_one_cycle(100, 0.1, pct_start=0.02)
    assert np.abs(one_cycle_lr(np.arange(100), 100, 0.1, pct_start=0.02) - expected).max() <= TORCH_TOL


@pytest.mark.parametrize("bad_value", [float("nan"), 1.5, -0.25])
@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_scale_fn_out_of_range_raises(bad_value, scale_mode):
    def scale_fn(x):
        return np.where(np.asarray(x) >= 2, bad_value, 1.0)  # fine on cycle 1, bad later

    with pytest.raises(ValueError, match=r"`scale_fn` must return values in \[0, 1\]"):
        cyclic_lr(np.arange(500), step_size=100, scale_fn=scale_fn, scale_mode=scale_mode)


def test_scale_fn_with_wrong_shape_raises():
    with pytest.raises(ValueError, match="`scale_fn` must return one value per input"):
        cyclic_lr(np.arange(10), step_size=2, scale_fn=lambda x: np.ones(3))


def test_scalar_iteration_gives_a_scalar():
    assert cyclic_lr(2000, base_lr=0.001, max_lr=0.006).shape == ()
    assert float(cyclic_lr(2000, base_lr=0.001, max_lr=0.006)) == pytest.approx(0.006, rel=1e-15)
    assert math.isclose(float(one_cycle_lr(0, 100, 0.1)), 0.004, rel_tol=1e-15)
