"""The four suggestion methods against fastai's published algorithms (fastai/callback/schedule.py).

The expected values are worked out by hand from the algorithm definitions (comments show
the steps), plus a line-by-line transcription of fastai's loops as an independent oracle
on random curves. None of them calls kerasclr.suggestions to get an expected value.
"""

import math

import numpy as np
import pytest

from kerasclr import suggestions as S


# --------------------------------------------------------------------------- #
# valley
# --------------------------------------------------------------------------- #
def test_valley_strictly_decreasing_curve():
    # lds[i] = i + 1; max_end = 9, max_start = 9 - lds[9] = -1;
    # sections = (9 - -1) / 3 = 3.33 -> idx = -1 + int(3.33) + int(1.67) = -1 + 3 + 1 = 3
    lrs = np.arange(1, 11) * 1e-3
    losses = np.arange(9, -1, -1, dtype=float)
    assert S.valley(lrs, losses) == (lrs[3], 3)


def test_valley_down_then_up():
    # losses 5 4 3 2 1 2 3: lds = 1 2 3 4 5 4 3, longest valley ends at i=4 (lds 5);
    # max_start = 4 - 5 = -1, sections = 5/3 -> idx = -1 + 1 + int(0.83) = 0
    lrs = np.array([1, 2, 3, 4, 5, 6, 7]) * 0.1
    assert S.valley(lrs, [5, 4, 3, 2, 1, 2, 3]) == (lrs[0], 0)


def test_valley_non_contiguous_subsequence():
    # losses 1 5 4 3 0 2: lds = 1 1 2 3 4 4 (0 < 3 < 4 < 5 -> lds[4] = 4; 2 < 3,4,5 -> 4,
    # not longer); max_end = 4, max_start = 0; sections = 4/3 -> idx = 0 + 1 + 0 = 1
    lrs = np.geomspace(1e-4, 1e-1, 6)
    assert S.valley(lrs, [1, 5, 4, 3, 0, 2]) == (lrs[1], 1)


# --------------------------------------------------------------------------- #
# steep
# --------------------------------------------------------------------------- #
def test_steep_uses_log_lr_slope():
    # slopes against log(lr): (1-2)/ln 10 = -0.434, (0.5-1)/ln 2 = -0.721, (0.4-0.5)/ln 2 = -0.144
    # -> argmin 1 -> lrs[1] = 10. (Against raw lr the first segment would be steepest.)
    lrs = np.array([1.0, 10.0, 20.0, 40.0])
    assert S.steep(lrs, [2.0, 1.0, 0.5, 0.4]) == (10.0, 1)


def test_steep_first_of_ties():
    lrs = np.array([1.0, 2.0, 4.0, 8.0])
    assert S.steep(lrs, [3.0, 2.0, 1.0, 1.0]) == (1.0, 0)


# --------------------------------------------------------------------------- #
# minimum
# --------------------------------------------------------------------------- #
def test_minimum_is_a_tenth_of_the_argmin_lr():
    lrs = np.array([0.001, 0.01, 0.1, 1.0, 10.0])
    lr, idx = S.minimum(lrs, [3.0, 2.0, 1.0, 1.0, 2.0])  # first minimum: index 2
    assert idx == 2
    assert lr == pytest.approx(0.01, rel=1e-15)


# --------------------------------------------------------------------------- #
# slide
# --------------------------------------------------------------------------- #
def test_slide_linear_curve_stops_at_once():
    # np.gradient of a line is constant: |g[-1] - g[-16]| = 0 <= thresh, the loop never
    # runs, and the suggestion is the initial lrs[-16] = lrs[4] (20 points).
    lrs = np.geomspace(1e-5, 1.0, 20)
    losses = 2.0 - 0.01 * np.arange(20)
    assert S.slide(lrs, losses)[0] == lrs[4]


def test_slide_walks_left_until_the_gradient_matches():
    # f = -0.01 k for k <= 16, then f16 - 0.1 (k - 16)^2. np.gradient: g0..g15 = -0.01,
    # g16 = (f17 - f15)/2 = -0.055, g17 = -0.2, g18 = -0.4, g19 = -0.5.
    # windows (right, left = right - 15): (19, 4) differs -> lr[4]; (18, 3) -> lr[3];
    # (17, 2) -> lr[2]; (16, 1): |-0.055 + 0.01| = 0.045 > 0.005 -> lr[1];
    # (15, 0): |-0.01 + 0.01| = 0 -> stop. Suggestion lrs[1].
    k = np.arange(20)
    losses = np.where(k <= 16, -0.01 * k, -0.16 - 0.1 * (k - 16.0) ** 2)
    lrs = np.geomspace(1e-5, 1.0, 20)
    assert S.slide(lrs, losses)[0] == lrs[1]


def test_slide_too_short_curve_is_nan():
    assert math.isnan(S.slide(np.arange(1, 16.0), np.ones(15))[0])


