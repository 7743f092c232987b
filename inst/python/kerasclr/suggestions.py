"""Learning-rate suggestions from a range-test curve, as fastai computes them.

The four methods of fastai's ``Learner.lr_find()`` (``fastai/callback/schedule.py``:
``valley``, ``steep``, ``minimum`` and ``slide``) reproduced as NumPy functions of
``(lrs, losses)``. ``suggest()`` applies them the way ``lr_find()`` does: on the
*smoothed* losses, without the first ``num_iter // 10`` and the last 5 points, and cut
at the first NaN.

Differences from fastai, none of which changes the algorithms:
- fastai computes in float32 torch tensors; we use float64.
- where fastai would fail (``slide`` needs more than ``lr_diff`` points, every method
  needs at least one point, ``steep`` needs two), we return NaN for that method.
"""

import math

import numpy as np

METHODS = ("valley", "steep", "minimum", "slide")


def _as_arrays(lrs, losses):
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    if lrs.shape != losses.shape:
        raise ValueError(
            "Arguments `lrs` and `losses` must have the same length. "
            f"Received: len(lrs)={lrs.size}, len(losses)={losses.size}"
        )
    return lrs, losses


def valley(lrs, losses):
    """The learning rate inside the longest valley of the loss curve.

    fastai's ``valley``: finds the longest strictly decreasing (not necessarily
    contiguous) subsequence of losses with the O(n^2) dynamic programme
    ``lds[i] = max(lds[j] + 1 : j < i, losses[i] < losses[j])``; the valley runs
    from ``max_start = max_end - lds[max_end]`` to ``max_end``, and the suggestion is
    the point ``max_start + int(s) + int(s / 2)`` with ``s = (max_end - max_start) / 3``
    (about halfway down the valley).

    fastai updates ``max_end`` (and ``max_start``) inside the inner loop, at the first
    ``j`` where ``lds[i]`` exceeds ``lds[max_end]``; ``max_start`` then keeps the value
    of ``lds[i]`` at that moment. We vectorize the inner loop but keep that behaviour:
    ``lds[i]`` after each ``j`` is a running maximum.

    Args:
        lrs: learning rates, increasing.
        losses: the (smoothed) loss at each learning rate.

    Returns:
        ``(lr, index)``: the suggested learning rate and its index in ``lrs``.
    """
    lrs, losses = _as_arrays(lrs, losses)
    n = losses.size
    if n == 0:
        return math.nan, None
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    for i in range(1, n):
        # lds[i] as the inner loop over j = 0..i-1 leaves it after each j.
        candidates = np.where(losses[i] < losses[:i], lds[:i] + 1, 1)
        running = np.maximum.accumulate(np.maximum(candidates, 1))
        lds[i] = running[-1]
        if max_end != i:
            exceeded = np.flatnonzero(running > lds[max_end])
            if exceeded.size:
                max_end = i
                max_start = max_end - int(running[exceeded[0]])
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx]), idx


def steep(lrs, losses):
    """The learning rate where the loss falls fastest against log(lr).

    fastai's ``steep``: ``grads = diff(losses) / diff(log(lrs))``; the suggestion is
    ``lrs[argmin(grads)]`` (the left end of the steepest segment).

    Returns:
        ``(lr, index)``.
    """
    lrs, losses = _as_arrays(lrs, losses)
    if losses.size < 2:
        return math.nan, None
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    idx = int(np.argmin(grads))
    return float(lrs[idx]), idx


def minimum(lrs, losses):
    """One tenth of the learning rate at the lowest loss.

    fastai's ``minimum``: ``lrs[argmin(losses)] / 10``.

    Returns:
        ``(lr, index)``: the suggestion (a tenth of ``lrs[index]``) and the index of the
        minimum.
    """
    lrs, losses = _as_arrays(lrs, losses)
    if losses.size == 0:
        return math.nan, None
    idx = int(np.argmin(losses))
    return float(lrs[idx]) / 10, idx


def slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    """fastai's interval slide rule.

    With ``g = np.gradient(losses)``, a window of ``lr_diff`` points slides from the
    right end of the curve to the left while ``|g[right] - g[left]| > thresh``; the
    suggestion is ``lrs[left]`` of the last window tried, times ``adjust_value``
    (the point where the gradient stops changing: the flat part before the loss falls).

    Returns:
        ``(lr, None)``, or ``(nan, None)`` if the curve has no more than ``lr_diff``
        points (fastai raises an IndexError there).
    """
    lrs, losses = _as_arrays(lrs, losses)
    n = losses.size
    if n <= lr_diff or n < 2:
        return math.nan, None
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -n) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value, None


def trim_curve(lrs, losses, num_iter, skip_start=None, skip_end=5):
    """The part of the curve fastai's ``lr_find()`` hands to the suggestion methods.

    ``lrs[num_iter // 10 : -5]``, then cut before the first NaN loss. Infinite losses
    (a diverged run) are cut too: they would poison gradients and minima.

    Returns:
        ``(lrs, losses)`` as float64 arrays (possibly empty).
    """
    lrs, losses = _as_arrays(lrs, losses)
    start = int(num_iter) // 10 if skip_start is None else int(skip_start)
    stop = losses.size - skip_end if skip_end else losses.size
    lrs, losses = lrs[start:stop], losses[start:stop]
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    return lrs, losses


def suggest(lrs, smoothed_losses, num_iter=None, methods=METHODS):
    """All suggestions for one range-test curve, computed the way fastai's ``lr_find`` does.

    Args:
        lrs: the learning rate of every step.
        smoothed_losses: the bias-corrected exponentially smoothed loss of every step.
        num_iter: the number of steps the test asked for (fastai skips
            ``num_iter // 10`` points at the start); defaults to ``len(lrs)``.
        methods: names from ``METHODS``.

    Returns:
        A dict ``{method: lr}`` (NaN where the curve is too short for a method).
    """
    lrs, losses = _as_arrays(lrs, smoothed_losses)
    num_iter = lrs.size if num_iter is None else num_iter
    lrs, losses = trim_curve(lrs, losses, num_iter)
    functions = {"valley": valley, "steep": steep, "minimum": minimum, "slide": slide}
    out = {}
    for name in methods:
        if name not in functions:
            raise ValueError(f"Argument `methods` must contain only {list(METHODS)}. Received: {name!r}")
        out[name] = functions[name](lrs, losses)[0]
    return out


def clr_range(suggestions, divisor=4.0):
    """A ``(base_lr, max_lr)`` pair for cyclical / one-cycle training.

    ``max_lr`` is the ``minimum`` suggestion: one order of magnitude below the learning
    rate of the lowest smoothed loss. That is fastai's classic rule for
    ``fit_one_cycle`` (``lr_min / 10``, the first suggestion of ``lr_find`` before
    fastai 2.5) and Smith's (2017, 2018) advice to take the largest rate at which the
    loss still falls clearly, short of where it bottoms out. fastai's newer default,
    ``valley``, is more cautious: with SGD and momentum on the digits benchmark
    (bench/bench-range-test.py) it gave max_lr 0.01-0.03 against a best constant
    rate of 0.1. ``base_lr = max_lr / divisor`` with ``divisor = 4``: Smith
    (2017, sec. 3.3) takes the lower CLR bound 3 to 4 times below the upper one. If
    ``minimum`` is NaN (too short a curve), ``valley`` then ``steep`` are used.

    Returns:
        ``(base_lr, max_lr)``, NaNs if no suggestion is available.
    """
    for name in ("minimum", "valley", "steep"):
        value = suggestions.get(name, math.nan)
        if value is not None and math.isfinite(value) and value > 0:
            return value / divisor, value
    return math.nan, math.nan
