"""The learn rate to use, from a learning-rate range test (Leslie Smith, 2015; fastai's
`lr_find`): the learn rate grows exponentially every iteration while the loss is recorded; the
loss falls, bottoms out and explodes.

The recipe here:

1. Points with a positive learn rate, up to the first non-finite loss (where it exploded).
2. Smooth the loss with a debiased exponential moving average run forwards and then backwards,
   so the smoothed curve has no lag: a forward-only EMA with fastai's β = 0.98 trails the raw
   loss by ~50 points, which on a 100-point test over 7 decades moves the minimum by 3 decades.
   β is set from the sweep's density so that the average spans about 0.2 decade of learn rate
   (at most 0.98).
3. The test exploded where the forward (causal) average first exceeds 4× its lowest value so
   far (fastai's stopping rule); only the part before that is smoothed and looked at.
4. `min_loss`: the learn rate at the smoothed minimum. `steepest`: where the smoothed loss
   falls fastest against log learn rate, between the first 5 % of points and the minimum.
5. `suggested = min(steepest, min_loss / 10)`: a decade below the minimum (beyond the minimum
   the loss is about to blow up, and the minimum of a fast sweep sits late), but never past
   the steepest descent. Conservative: it can be a little slow, never unstable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from trainscope.doctor.curves import FloatArray

MIN_POINTS = 20
SMOOTH_DECADES = 0.2
MAX_BETA = 0.98
EXPLODE_FACTOR = 4.0
SKIP_START = 0.05


@dataclass(frozen=True)
class LRSuggestion:
    suggested: float  # the learn rate to use
    steepest: float  # lr at the steepest descent of the smoothed loss (vs log lr)
    min_loss: float  # lr at the minimum of the smoothed loss
    exploded_at: float | None  # lr where the loss exploded (None: it never did)


def debiased_ema(values: FloatArray, beta: float) -> FloatArray:
    """Adam-style debiased EMA: m_t = β m_{t−1} + (1 − β) x_t, divided by 1 − β^t."""
    if beta <= 0 or len(values) == 0:
        return values.astype(np.float64, copy=True)
    raw = np.fromiter(
        accumulate(values.tolist(), lambda m, x: beta * m + (1 - beta) * x, initial=0.0),
        dtype=np.float64,
        count=len(values) + 1,
    )[1:]
    t = np.arange(1, len(values) + 1, dtype=np.float64)
    return np.asarray(raw / (1 - beta**t))


def zero_lag_smooth(values: FloatArray, beta: float) -> FloatArray:
    forward = debiased_ema(values, beta)
    return debiased_ema(forward[::-1], beta)[::-1].copy()


def suggest_learn_rate(learn_rate: FloatArray, loss: FloatArray) -> LRSuggestion | None:
    """The learn rate a range test points to; None with fewer than MIN_POINTS usable points."""
    lr = np.asarray(learn_rate, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64)
    usable = np.isfinite(lr) & (lr > 0)
    lr, y = lr[usable], y[usable]
    exploded_at: float | None = None
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        exploded_at = float(lr[bad[0]])
        lr, y = lr[: bad[0]], y[: bad[0]]
    if len(lr) and bool(np.any(np.diff(lr) < 0)):
        order = np.argsort(lr, kind="stable")
        lr, y = lr[order], y[order]
    n = len(lr)
    if n < MIN_POINTS:
        return None
    x = np.log10(lr)
    span = float(x[-1] - x[0])
    if span <= 0:
        return None
    per_window = SMOOTH_DECADES * (n - 1) / span  # points in SMOOTH_DECADES of learn rate
    beta = min(MAX_BETA, max(0.0, 1 - 1 / per_window)) if per_window > 1 else 0.0

    # Where it exploded, from the causal (forward-only) average, as the test itself sees it:
    # cut there before the zero-lag smoothing, whose backward pass would otherwise carry the
    # explosion's huge values far back into the curve.
    skip = max(1, int(SKIP_START * n))
    forward = debiased_ema(y, beta)
    running_min = np.minimum.accumulate(forward)
    boom = np.flatnonzero(forward[skip:] > EXPLODE_FACTOR * running_min[skip:])
    if len(boom):
        cut = skip + int(boom[0])
        if exploded_at is None or lr[cut] < exploded_at:
            exploded_at = float(lr[cut])
        x, lr, y = x[:cut], lr[:cut], y[:cut]
    smooth = zero_lag_smooth(y, beta)
    if len(lr) < MIN_POINTS // 2:
        return None
    best = int(np.argmin(smooth))
    min_loss = float(lr[best])
    if best > skip:
        grad = np.gradient(smooth, x)
        steep = skip + int(np.argmin(grad[skip : best + 1]))
    else:
        steep = best
    steepest = float(lr[steep])
    suggested = min(steepest, min_loss / 10)
    return LRSuggestion(_round(suggested), _round(steepest), _round(min_loss), exploded_at)


def _round(value: float) -> float:
    return float(f"{value:.3g}") if math.isfinite(value) and value > 0 else value