# --------------------------------------------------------------------------- #
# suggest(): fastai's lr_find() trimming
# --------------------------------------------------------------------------- #
def test_suggest_skips_first_tenth_and_last_five_points():
    # num_iter = 100: fastai passes lrs[10:-5]. Put the global minimum in the skipped
    # parts; "minimum" must find the best point inside [10, 95) instead (index 50).
    lrs = np.geomspace(1e-7, 10, 100)
    losses = np.full(100, 5.0)
    losses[3] = 0.0
    losses[97] = 0.0
    losses[50] = 1.0
    out = S.suggest(lrs, losses, num_iter=100)
    assert out["minimum"] == pytest.approx(lrs[50] / 10, rel=1e-15)
    assert set(out) == {"valley", "steep", "minimum", "slide"}


def test_suggest_cuts_at_first_nan():
    lrs = np.geomspace(1e-7, 10, 100)
    losses = np.linspace(5, 1, 100)  # falling all the way
    losses[60] = np.nan
    out = S.suggest(lrs, losses, num_iter=100)
    # kept points: indices 10..59, the minimum is the last kept one
    assert out["minimum"] == pytest.approx(lrs[59] / 10, rel=1e-15)


def test_lr_range_rule_on_a_curve_that_falls():
    # A dip to the minimum at index 70, then a rise: L = lrs[70] (fastai's lr_min,
    # ten times the minimum suggestion), max_lr = L / 6, base_lr = max_lr / 4.
    lrs = np.geomspace(1e-7, 10, 100)
    losses = 2.3 - 1.5 * np.exp(-0.5 * ((np.arange(100) - 70) / 8.0) ** 2)
    losses[71:] += np.linspace(0, 4, 29)
    base, top = S.lr_range_rule(lrs, losses, num_iter=100)
    assert top == pytest.approx(lrs[70] / 6, rel=1e-15)
    assert base == pytest.approx(lrs[70] / 24, rel=1e-15)
    assert top == pytest.approx(10 * S.suggest(lrs, losses, num_iter=100)["minimum"] / 6, rel=1e-15)
    assert S.curve_fell(lrs, losses, num_iter=100)


def test_lr_range_rule_on_a_flat_curve():
    # Flat at 2.3 (noise of +-0.1%, its minimum at index 20) until index 80, then rising:
    # L is the last rate within 0.5% of the minimum, not the noise's minimum.
    lrs = np.geomspace(1e-7, 10, 100)
    rng = np.random.default_rng(0)
    losses = 2.3 * (1 + 0.001 * rng.uniform(-1, 1, 100))
    losses[20] = 2.3 * 0.998
    losses[80:] = 2.3 * np.linspace(1.002, 1.1, 20)  # 1.002 and 1.00716: only 80 within 0.5%
    assert not S.curve_fell(lrs, losses, num_iter=100)
    lowest = losses[10:95].min()
    within = np.flatnonzero(losses[10:95] <= lowest * 1.005) + 10
    assert within.max() == 80
    base, top = S.lr_range_rule(lrs, losses, num_iter=100)
    assert top == pytest.approx(lrs[80] / 6, rel=1e-15) and base == pytest.approx(top / 4, rel=1e-15)


def test_curve_fell_threshold_and_short_curves():
    lrs = np.geomspace(1e-5, 1, 40)
    for drop, fell in ((0.004, False), (0.006, True)):
        losses = np.full(40, 1.0)
        losses[20] = 1.0 - drop
        assert S.curve_fell(lrs, losses, num_iter=40) is fell
    # Fewer than 2 points left after fastai's trimming: no range.
    base, top = S.lr_range_rule(lrs[:6], np.ones(6), num_iter=6)
    assert math.isnan(base) and math.isnan(top)


# --------------------------------------------------------------------------- #
# Transcription of fastai's loops (the published code, line by line) as an oracle
# --------------------------------------------------------------------------- #
def fastai_valley(lrs, losses):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def fastai_slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


@pytest.mark.parametrize("seed", range(20))
def test_against_transcribed_fastai_on_random_curves(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    lrs = np.geomspace(1e-7, 10, n)
    # a noisy valley: falling, flat, then rising
    t = np.linspace(0, 1, n)
    losses = 2 - 1.5 * np.sin(np.pi * t) ** 2 + rng.normal(0, 0.05 * (seed % 4), n)
    assert S.valley(lrs, losses)[0] == fastai_valley(lrs, losses)
    assert S.slide(lrs, losses)[0] == fastai_slide(lrs, losses)
    grads = np.diff(losses) / np.diff(np.log(lrs))
    assert S.steep(lrs, losses)[0] == lrs[np.argmin(grads)]
    assert S.minimum(lrs, losses)[0] == lrs[np.argmin(losses)] / 10
