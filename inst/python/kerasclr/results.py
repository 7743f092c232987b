"""The result of the learning-rate range test, and how the callbacks read it.

``kerasclr.lr_range_test()`` computes (``kerasclr.range_test``); this module only holds
what it found, in a form to look at: ``RangeTestResult``. ``CyclicLR(lr_range=...)`` and
``OneCycle(max_lr=...)`` accept it directly (``lr_range_of()``, ``max_lr_of()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Iterator, Sequence

import numpy as np

from kerasclr._optional import optional_import

SUGGESTION_NOTES = {
    "valley": "(fastai's default)",
    "steep": "",
    "minimum": "(a tenth of the lr at the lowest loss)",
    "slide": "",
}


def _lr(value: Any) -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:.3g}"


class RangeTestResult(Mapping):
    """What a learning-rate range test found: the curve, the suggestions, the range.

    Returned by `kerasclr.lr_range_test()`; not made by hand. Pass it on as it is:
    `CyclicLR(lr_range=result)` cycles between `result.lr_range`, and
    `OneCycle(max_lr=result)` peaks at `result.lr_range[1]`.

    It also reads as a mapping of its field names (`result["lr_range"]`), like the
    dict that the range test returned before this class existed.

    Attributes:
        lr_range: `(base_lr, max_lr)` of the best run, by the rule documented (with
            its evidence) in `kerasclr.suggestions.lr_range_rule`. NaNs when the
            curve was too short.
        suggestions: fastai's four suggestions for the best run, by name: a dict
            `{"valley": lr, "steep": lr, "minimum": lr, "slide": lr}` (NaN where the
            curve is too short for a method).
        history: a dict of NumPy float64 arrays, one row per step and run: `lr`,
            `loss` (the loss of each batch), `smoothed_loss` and, when used,
            `val_loss`, `weight_decay`, `momentum`.
        runs: one dict per run (one per grid value of `weight_decay`/`momentum`):
            `weight_decay`, `momentum`, `steps`, `stop_reason` ("completed",
            "diverged", "nan", "exhausted"), `message`, `suggestions`, `lr_range`,
            `score` (its minimum validation loss, else smoothed loss).
        best_run: the index in `runs` of the run with the lowest `score`.
        settings: the test's settings (`start_lr`, `end_lr`, `num_iter`,
            `step_mode`, `diverge_threshold`, `smooth`, `batch_size`, `backend`).

    Example:

    >>> import keras, numpy as np
    >>> from kerasclr import lr_range_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 4)).astype("float32")
    >>> y = x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    >>> result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=10, num_iter=40,
    ...                        verbose=False)
    >>> sorted(result.suggestions)
    ['minimum', 'slide', 'steep', 'valley']
    >>> base_lr, max_lr = result.lr_range
    >>> bool(np.isclose(base_lr, max_lr / 4))
    True
    >>> list(result.history)
    ['lr', 'loss', 'smoothed_loss']
    >>> result.history["lr"].shape == (result.runs[0]["steps"],)
    True
    >>> result.to_pandas().columns.tolist()
    ['lr', 'loss', 'smoothed_loss']
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = result.plot()
    >>> ax.get_xlabel(), ax.get_xscale()
    ('learning rate', 'log')
    """

    _FIELDS = ("history", "runs", "best_run", "suggestions", "lr_range", "settings")

    def __init__(self, history: Mapping[str, Sequence[float]], runs: Sequence[Mapping[str, Any]],
                 best_run: int, suggestions: Mapping[str, float], lr_range: Sequence[float],
                 settings: Mapping[str, Any]):
        self.history = {key: np.asarray(values, dtype=np.float64) for key, values in history.items()}
        self.runs = [dict(run) for run in runs]
        self.best_run = int(best_run)
        self.suggestions = {name: float(value) for name, value in suggestions.items()}
        low, high = (float(v) for v in lr_range)
        self.lr_range = (low, high)
        self.settings = dict(settings)

    # -- looking at it ------------------------------------------------------ #
    def to_pandas(self):
        """The history as a `pandas.DataFrame`, one row per step (and run).

        Returns:
            A DataFrame with the columns of `history`, plus `run` (the index in
            `runs`) when the test ran a grid.

        Raises:
            ImportError: if pandas is not installed (`pip install "kerasclr[plot]"`).
        """
        pd = optional_import("pandas", "RangeTestResult.to_pandas()")
        frame = pd.DataFrame(self.history)
        if len(self.runs) > 1:
            frame.insert(0, "run", np.repeat(np.arange(len(self.runs)),
                                             [run["steps"] for run in self.runs]))
        return frame

    def plot(self, ax: Any = None, skip_end: int = 5) -> Any:
        """Plots the smoothed loss against the learning rate, the suggestions and the range.

        One curve per run (log learning-rate axis); the suggestions are marked on the
        best run's curve and its `lr_range` is shaded (`kerasclr.plotting`).

        Args:
            ax: a matplotlib `Axes` to draw in; None: a new figure.
            skip_end: points left out at the end of each curve, where the loss
                explodes (as fastai's plot does).

        Returns:
            The matplotlib `Axes`.

        Raises:
            ImportError: if matplotlib is not installed (`pip install "kerasclr[plot]"`).
        """
        from kerasclr import plotting

        return plotting.plot_range_test(self, ax=ax, skip_end=skip_end)

    def __repr__(self) -> str:
        s = self.settings
        lines = [f"<RangeTestResult> {s.get('num_iter')} steps asked, lr {_lr(s.get('start_lr'))} -> "
                 f"{_lr(s.get('end_lr'))} ({s.get('step_mode')}), backend {s.get('backend')}"]
        if len(self.runs) == 1:
            lines.append(f"Run: {self.runs[0]['message']}.")
        else:
            from kerasclr.plotting import run_label

            lines.append(f"{len(self.runs)} runs:")
            for index, run in enumerate(self.runs):
                sug = ", ".join(f"{name} {_lr(v)}" for name, v in run["suggestions"].items())
                best = "  <- best" if index == self.best_run else ""
                lines.append(f"  [{index}] {run_label(run)}: {run['steps']} steps, "
                             f"{run['stop_reason']}; {sug}{best}")
        lines.append("Suggested learning rates (fastai's methods, on the smoothed loss):")
        for name, value in self.suggestions.items():
            lines.append(f"  {name:<8} {_lr(value):<10} {SUGGESTION_NOTES.get(name, '')}".rstrip())
        low, high = self.lr_range
        lines.append(f"lr_range for CyclicLR(lr_range=...) / OneCycle(max_lr=...): "
                     f"base_lr = {_lr(low)}, max_lr = {_lr(high)}")
        return "\n".join(lines)

    # -- the mapping view --------------------------------------------------- #
    def __getitem__(self, key: str) -> Any:
        if key not in self._FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._FIELDS)

    def __len__(self) -> int:
        return len(self._FIELDS)


def lr_range_of(value: Any, name: str = "lr_range") -> tuple[float, float]:
    """``(base_lr, max_lr)`` from a ``RangeTestResult`` or a pair ``(min, max)``.

    Raises:
        ValueError: naming ``name`` unless ``0 <= min < max``, both finite.
    """
    pair = value.lr_range if isinstance(value, RangeTestResult) else value
    try:
        low, high = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"Argument `{name}` must be a RangeTestResult or a pair (min, max). "
                         f"Received: {name}={value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
        raise ValueError(f"Argument `{name}` must be a RangeTestResult or (min, max) with "
                         f"0 <= min < max. Received: {name}=({low}, {high})")
    return low, high


def max_lr_of(value: Any) -> Any:
    """The peak learning rate: ``value.lr_range[1]`` for a ``RangeTestResult``, else ``value``."""
    if isinstance(value, RangeTestResult):
        return lr_range_of(value, "max_lr")[1]
    return value

