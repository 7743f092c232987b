"""The learning-rate and momentum policies: the one home of every formula.

Every function here is vectorized over an array of iteration numbers and written
against an *array namespace* ``xp``: NumPy (float64, the default) for the R vectors
and the callbacks, or ``keras.ops`` for the in-graph ``LearningRateSchedule``
classes. Writing the maths once for both keeps them identical by construction.

Iterations are 0-based training steps: ``cyclic_lr(np.arange(n))`` is the sequence
that a training run of ``n`` steps sees.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

CLR_MODES = ("triangular", "triangular2", "exp_range", "sinus", "halfcosine")
SCALE_MODES = ("cycle", "iterations")
TAIL_SCOPES = ("cycle", "schedule")
ANNEAL_STRATEGIES = ("cos", "linear")
DEFAULT_TAIL_DIVISOR = (1.1, 1.2)

ONE_CYCLE_CONVENTIONS = ("pytorch", "fastai")

# Parameter presets for the one-cycle policy. "pytorch" is the default of
# torch.optim.lr_scheduler.OneCycleLR; "fastai" is fastai's Learner.fit_one_cycle()
# (fastai 2.x defaults: lr_max/25 -> lr_max -> lr_max/1e5, 25% warm-up, momentum
# 0.95 -> 0.85 -> 0.95, on fastai's own clock: see `one_cycle_lr`).
ONE_CYCLE_PRESETS = {
    "pytorch": dict(pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                    anneal_strategy="cos", three_phase=False, convention="pytorch",
                    base_momentum=0.85, max_momentum=0.95),
    "fastai": dict(pct_start=0.25, div_factor=25.0, final_div_factor=1e5 / 25.0,
                   anneal_strategy="cos", three_phase=False, convention="fastai",
                   base_momentum=0.85, max_momentum=0.95),
}


# --------------------------------------------------------------------------- #
# Argument checks (Keras style messages; the R layer checks before calling).
# --------------------------------------------------------------------------- #
def _check_number(name, value, minimum=None, strict=True, maximum=None):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    if not math.isfinite(number):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value!r}")
    if minimum is not None:
        if (strict and number <= minimum) or (not strict and number < minimum):
            op = ">" if strict else ">="
            raise ValueError(f"Argument `{name}` must be {op} {minimum}. Received: {name}={value!r}")
    if maximum is not None and number > maximum:
        raise ValueError(f"Argument `{name}` must be <= {maximum}. Received: {name}={value!r}")
    return number


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Argument `{name}` must be one of {list(choices)}. Received: {name}={value!r}")
    return value


def check_cycle_args(base_lr, max_lr, step_size, mode, gamma, scale_fn, scale_mode,
                     step_size_up, step_size_down, tail, tail_scope, tail_divisor,
                     total_iterations, length_from_fit=False):
    """Validates the arguments of the cyclical policy; returns the half-cycle lengths.

    With ``length_from_fit`` (the callback, whose first ``fit()`` sets a missing
    ``step_size``), no ``step_size`` is allowed: the rising half is then None, and the
    tail is checked against the cycle once the length is known.
    """
    _check_number("base_lr", base_lr, minimum=0, strict=False)
    _check_number("max_lr", max_lr, minimum=0, strict=False)
    if float(max_lr) < float(base_lr):
        raise ValueError(f"Argument `max_lr` must be >= base_lr ({base_lr}). Received: max_lr={max_lr}")
    if length_from_fit and step_size is None and step_size_up is None:
        up = None
    else:
        up = _check_number("step_size_up" if step_size_up is not None else "step_size",
                           step_size if step_size_up is None else step_size_up, minimum=0)
    down = up if step_size_down is None else _check_number("step_size_down", step_size_down, minimum=0)
    if scale_fn is None:
        _check_choice("mode", mode, CLR_MODES)
    elif not callable(scale_fn):
        raise ValueError(f"Argument `scale_fn` must be callable. Received: scale_fn={scale_fn!r}")
    if scale_mode is not None:
        _check_choice("scale_mode", scale_mode, SCALE_MODES)
    _check_number("gamma", gamma, minimum=0)
    tail_number = _check_number("tail", tail, minimum=0, strict=False)
    if tail_number != int(tail_number):  # int() would silently drop the fraction
        raise ValueError(f"Argument `tail` must be a whole number of steps. Received: tail={tail!r}")
    tail = int(tail_number)
    _check_choice("tail_scope", tail_scope, TAIL_SCOPES)
    if tail > 0 and tail_scope == "cycle" and up is not None and tail > up + down:
        raise ValueError(f"Argument `tail` must be <= the cycle length ({up + down:g}). Received: tail={tail}")
    if tail > 0 and tail_scope == "schedule" and total_iterations is None:
        raise ValueError("Argument `total_iterations` is needed when tail_scope='schedule'.")
    if total_iterations is not None:
        _check_number("total_iterations", total_iterations, minimum=0)
    if tail_divisor is not None:
        if isinstance(tail_divisor, str) or not hasattr(tail_divisor, "__len__") or len(tail_divisor) != 2:
            raise ValueError(f"Argument `tail_divisor` must be a pair (factor, base). Received: tail_divisor={tail_divisor!r}")
        _check_number("tail_divisor[0]", tail_divisor[0], minimum=0)
        _check_number("tail_divisor[1]", tail_divisor[1], minimum=0)
    return up, down


def check_one_cycle_args(total_steps, max_lr, pct_start, div_factor, final_div_factor,
                         anneal_strategy, three_phase, base_momentum, max_momentum,
                         convention="pytorch"):
    total_steps = _check_number("total_steps", total_steps, minimum=0)
    if total_steps != int(total_steps) or total_steps < 2:
        raise ValueError(f"Argument `total_steps` must be an integer >= 2. Received: total_steps={total_steps}")
    _check_number("max_lr", max_lr, minimum=0)
    _check_number("pct_start", pct_start, minimum=0, maximum=1)
    _check_number("div_factor", div_factor, minimum=0)
    _check_number("final_div_factor", final_div_factor, minimum=0)
    _check_choice("anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
    _check_choice("convention", convention, ONE_CYCLE_CONVENTIONS)
    _check_number("base_momentum", base_momentum, minimum=0, strict=False, maximum=1)
    _check_number("max_momentum", max_momentum, minimum=0, strict=False, maximum=1)
    if convention == "fastai":
        # Phases are fractions of the cycle: each must be a non-empty interval of [0, 1].
        if (2 if three_phase else 1) * float(pct_start) >= 1:
            raise ValueError(
                f"Argument `pct_start` leaves no annealing phase. Received: pct_start={pct_start}")
        return
    # The phases must have positive lengths, else PyTorch divides by zero.
    n_warm = float(pct_start * total_steps) - 1
    if n_warm <= 0 or (three_phase and 2 * n_warm + 1 >= total_steps - 1) or n_warm >= total_steps - 1:
        raise ValueError(
            f"Argument `pct_start` gives an empty phase with total_steps={int(total_steps)}. "
            f"Received: pct_start={pct_start}")


# --------------------------------------------------------------------------- #
# Cyclical learning rates (Smith 2015, arXiv:1506.01186)
# --------------------------------------------------------------------------- #
def _mod(x, period, xp):
    """x mod period for x >= 0 (exact for integer-valued x)."""
    return x - xp.floor(x / period) * period


def _mode_scale(mode, gamma, xp):
    """The amplitude scaling function of a named mode, and what it is evaluated on."""
    if mode == "triangular":
        return None, "cycle"  # no scaling: skip the multiplication
    if mode == "triangular2":
        return (lambda c: xp.power(0.5, c - 1.0)), "cycle"  # 1/2**(c-1), without overflow
    if mode == "exp_range":
        # gamma**it as exp(it*log(gamma)), log taken in float64: float32(gamma)**it would
        # carry gamma's rounding error times it (2e-4 relative at it=2e4, gamma=0.99999).
        return (lambda it: xp.exp(it * math.log(float(gamma)))), "iterations"
    # sin and cos are evaluated on the cycle number reduced by their period (c mod 4 and
    # c mod 2: the same values), so float32 does not lose the argument after many cycles.
    if mode == "sinus":
        return (lambda c: 0.5 * (1.0 + xp.sin(_mod(c, 4.0, xp) * (math.pi / 2.0)))), "cycle"
    if mode == "halfcosine":  # as in the R blog: 0.5 * (1 + cos(cycle * pi)^2)
        return (lambda c: 0.5 * (1.0 + xp.power(xp.cos(_mod(c, 2.0, xp) * math.pi), 2.0))), "cycle"
    raise ValueError(f"Argument `mode` must be one of {list(CLR_MODES)}. Received: mode={mode!r}")


def _cycle_geometry(iterations, up, down, xp):
    """Cycle number (1-based) and the triangle height in [0, 1] at each iteration.

    For up == down this is the paper's ``cycle = floor(1 + it/(2*step_size))``,
    ``height = max(0, 1 - |it/step_size - 2*cycle + 1|)``; the general form is
    PyTorch's CyclicLR, which allows asymmetric cycles. The height is computed from
    the step's position inside its cycle (exact for integer steps) rather than from
    the fractional part of ``it/cycle_length``: in float32 (``keras.ops``) the latter
    loses about ``ulp(it/cycle_length)``, i.e. 1e-3 of the amplitude at step 1e5
    with step_size=7.
    """
    total = up + down
    completed = xp.floor(iterations / total)
    position = iterations - completed * total  # steps since the current cycle began
    # Rising edge position/up, falling edge (total - position)/down: the smaller of the two
    # is the triangle (one pass, no `where`); the clamp absorbs float32 rounding of `completed`.
    height = xp.maximum(xp.minimum(position / up, (total - position) / down), 0.0)
    return completed + 1.0, height


def _amplitude(iterations, up, down, mode, gamma, scale_fn, scale_mode, xp):
    """(max - min) multiplier at each iteration: triangle height times the scaling."""
    cycle, height = _cycle_geometry(iterations, up, down, xp)
    if scale_fn is None:
        scale_fn, default_mode = _mode_scale(mode, gamma, xp)
    else:
        default_mode = "cycle"
    if scale_fn is None:
        return height
    on = scale_mode or default_mode
    scale = scale_fn(cycle if on == "cycle" else iterations)
    if xp is np:
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape not in ((), np.shape(iterations)):
            raise ValueError(f"Argument `scale_fn` must return one value per input; "
                             f"got {scale.size} values for {np.size(iterations)} inputs.")
        if not np.all((scale >= 0) & (scale <= 1)):  # also catches NaN
            bad = scale[~((scale >= 0) & (scale <= 1))].ravel()[0]
            raise ValueError(f"Argument `scale_fn` must return values in [0, 1]; it returned {bad!r}.")
    return height * scale


def _apply_tail(lr, iterations, tail, tail_scope, tail_divisor, cycle_length, total_iterations, xp):
    """Divides the last `tail` steps of each cycle (or of the whole schedule) by a growing divisor."""
    factor, base = tail_divisor or DEFAULT_TAIL_DIVISOR
    if tail_scope == "cycle":
        position = iterations - xp.floor(iterations / cycle_length) * cycle_length
        end = cycle_length
    else:
        position = xp.minimum(iterations, total_iterations - 1.0)
        end = float(total_iterations)
    i = position - (end - tail) + 1.0  # 1..tail inside the tail, <= 0 before it
    divisor = xp.where(i >= 1.0, float(factor) * xp.power(float(base), xp.maximum(i, 0.0)), 1.0)
    return lr / divisor


def _as_iterations(iterations, xp, name="iterations"):
    if xp is np:
        it = np.asarray(iterations, dtype=np.float64)
        if not np.all(np.isfinite(it)):
            raise ValueError(f"Argument `{name}` must not contain NA, NaN or infinite values.")
        if np.any(it < 0):
            raise ValueError(f"Argument `{name}` must be >= 0. Received a minimum of {it.min():g}.")
        return it
    return xp.cast(iterations, "float32")


def cyclic_lr(iterations: ArrayLike, base_lr: float = 0.001, max_lr: float = 0.006,
              step_size: float = 2000, mode: str = "triangular", gamma: float = 1.0,
              scale_fn: Callable | None = None, scale_mode: str | None = None,
              step_size_up: float | None = None, step_size_down: float | None = None,
              tail: int = 0, tail_scope: str = "cycle",
              tail_divisor: tuple[float, float] | None = None,
              total_iterations: int | None = None, xp: Any = np) -> np.ndarray:
    """Cyclical learning rate at each iteration (Smith 2017).

    ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale_fn(cycle or it)`` with
    ``cycle = floor(1 + it/(2*step_size))`` and ``x = |it/step_size - 2*cycle + 1|``,
    then the last ``tail`` steps of each cycle (``tail_scope="cycle"``) or of the
    schedule (``"schedule"``, needs ``total_iterations``) are divided by
    ``factor * base**i``, i = 1..tail (default factor 1.1, base 1.2).

    Args:
        iterations: array of 0-based step numbers (>= 0).
        base_lr, max_lr: lower and upper bounds of the cycle.
        step_size: steps per half cycle (``step_size_up``/``step_size_down`` for
            asymmetric cycles, as in PyTorch's ``CyclicLR``).
        mode: "triangular", "triangular2", "exp_range", "sinus" or "halfcosine".
        gamma: the base of ``gamma**iteration`` in "exp_range".
        scale_fn: custom amplitude scaling, values in [0, 1]; overrides ``mode``.
        scale_mode: "cycle" or "iterations": what ``scale_fn`` is evaluated on.
        tail, tail_scope, tail_divisor, total_iterations: the annealing tail.
        xp: ``numpy`` (float64, checked) or ``keras.ops`` (float32, in-graph).

    Returns:
        An array of learning rates, the shape of ``iterations``.

    Example:

    >>> import numpy as np
    >>> from kerasclr import cyclic_lr
    >>> cyclic_lr(np.arange(0, 9, 2), base_lr=0.001, max_lr=0.005, step_size=4)
    array([0.001, 0.003, 0.005, 0.003, 0.001])
    >>> cyclic_lr([0, 4, 8, 12], base_lr=0.0, max_lr=1.0, step_size=4, mode="triangular2")
    array([0. , 1. , 0. , 0.5])
    """
    up, down = check_cycle_args(base_lr, max_lr, step_size, mode, gamma, scale_fn, scale_mode,
                                step_size_up, step_size_down, tail, tail_scope, tail_divisor,
                                total_iterations)
    it = _as_iterations(iterations, xp)
    amplitude = _amplitude(it, up, down, mode, gamma, scale_fn, scale_mode, xp)
    lr = float(base_lr) + (float(max_lr) - float(base_lr)) * amplitude
    if int(tail) > 0:
        lr = _apply_tail(lr, it, int(tail), tail_scope, tail_divisor, up + down,
                         None if total_iterations is None else float(total_iterations), xp)
    return lr


def cyclic_momentum(iterations: ArrayLike, base_momentum: float = 0.85,
                    max_momentum: float = 0.95, step_size: float = 2000,
                    mode: str = "triangular", gamma: float = 1.0,
                    scale_fn: Callable | None = None, scale_mode: str | None = None,
                    step_size_up: float | None = None, step_size_down: float | None = None,
                    xp: Any = np, **ignored_lr_args: Any) -> np.ndarray:
    """Momentum cycling opposite to the learning rate, as PyTorch's ``CyclicLR(cycle_momentum=True)``.

    ``momentum = max_momentum - (max_momentum - base_momentum) * height * scale``, where
    ``height * scale`` is the amplitude of ``cyclic_lr`` at that iteration: the momentum is
    ``max_momentum`` at the lowest learning rate and ``base_momentum`` at the peak.

    Args:
        iterations: array of 0-based step numbers (>= 0).
        base_momentum, max_momentum: the momentum at the peak and at the trough of the
            learning rate, ``0 <= base_momentum <= max_momentum <= 1``.
        step_size, mode, gamma, scale_fn, scale_mode, step_size_up, step_size_down: the
            cycle, as in ``cyclic_lr``.
        xp: ``numpy`` or ``keras.ops``.
        **ignored_lr_args: learning-rate arguments (``base_lr``, ``tail``, ...), accepted
            and ignored, so that one set of cycle arguments can be passed to both functions.

    Returns:
        An array of momentum values, the shape of ``iterations``.

    Example:

    >>> from kerasclr import cyclic_momentum
    >>> cyclic_momentum([0, 2, 4, 6, 8], base_momentum=0.85, max_momentum=0.95, step_size=4)
    array([0.95, 0.9 , 0.85, 0.9 , 0.95])
    """
    _check_number("base_momentum", base_momentum, minimum=0, strict=False, maximum=1)
    _check_number("max_momentum", max_momentum, minimum=0, strict=False, maximum=1)
    if float(max_momentum) < float(base_momentum):
        raise ValueError(f"Argument `max_momentum` must be >= base_momentum ({base_momentum}). "
                         f"Received: max_momentum={max_momentum}")
    up, down = check_cycle_args(0.0, 1.0, step_size, mode, gamma, scale_fn, scale_mode,
                                step_size_up, step_size_down, 0, "cycle", None, None)
    it = _as_iterations(iterations, xp)
    amplitude = _amplitude(it, up, down, mode, gamma, scale_fn, scale_mode, xp)
    return float(max_momentum) - (float(max_momentum) - float(base_momentum)) * amplitude


# --------------------------------------------------------------------------- #
# One-cycle policy (Smith & Topin 2017): PyTorch's OneCycleLR or fastai's fit_one_cycle
# --------------------------------------------------------------------------- #
def one_cycle_phases(total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                     three_phase=False, base_momentum=0.85, max_momentum=0.95, convention="pytorch"):
    """The phases of the cycle: ``(end, start_lr, end_lr, start_momentum, end_momentum)``.

    ``end`` is read on the convention's clock (see ``one_cycle_lr``): the phase's last
    step ("pytorch") or the fraction of the cycle at which it ends ("fastai").
    """
    initial_lr = float(max_lr) / float(div_factor)
    min_lr = initial_lr / float(final_div_factor)
    if convention == "fastai":
        ends = [float(pct_start), 2.0 * float(pct_start), 1.0]
    else:
        ends = [float(pct_start * total_steps) - 1.0, float(2 * pct_start * total_steps) - 2.0,
                total_steps - 1.0]
    if three_phase:
        return [(ends[0], initial_lr, float(max_lr), max_momentum, base_momentum),
                (ends[1], float(max_lr), initial_lr, base_momentum, max_momentum),
                (ends[2], initial_lr, min_lr, max_momentum, max_momentum)]
    return [(ends[0], initial_lr, float(max_lr), max_momentum, base_momentum),
            (ends[2], float(max_lr), min_lr, base_momentum, max_momentum)]


def _anneal(start, end, remaining, strategy, xp):
    """PyTorch's (and fastai's) annealing from `start` to `end`, written with `remaining` = 1 - pct.

    cos: ``end + (start - end)/2 * (cos(pi*pct) + 1)`` = ``end + (start - end) * sin(pi/2*remaining)**2``
    (fastai's ``sched_cos``, ``start + (1 + cos(pi*(1 - pct))) * (end - start)/2``, is the same);
    linear: ``(end - start)*pct + start`` = ``end + (start - end) * remaining``. The same values,
    but exact at the end of a phase: in float32 ``cos(pi*pct) + 1`` cancels near pct = 1
    (the final lr was 0.2% off with max_lr=1), while the sine form stays relative.
    """
    if strategy == "cos":
        return end + (start - end) * xp.power(xp.sin((math.pi / 2.0) * remaining), 2.0)
    return end + (start - end) * remaining


def _one_cycle(iterations, total_steps, which, max_lr, pct_start, div_factor, final_div_factor,
               anneal_strategy, three_phase, base_momentum, max_momentum, convention, xp):
    check_one_cycle_args(total_steps, max_lr, pct_start, div_factor, final_div_factor,
                         anneal_strategy, three_phase, base_momentum, max_momentum, convention)
    it = _as_iterations(iterations, xp)
    it = xp.minimum(it, float(total_steps) - 1.0)  # hold the final value after the last step
    phases = one_cycle_phases(total_steps, max_lr, pct_start, div_factor, final_div_factor,
                              three_phase, base_momentum, max_momentum, convention)
    if convention == "fastai":
        clock = it / float(total_steps)  # fastai's pct_train at the step

        def inside(end):  # combine_scheds: the phase whose [start, end) holds the clock
            return clock < end
    else:
        clock = it

        def inside(end):  # OneCycleLR: the first phase with step <= its end step
            return clock <= end
    # Walk the phases from last to first so the earliest matching phase wins.
    result = None
    starts = [0.0] + [p[0] for p in phases[:-1]]
    for index in reversed(range(len(phases))):
        end = phases[index][0]
        start_value, end_value = phases[index][1:3] if which == "lr" else phases[index][3:5]
        remaining = (end - clock) / (end - starts[index])  # 1 - fraction of the phase done
        value = _anneal(float(start_value), float(end_value), remaining, anneal_strategy, xp)
        result = value if result is None else xp.where(inside(end), value, result)
    return result


def one_cycle_lr(iterations: ArrayLike, total_steps: int, max_lr: float,
                 pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, anneal_strategy: str = "cos",
                 three_phase: bool = False, xp: Any = np, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, convention: str = "pytorch") -> np.ndarray:
    """One-cycle learning rate at each iteration: PyTorch's ``OneCycleLR`` or fastai's ``fit_one_cycle``.

    Warm-up from ``max_lr/div_factor`` to ``max_lr`` over ``pct_start`` of the steps,
    then annealing ("cos" or "linear") to ``max_lr/(div_factor*final_div_factor)``
    (with ``three_phase``: back to the initial rate, then down to the minimum). After
    the last step the value of the last step is held. ``ONE_CYCLE_PRESETS`` holds
    PyTorch's and fastai's parameters:
    ``one_cycle_lr(it, n, max_lr, **ONE_CYCLE_PRESETS["fastai"])``.

    ``convention`` places the steps on the cycle:

    - "pytorch" (``torch.optim.lr_scheduler.OneCycleLR``): a phase ending at step ``e``
      (``pct_start * total_steps - 1`` for the warm-up, ``total_steps - 1`` for the
      annealing) and starting at the previous phase's end ``s`` (0 for the first) has
      ``pct = (step - s) / (e - s)``, so step 0 has the initial rate, step
      ``pct_start * total_steps - 1`` the peak and the last step exactly the final rate.
    - "fastai" (fastai 2.x ``Learner.fit_one_cycle``, ``fastai/callback/schedule.py``:
      ``combined_cos(pct_start, lr_max/div, lr_max, lr_max/div_final)`` evaluated by
      ``ParamScheduler`` at ``pos = pct_train = step / total_steps``): the warm-up holds
      ``pos`` in ``[0, pct_start)`` with ``pct = pos / pct_start``, the annealing
      ``[pct_start, 1)`` with ``pct = (pos - pct_start) / (1 - pct_start)`` (three-phase:
      boundaries ``pct_start`` and ``2 * pct_start``). So the peak falls at step
      ``pct_start * total_steps`` and the last step stops one step short of the final
      rate: with 100 steps, ``max_lr`` 0.1 and the fastai preset, the peak is at step 25
      and the last rate 4.49e-5 (not 1e-6).

    Args:
        iterations: array of 0-based step numbers (>= 0).
        total_steps: Integer >= 2, the length of the cycle in steps.
        max_lr: Positive float, the peak learning rate.
        pct_start: Float in (0, 1): the fraction of steps spent warming up.
        div_factor: the first rate is ``max_lr / div_factor``.
        final_div_factor: the last rate is the first divided by this.
        anneal_strategy: "cos" or "linear".
        three_phase: anneal back to the first rate before the final decay.
        xp: ``numpy`` or ``keras.ops``.
        base_momentum, max_momentum: accepted (and checked) so that one set of
            arguments, a preset included, serves this and ``one_cycle_momentum``.
        convention: "pytorch" or "fastai", see above.

    Returns:
        An array of learning rates, the shape of ``iterations``.

    Example:

    >>> import numpy as np
    >>> from kerasclr import one_cycle_lr
    >>> lr = one_cycle_lr(np.arange(100), total_steps=100, max_lr=0.1)
    >>> int(np.argmax(lr)), round(float(lr.max()), 6), round(float(lr[0]), 6)
    (29, 0.1, 0.004)
    """
    return _one_cycle(iterations, total_steps, "lr", max_lr, pct_start, div_factor,
                      final_div_factor, anneal_strategy, three_phase, base_momentum,
                      max_momentum, convention, xp)


def one_cycle_momentum(iterations: ArrayLike, total_steps: int, max_lr: float = 1.0,
                       pct_start: float = 0.3, div_factor: float = 25.0,
                       final_div_factor: float = 1e4, anneal_strategy: str = "cos",
                       three_phase: bool = False, xp: Any = np, base_momentum: float = 0.85,
                       max_momentum: float = 0.95, convention: str = "pytorch") -> np.ndarray:
    """The momentum that goes with ``one_cycle_lr`` (PyTorch's ``cycle_momentum=True``).

    ``max_momentum`` down to ``base_momentum`` while the learning rate warms up, and
    back up while it anneals (fastai's ``moms=(0.95, 0.85, 0.95)`` with
    ``convention="fastai"``).

    Args:
        iterations, total_steps, pct_start, anneal_strategy, three_phase, xp,
            convention: as in ``one_cycle_lr``.
        max_lr, div_factor, final_div_factor: accepted (and checked) so that one set
            of arguments serves both functions.
        base_momentum, max_momentum: the momentum at the peak learning rate and at
            the start and end, ``0 <= base_momentum <= max_momentum <= 1``.

    Returns:
        An array of momentum values, the shape of ``iterations``.

    Example:

    >>> from kerasclr import one_cycle_momentum
    >>> [round(float(m), 3) for m in one_cycle_momentum([0, 29, 99], total_steps=100)]
    [0.95, 0.85, 0.95]
    """
    return _one_cycle(iterations, total_steps, "momentum", max_lr, pct_start, div_factor,
                      final_div_factor, anneal_strategy, three_phase, base_momentum,
                      max_momentum, convention, xp)
