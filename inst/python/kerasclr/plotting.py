"""matplotlib pictures of kerasclr's results: the range test's curve and a callback's history.

The same pictures as the R package's ``plot()`` methods (``R/lr-range-test.R`` and
``R/callbacks.R``); the range-test plot also shades the ``lr_range`` it hands to the
callbacks. Used through ``RangeTestResult.plot()`` and ``CyclicLR.plot()`` /
``OneCycle.plot()``. matplotlib is optional: ``pip install "kerasclr[plot]"``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from kerasclr._optional import optional_import

if TYPE_CHECKING:  # pragma: no cover
    from kerasclr.results import RangeTestResult

SUGGESTION_MARKERS = {"valley": "o", "steep": "^", "minimum": "s", "slide": "D"}
HISTORY_LABELS = {"learning_rate": "learning rate", "momentum": "momentum", "loss": "batch loss"}


def _pyplot(needed_for: str):
    return optional_import("matplotlib.pyplot", needed_for)


def run_slices(steps: Sequence[int]) -> list[slice]:
    """The rows of each run in a range test's history (runs are stored one after another)."""
    ends = np.cumsum([int(s) for s in steps])
    return [slice(int(end - s), int(end)) for s, end in zip(steps, ends)]


def run_label(run: Mapping[str, Any]) -> str:
    """``"weight_decay=0.001, momentum=0.9"`` for a grid run, ``""`` for a plain one."""
    return ", ".join(f"{name}={run[name]:g}" for name in ("weight_decay", "momentum")
                     if run.get(name) is not None)


def plot_range_test(result: RangeTestResult, ax: Any = None, skip_end: int = 5) -> Any:
    """Plots the smoothed loss against the learning rate (log axis), one curve per run.

    The suggestions are marked on the curve of the best run, and its ``lr_range`` is
    shaded.

    Args:
        result: what ``kerasclr.lr_range_test()`` returned.
        ax: a matplotlib ``Axes`` to draw in; None: a new figure.
        skip_end: points left out at the end of each curve, where the loss explodes
            (as fastai's plot does); at least two points are kept.

    Returns:
        The matplotlib ``Axes``.
    """
    plt = _pyplot("RangeTestResult.plot()")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    lr = result.history["lr"]
    smoothed = result.history["smoothed_loss"]
    curves = []
    for index, rows in enumerate(run_slices([run["steps"] for run in result.runs])):
        n = rows.stop - rows.start
        keep = slice(rows.start, rows.start + max(min(n, 2), n - int(skip_end)))
        label = run_label(result.runs[index]) or "smoothed loss"
        (line,) = ax.plot(lr[keep], smoothed[keep], lw=2, label=label)
        curves.append((lr[keep], smoothed[keep], line))
    best_lr, best_loss, best_line = curves[result.best_run]
    for name, value in result.suggestions.items():
        if not (value is not None and math.isfinite(value) and value > 0 and best_lr.size > 1):
            continue
        at = np.interp(np.log(value), np.log(best_lr), best_loss)
        ax.plot([value], [at], linestyle="none", marker=SUGGESTION_MARKERS.get(name, "o"),
                markersize=8, color="black", label=f"{name} {value:.3g}")
    low, high = result.lr_range
    if math.isfinite(low) and math.isfinite(high):
        ax.axvspan(low, high, color=best_line.get_color(), alpha=0.15,
                   label=f"lr_range {low:.3g} - {high:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed loss")
    ax.set_title("Learning-rate range test")
    ax.legend(loc="best", fontsize="small", frameon=False)
    return ax


def plot_schedule_history(history: Mapping[str, np.ndarray], log_lr: bool = False) -> np.ndarray:
    """Plots a callback's learning rate, momentum (when cycled) and batch loss per iteration.

    One panel above the other, as R's ``plot()`` of a callback.

    Args:
        history: the callback's ``history_arrays()``.
        log_lr: use a log scale for the learning rate.

    Returns:
        The matplotlib ``Axes`` of the panels, as an array.

    Raises:
        ValueError: if the history is empty (the callback was not used in ``fit()``).
    """
    plt = _pyplot("plot() of a kerasclr callback")
    iteration = np.asarray(history.get("iteration", []))
    if iteration.size == 0:
        raise ValueError("The callback has no history yet: use it in `fit()` first.")
    momentum = np.asarray(history["momentum"], dtype=np.float64)
    panels = ["learning_rate"] + (["momentum"] if np.any(np.isfinite(momentum)) else []) + ["loss"]
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False,
                             figsize=(7, 2.2 * len(panels)))
    axes = axes[:, 0]
    for ax, panel in zip(axes, panels):
        ax.plot(iteration, np.asarray(history[panel], dtype=np.float64), lw=1.5)
        ax.set_ylabel(HISTORY_LABELS[panel])
        if panel == "learning_rate" and log_lr:
            ax.set_yscale("log")
    axes[-1].set_xlabel("iteration")
    fig.tight_layout()
    return axes
