"""Keras 3 ``LearningRateSchedule`` classes: the cyclical and the one-cycle policies.

The schedules compute in the graph with ``keras.ops``, so they run on the TensorFlow,
JAX and PyTorch backends, inside a compiled (``jit_compile=True``) train step. The
formulas are not repeated here: ``__call__`` evaluates ``kerasclr.policies`` with
``xp=keras.ops``, the same code that gives the NumPy vectors of the R package.

``CyclicSchedule`` replaces the archived TensorFlow Addons schedules
(``tfa.optimizers.CyclicalLearningRate`` and its ``Triangular``/``Triangular2``/
``Exponential`` variants), which do not run on Keras 3.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from kerasclr import _keras, policies

PACKAGE = "kerasclr"


# What a Keras 2 (tf_keras) optimizer passes: it takes our schedule, which is not one of its
# own LearningRateSchedules, for a callable initial value, and calls it with no step.
_NO_STEP = object()
KERAS2_MESSAGE = (
    "kerasclr's learning-rate schedules are Keras 3 schedules: a Keras 2 (tf_keras) optimizer "
    "cannot use one (it called the schedule without a step). With Keras 2 (for example the R "
    "`keras` package and `fit_generator()`), pass the same policy as a callback instead: "
    "callback_cyclic_lr() or callback_one_cycle() in R, CyclicLR or OneCycle in Python.")


def _host_step(step):
    """The step as a Python int on eager PyTorch with a CPU step counter, else None.

    There the optimizer calls the schedule as plain Python at every step, and a dozen
    ``keras.ops`` on scalar tensors cost about 50 us, several percent of a small model's
    step. Traced steps (``torch.compile``, TensorFlow, JAX) and GPU counters (where a host
    read would wait for the device) keep ``keras.ops``.
    """
    if keras.backend.backend() != "torch":
        return None
    import torch

    value = _keras.held_tensor(step)  # of a Keras variable (optimizer.iterations), or a tensor
    if (not isinstance(value, torch.Tensor) or value.dim() != 0 or value.device.type != "cpu"
            or torch.compiler.is_compiling()):
        return None
    return int(value)


# Steps of a schedule's host table filled at a time (eager PyTorch).
_HOST_BLOCK = 4096


def _host_value(schedule, formula, step, args):
    """``formula`` at ``step`` from a host table of the schedule, filled a block at a time.

    The callbacks' per-fit table (``kerasclr._tables.FitTable``, kind "host"): one vectorized
    NumPy call per block of steps, filled again when the step leaves it or the arguments change.
    """
    from kerasclr import _tables

    cached = schedule.__dict__.get("_host_table")
    if cached is None or cached[0] != args or not cached[1].start <= step < cached[1].end:
        def values_at(steps):
            lr = formula(steps.astype(np.float64), xp=np, **args)
            return lr, np.full(steps.shape, np.nan)  # no momentum

        start = step - step % _HOST_BLOCK
        cached = (args, _tables.FitTable("host", values_at).fill(start, start + _HOST_BLOCK))
        schedule.__dict__["_host_table"] = cached
    return cached[1].host(_tables.FitTable.LR, step)


def _evaluate(schedule, formula, step, args, host_ok=True):
    """``formula`` (a ``kerasclr.policies`` function) at ``step``, in float32."""
    if step is _NO_STEP:
        raise TypeError(KERAS2_MESSAGE)
    host = _host_step(step) if host_ok else None
    if host is not None:
        import torch

        return torch.tensor(_host_value(schedule, formula, host, args), dtype=torch.float32)
    # Keras passes `optimizer.iterations` (int64 on TensorFlow and PyTorch, int32 on
    # JAX without x64). float32 holds every whole step number exactly up to 2**24.
    return formula(keras.ops.cast(step, "float32"), xp=keras.ops, **args)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CyclicSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (Smith 2015, arXiv:1506.01186) as a Keras schedule.

    The learning rate moves linearly from `base_lr` up to `max_lr` in `step_size`
    steps and back down in as many, and the amplitude of each cycle is scaled by
    the mode:

    ```
    cycle = floor(1 + step / (2 * step_size))
    x = |step / step_size - 2 * cycle + 1|
    lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale
    ```

    with `scale = 1` ("triangular"), `1 / 2**(cycle - 1)` ("triangular2"),
    `gamma**step` ("exp_range"), `0.5 * (1 + sin(cycle * pi / 2))` ("sinus") or
    `0.5 * (1 + cos(cycle * pi)**2)` ("halfcosine", from the R blog that this
    package generalizes; on whole cycle numbers it is 1, so it gives the same
    values as "triangular"), or `scale_fn(cycle)` / `scale_fn(step)` for a custom
    `scale_fn`. With `step_size_up` and
    `step_size_down` the two halves of a cycle differ in length, as in PyTorch's
    `CyclicLR`. With `tail > 0` the last `tail` steps of each cycle
    (`tail_scope="cycle"`) or of the whole schedule (`tail_scope="schedule"`) are
    divided by `factor * base**i`, `i = 1..tail` (`tail_divisor=(factor, base)`,
    default `(1.1, 1.2)`), which takes the learning rate well below `base_lr` at
    the end ("annihilation").

    Steps are 0-based, as Keras counts `optimizer.iterations`: the first update
    uses `schedule(0) = base_lr`.

    Replacing `tfa.optimizers.CyclicalLearningRate`: `initial_learning_rate` is
    `base_lr`, `maximal_learning_rate` is `max_lr`, `step_size` is `step_size`;
    `scale_fn=lambda x: 1.0` is `mode="triangular"`,
    `scale_fn=lambda x: 1 / 2.0**(x - 1)` is `mode="triangular2"`, and
    `scale_fn=lambda x: gamma**x, scale_mode="iterations"` is
    `mode="exp_range", gamma=gamma`. Named modes need no lambda, so a model that
    uses them saves and loads without `safe_mode=False`.

    Example:

    >>> import keras
    >>> from kerasclr import CyclicSchedule
    >>> schedule = CyclicSchedule(base_lr=1e-4, max_lr=1e-2, step_size=4,
    ...                           mode="triangular2")
    >>> [round(float(schedule(step)), 5) for step in (0, 2, 4, 8, 12)]
    [0.0001, 0.00505, 0.01, 0.0001, 0.00505]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)

    Args:
        base_lr: Float >= 0. The lower bound of the cycle.
        max_lr: Float >= `base_lr`. The upper bound of the cycle (only reached
            when the mode's scale is 1).
        step_size: Positive number. Steps in half a cycle (Smith suggests 2 to 8
            epochs' worth of steps).
        mode: One of "triangular", "triangular2", "exp_range", "sinus",
            "halfcosine". Ignored when `scale_fn` is given.
        gamma: Positive float, the base of `gamma**step` in "exp_range".
        scale_fn: `None`, or a function of one tensor argument returning values
            in [0, 1], written with `keras.ops` (it is called in the graph).
            To save a model that uses it, register it with
            `@keras.saving.register_keras_serializable()`.
        scale_mode: `None`, "cycle" or "iterations": what `scale_fn` receives,
            the 1-based cycle number or the step. `None` means "cycle" for a
            custom `scale_fn` and the mode's own choice otherwise.
        step_size_up: `None` or a positive number: steps of the rising half
            (overrides `step_size`).
        step_size_down: `None` or a positive number: steps of the falling half
            (defaults to the rising half).
        tail: Integer >= 0. Number of annealing steps at the end of each cycle
            or of the schedule.
        tail_scope: "cycle" or "schedule".
        tail_divisor: `None` or a pair `(factor, base)`; the i-th tail step is
            divided by `factor * base**i`.
        total_iterations: `None` or a positive number: the length of the
            schedule, needed when `tail_scope="schedule"`.

    Raises:
        ValueError: If an argument is invalid (the message names it), or if
            `scale_fn` returns values outside [0, 1] (or NaN) on the first cycles.
    """

    def __init__(
        self,
        base_lr: float = 0.001,
        max_lr: float = 0.006,
        step_size: float = 2000,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable | None = None,
        scale_mode: str | None = None,
        step_size_up: float | None = None,
        step_size_down: float | None = None,
        tail: int = 0,
        tail_scope: str = "cycle",
        tail_divisor: tuple[float, float] | None = None,
        total_iterations: int | None = None,
    ):
        super().__init__()
        up, down = policies.check_cycle_args(
            base_lr,
            max_lr,
            step_size,
            mode,
            gamma,
            scale_fn,
            scale_mode,
            step_size_up,
            step_size_down,
            tail,
            tail_scope,
            tail_divisor,
            total_iterations,
        )
        self.base_lr = base_lr
        self.max_lr = max_lr
        self.step_size = step_size
        self.mode = mode
        self.gamma = gamma
        self.scale_fn = scale_fn
        self.scale_mode = scale_mode
        self.step_size_up = step_size_up
        self.step_size_down = step_size_down
        self.tail = tail
        self.tail_scope = tail_scope
        # A list, so that the config is the same before and after a JSON round trip.
        self.tail_divisor = None if tail_divisor is None else [float(v) for v in tail_divisor]
        self.total_iterations = total_iterations
        if scale_fn is not None:
            # In the graph the values of scale_fn cannot be checked; check the first
            # three cycles now (NumPy path of the same formula) so a bad function fails early.
            probe = np.arange(int(min(3 * (up + down), 10_000)) + 1)
            policies.cyclic_lr(probe, **self._policy_args())

    def _policy_args(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_fn": self.scale_fn,
            "scale_mode": self.scale_mode,
            "step_size_up": self.step_size_up,
            "step_size_down": self.step_size_down,
            "tail": self.tail,
            "tail_scope": self.tail_scope,
            "tail_divisor": self.tail_divisor,
            "total_iterations": self.total_iterations,
        }

    def __call__(self, step=_NO_STEP):
        # A custom scale_fn is written with keras.ops: it gets tensors.
        return _evaluate(self, policies.cyclic_lr, step, self._policy_args(), host_ok=self.scale_fn is None)

    def get_config(self):
        config = self._policy_args()
        config["scale_fn"] = _serialize_scale_fn(self.scale_fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("scale_fn"), dict):
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The one-cycle learning rate (Smith & Topin 2017), as PyTorch's `OneCycleLR` or fastai's `fit_one_cycle`.

    Two phases (three with `three_phase=True`) over `total_steps` steps:

    ```
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    warm-up,  steps 0 .. pct_start * total_steps - 1:    initial_lr -> max_lr
    anneal,   ..  total_steps - 1:                        max_lr -> min_lr
    (three_phase: max_lr -> initial_lr over the same number of steps as the
     warm-up, then initial_lr -> min_lr)
    cos:    lr(p) = end + (start - end) / 2 * (1 + cos(pi * p)),  p in [0, 1]
    linear: lr(p) = start + (end - start) * p
    ```

    where `p` is the fraction of the current phase done (PyTorch's convention; with
    `convention="fastai"`, the phases are read on fastai's clock `step / total_steps`,
    see `kerasclr.policies.one_cycle_lr`). After the last step its value is held
    (PyTorch raises an error there instead).

    Example:

    >>> from kerasclr import OneCycleSchedule
    >>> schedule = OneCycleSchedule(total_steps=100, max_lr=0.1)
    >>> [float(f"{float(schedule(step)):.3g}") for step in (0, 29, 99, 150)]
    [0.004, 0.1, 4e-07, 4e-07]

    Args:
        total_steps: Integer >= 2. The length of the cycle, in steps (batches).
        max_lr: Positive float, the peak learning rate.
        pct_start: Float in (0, 1): the fraction of steps spent warming up.
        div_factor: Positive float: `initial_lr = max_lr / div_factor`.
        final_div_factor: Positive float: `min_lr = initial_lr / final_div_factor`.
        anneal_strategy: "cos" or "linear".
        three_phase: Bool: anneal back to `initial_lr` symmetrically before the
            final decay (fast.ai's and Smith's original shape).
        convention: "pytorch" (`OneCycleLR`) or "fastai" (`fit_one_cycle`): where the
            steps fall on the cycle.

    Raises:
        ValueError: If an argument is invalid or gives an empty phase.
    """

    def __init__(
        self,
        total_steps: int,
        max_lr: float,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal_strategy: str = "cos",
        three_phase: bool = False,
        convention: str = "pytorch",
    ):
        super().__init__()
        policies.check_one_cycle_args(
            total_steps,
            max_lr,
            pct_start,
            div_factor,
            final_div_factor,
            anneal_strategy,
            three_phase,
            base_momentum=0.85,
            max_momentum=0.95,
            convention=convention,
        )
        self.total_steps = total_steps
        self.max_lr = max_lr
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal_strategy = anneal_strategy
        self.three_phase = three_phase
        self.convention = convention

    def __call__(self, step=_NO_STEP):
        return _evaluate(self, policies.one_cycle_lr, step, self.get_config())

    def get_config(self):
        return {
            "total_steps": self.total_steps,
            "max_lr": self.max_lr,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal_strategy": self.anneal_strategy,
            "three_phase": self.three_phase,
            "convention": self.convention,
        }


def _serialize_scale_fn(scale_fn):
    """The config entry of a custom `scale_fn`: a registered function, or a clear error."""
    if scale_fn is None:
        return None
    name = getattr(scale_fn, "__name__", None)
    registered = (
        name is not None
        and name != "<lambda>"
        and keras.saving.get_registered_object(keras.saving.get_registered_name(scale_fn)) is scale_fn
    )
    if not registered:
        raise ValueError(
            f"Argument `scale_fn` cannot be saved: {scale_fn!r} is not a registered Keras object. "
            "Define it as a named function decorated with "
            "`@keras.saving.register_keras_serializable()`, or use a named `mode` "
            "('triangular', 'triangular2', 'exp_range', 'sinus', 'halfcosine') instead."
        )
    return keras.saving.serialize_keras_object(scale_fn)
