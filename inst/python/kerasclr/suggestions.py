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


RULE_DIVISOR = 6.0      # max_lr = the turn-up learning rate / 6
BASE_DIVISOR = 4.0      # base_lr = max_lr / 4
FLAT_DESCENT = 0.005    # a curve whose smoothed loss fell by less than 0.5% is "flat"


def _fell(losses):
    return losses.size >= 2 and bool(losses[0] - losses.min() >= FLAT_DESCENT * abs(losses[0]))


def curve_fell(lrs, smoothed_losses, num_iter=None):
    """Whether the smoothed loss fell during the test (see ``lr_range_rule``).

    True when, on the curve that ``suggest()`` reads, the minimum of the smoothed
    loss is at least ``FLAT_DESCENT`` (0.5%) of its first value below that value.
    """
    lrs, losses = _as_arrays(lrs, smoothed_losses)
    return _fell(trim_curve(lrs, losses, lrs.size if num_iter is None else num_iter)[1])


def lr_range_rule(lrs, smoothed_losses, num_iter=None):
    """The ``(base_lr, max_lr)`` that ``lr_range_test()`` hands to one-cycle and CLR training.

    This docstring is the one place where the rule and its evidence are written down.

    The rule, on the curve fastai's ``lr_find()`` reads (the smoothed loss without the
    first ``num_iter // 10`` and the last 5 points, cut at the first NaN; see
    ``trim_curve``):

    1. The *turn-up* rate ``L``: where the loss stops falling. If the smoothed loss
       fell (its minimum is at least 0.5% below its first value), ``L`` is the rate
       of its minimum: fastai's ``lr_min``, ten times the ``minimum`` suggestion. If
       the curve is flat (the model did not learn during the test), its minimum is
       noise; ``L`` is then the largest rate whose smoothed loss is still within 0.5%
       of the minimum: where the flat curve starts to rise.
    2. ``max_lr = L / 6`` and ``base_lr = max_lr / 4``.

    Why. Smith's range test (2017, sec. 3.3) takes as the upper bound the rate where
    the accuracy stops rising or the loss gets worse, "or one can use the rule of
    thumb that the optimum learning rate is usually within a factor of two of the
    largest one that converges and set base_lr to 1/3 or 1/4 of max_lr". The rate
    where the range test's loss turns up is larger than the largest one that
    converges in training: the test's quick ramp (a factor 1.2 per step with the
    default 100 steps over 1e-7..10) uses each rate for one step, training uses its
    peak for many. In the evidence below, one-cycle with SGD failed at ``L / 2`` to
    ``L`` (validation accuracy 0.21-0.67) and the largest peak that trained well was
    about ``L / 3``: half of that is ``L / 6``. fastai's classic rule (``lr_min / 10``,
    the first suggestion of ``lr_find`` before fastai 2.5) is the cautious end of the
    same range. ``base_lr = max_lr / 4`` is Smith's lower CLR bound (one-cycle does not
    use it: it starts at ``max_lr / div_factor``). The momentum (or Adam's ``beta_1``)
    in the test is the optimizer's own, so the ``OneCycle`` callback leaves it alone
    by default: training then uses the momentum the rate was measured with.

    Evidence (``python bench/bench-panel.py --sweep``, 2026-12-01, JAX: the panel's
    six rows on development splits 100-102 x seeds 0-1, not the panel's splits;
    one-cycle over the panel's epochs at peaks half a decade apart; validation
    metric; values between the peaks interpolated in log(peak)).

    - Where one-cycle trains well (validation within 1 point of the best peak):
      digits MLP + SGD momentum 0.9 at 0.1-0.32 (``L`` 1.07-1.87; at 1.0 accuracy
      fell to 0.21-0.67, at 0.03 it lost 2 points); + Adam 0.01-0.1 (``L``
      0.20-0.42); + RMSprop 0.01-0.1 (``L`` 0.031-0.055); breast cancer + Adam
      0.003-0.1 (``L`` 0.6-3.9); diabetes + RMSprop 0.001-0.03 (``L`` 0.04-0.11). The
      ratio of the good peaks to ``L`` differs by optimizer and problem (SGD about
      1/10-1/4, RMSprop on digits 1/5-2): no single divisor is best for every row.
      The mean shortfall from the best peak (validation accuracy, MSE for diabetes)
      over the five rows whose curves fell: 0.0095 for ``L / 6``, 0.0096 for
      ``L / 8``, 0.0097 for ``L / 10``, 0.015 for ``L / 5`` and 0.026 for ``L / 4``
      (too close to SGD's failure), 0.023 for fastai's ``valley`` (0.001-0.08, too
      low for SGD and RMSprop), 0.021 for its ``slide`` and 0.12 for its ``steep``
      (too high for SGD, too low for diabetes; its ``minimum`` is ``L / 10``).
      ``L / 6`` is the best of these for SGD (0.002 against 0.003 for ``L / 10``)
      and for RMSprop on digits (0.010 against 0.019), the worst for diabetes (0.020
      against 0.012).
    - Validation loss: the sweep also evaluates the whole validation set after every
      step of the test. The rate where that loss turns up, ``L_val``, is no better a
      guide: the best of ``L_val / 1, 2, 3, 6`` (``L_val / 3``) falls 0.0126 short on
      the same five rows, against 0.0095 for ``L / 6``. It moves with ``L``: the rows
      that want a peak far below ``L`` want one far below ``L_val`` too (the best peak
      of each run: 1/50-1/7 of ``L_val`` for breast cancer, 1/250-1/2 for diabetes),
      while RMSprop on digits wants 0.8-4.6 times ``L_val`` (SGD: 0.09-0.6). So the
      test does not use validation data for its answer (it records its loss).
    - Divergence: in 30 of these 36 tests the loss never rose 5-fold (the stop for
      divergence): the test ran to ``end_lr``, so the rate where it diverges carries
      no information here.
    - The digits CNN's curve is flat with 100 steps (its smoothed loss fell by at
      most 0.15%): it stays at the initial loss until it diverges, and its ``minimum``
      fell anywhere between 6e-8 and 8e-3 in the 6 runs. With 300 steps, 5 of 6
      curves fell (0.8-1.6%) with ``L`` 1.2-1.9, and its best peak was 0.32. Hence
      the flat case above, and ``kerasclr.pipeline.fit_one_cycle()`` repeats a flat
      test with three times the steps: on the 100-step curves the flat case alone
      gives ``L`` 3.3-3.9, whose sixth lies between the good 0.32 and the failing 1.0.
    - Momentum: with SGD, one-cycle with the momentum fixed at the optimizer's 0.9
      was as good as or better than cycling it 0.95 -> 0.85 at every peak up to
      0.1 (digits MLP, test accuracy +0.3 points at 0.1) and much better for the CNN
      (+2.2 points at 0.32); cycling gained 0.06 points for the MLP at 0.32. With
      Adam the two were equal within 0.2 points. And cycling cannot be a default:
      Keras' ``RMSprop`` has ``momentum=0`` and no momentum to cycle.
    - The optimizer's own momentum (``--sweep``, 2026-12-02, the rows above with another
      momentum, the sweep's ``MOMENTUM_ROWS``): the test's ``L`` does not see it, while
      training does. Same ``L`` with and without it (digits MLP + SGD: 1.07-2.26 at
      momentum 0, 1.07-1.87 at 0.9; + RMSprop: 0.031-0.055 at 0 and at 0.9), but the good
      peaks move: SGD on digits 1.0 at momentum 0 against 0.1-0.32 at 0.9; SGD on breast
      cancer 0.1-3.2 (best 3.2) against 0.01-0.32 (best 0.032); RMSprop on digits
      0.01-0.1 against 0.001-0.01 (at 0.03 accuracy fell to 0.63). So ``L / 6`` fits momentum 0.9, and RMSprop on digits
      falls short because Keras' RMSprop has none. Scaling ``max_lr`` by the square root of
      heavy-ball momentum's gain relative to 0.9's, ``sqrt((1 - momentum) / 0.1)`` (3.2
      at momentum 0), was tried and not adopted: on the development splits it raised
      RMSprop on digits (shortfall 0.0024 against 0.0104) and on the panel's splits took
      it from 0.9700 to 0.9761, above the tuned cosine's 0.9757, but it made diabetes
      (RMSprop, 0.0592 against 0.0198; 0.600 against 0.561 on the panel) and SGD without
      momentum on digits (0.0254 against 0.0235: its ``L`` varies, and the higher peaks
      fall over the cliff between 1 and 3.2) worse; the mean over the 9 rows whose
      curves fell was 0.0147 against 0.0112 for ``L / 6``.
    - The panel's protocol on the same development splits (``--dev``, 3 splits x 3
      seeds, test accuracy / MSE): ``fit_one_cycle()`` with this rule matched the
      best constant rate (trained twice as long) and Keras' tuned warm-up + cosine
      for the digits MLP with SGD (0.9755 against 0.9757 and 0.9761) and Adam
      (0.9776 against 0.9747 and 0.9778). It fell short where the best peak is far
      from ``L / 6``: RMSprop on digits wants more (cosine's best 0.03, the rule gave
      0.004-0.009: 0.9654 against 0.9788), the two small tabular problems want less
      (breast cancer + Adam: 0.1-0.66 against the cosine's 0.003-0.03, 0.962 against
      0.972; diabetes + RMSprop: 0.006-0.019 against 0.001-0.003, MSE 0.527 against
      0.516); there the best peak is set by how well a small training set
      generalizes, which a 100-step range test of the training loss does not see.
      The digits CNN (after the second, longer test) matched the cosine (0.9436
      against 0.9451) but not 20 epochs of the best constant (0.9547).

    The outcome against tuned schedules on the panel's own splits is the table in the
    README (``python bench/bench-panel.py``).

    Args:
        lrs: the learning rate of every step of the test.
        smoothed_losses: the smoothed loss of every step.
        num_iter: the number of steps the test asked for (see ``suggest``).

    Returns:
        ``(base_lr, max_lr)``, NaNs when the curve has fewer than 2 usable points.
    """
    max_lr = turn_up_lr(lrs, smoothed_losses, num_iter) / RULE_DIVISOR
    return max_lr / BASE_DIVISOR, max_lr


def turn_up_lr(lrs, smoothed_losses, num_iter=None):
    """The rate ``L`` where the range test's loss turns up (step 1 of ``lr_range_rule``).

    Returns:
        ``L``, or NaN when the curve has fewer than 2 usable points.
    """
    lrs, losses = _as_arrays(lrs, smoothed_losses)
    lrs, losses = trim_curve(lrs, losses, lrs.size if num_iter is None else num_iter)
    if losses.size < 2:
        return math.nan
    if _fell(losses):
        return float(lrs[int(np.argmin(losses))])
    lowest = losses.min()
    return float(lrs[np.flatnonzero(losses <= lowest + FLAT_DESCENT * abs(lowest)).max()])
