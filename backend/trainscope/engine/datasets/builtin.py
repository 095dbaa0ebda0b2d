"""Datasets that need no files: scikit-learn's bundled digits and the generated ones.

Generated data are a pure function of the spec: one random stream of the dataset seed
(PURPOSE_GENERATE) draws everything, so the same spec gives the same arrays on every machine.
Labels are balanced (sample i has class i mod C) and shuffled, so the arrays are never ordered
by class even before the split.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from trainscope.engine.datasets.base import Labeled, rng_for
from trainscope.schemas.datasets import (
    DigitsSpec,
    SequenceClassesSpec,
    SineForecastSpec,
    SpiralsSpec,
    SyntheticImagesSpec,
)

PURPOSE_GENERATE = 0

# Frequencies of the sequence datasets, in cycles per time step: slow enough that a window of
# a few dozen steps shows whole periods, well under the Nyquist limit of 0.5.
_SINE_FREQUENCIES = (0.01, 0.15)
_BAND_EDGES = (0.02, 0.25)


def _names(num_classes: int) -> list[str]:
    return [str(c) for c in range(num_classes)]


def _balanced_labels(rng: np.random.Generator, n: int, num_classes: int) -> npt.NDArray[np.int64]:
    return rng.permutation(np.arange(n, dtype=np.int64) % num_classes)


def load_digits_dataset(spec: DigitsSpec) -> Labeled:
    # Imported here: sklearn.datasets is heavy and only this dataset needs it.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixels are counts 0..16 (4×4 blocks of a 32×32 bitmap).
    X = (np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    return Labeled(X, y, "classification", _names(10))


def _upsampler(low: int, size: int) -> npt.NDArray[np.float64]:
    """(size, low) matrix of linear interpolation from `low` control points to `size` pixels."""
    positions = np.linspace(0, low - 1, size)
    grid = np.arange(low)
    return np.stack([np.interp(positions, grid, row) for row in np.eye(low)], axis=1)


def make_synthetic_images(spec: SyntheticImagesSpec) -> Labeled:
    rng = rng_for(spec.seed, PURPOSE_GENERATE)
    n, c, s, k = spec.num_samples, spec.channels, spec.image_size, spec.num_classes
    shift = spec.shift_pixels
    canvas = s + 2 * shift
    # A coarse random grid upsampled smoothly: blobs a few pixels wide, which a convolution can
    # pick up. Control points ~s/4 apart on the image, the same spacing on the larger canvas.
    low = max(2, min(7, s // 4))
    spacing = (s - 1) / (low - 1)
    low_canvas = max(2, round((canvas - 1) / spacing) + 1)
    up = _upsampler(low_canvas, canvas)
    coarse = rng.uniform(0.0, 1.0, size=(k, c, low_canvas, low_canvas))
    patterns = np.einsum("ia,kcab,jb->kcij", up, coarse, up).astype(np.float32)
    y = _balanced_labels(rng, n, k)
    # Each sample sees its pattern through a randomly shifted window: the same class at
    # different positions, so a model must learn the shape, not fixed pixel values.
    dy = rng.integers(0, 2 * shift + 1, size=n)
    dx = rng.integers(0, 2 * shift + 1, size=n)
    X = rng.standard_normal((n, c, s, s), dtype=np.float32)
    X *= np.float32(spec.noise)
    for a in range(2 * shift + 1):
        for b in range(2 * shift + 1):
            chosen = np.flatnonzero((dy == a) & (dx == b))
            X[chosen] += patterns[y[chosen], :, a : a + s, b : b + s]
    return Labeled(X, y, "classification", _names(k))


def make_spirals(spec: SpiralsSpec) -> Labeled:
    rng = rng_for(spec.seed, PURPOSE_GENERATE)
    n, k = spec.num_samples, spec.num_classes
    y = _balanced_labels(rng, n, k)
    # Radius from a small positive value: at 0 every arm meets and the class is undefined.
    radius = rng.uniform(0.05, 1.0, size=n)
    angle = 2 * math.pi * (spec.turns * radius + y / k) + spec.noise * rng.standard_normal(n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype(np.float32)
    return Labeled(X, y, "classification", _names(k))


def make_sine_forecast(spec: SineForecastSpec) -> Labeled:
    rng = rng_for(spec.seed, PURPOSE_GENERATE)
    n, length = spec.num_samples, spec.sequence_length
    components = rng.integers(1, 4, size=n)  # 1 to 3 sines per sample
    t = np.arange(length + 1, dtype=np.float64)
    series = np.zeros((n, length + 1), dtype=np.float64)
    for j in range(3):  # a loop over components, not a (n, 3, T) array: a third of the memory
        freq = rng.uniform(*_SINE_FREQUENCIES, size=(n, 1))
        phase = rng.uniform(0, 2 * math.pi, size=(n, 1))
        amplitude = rng.uniform(0.2, 1.0, size=(n, 1)) * (components[:, None] > j)
        series += amplitude * np.sin(2 * math.pi * freq * t + phase)
    series += spec.noise * rng.standard_normal(series.shape)
    # The target is the noisy next value: the noise level is the RMSE no model can beat.
    X = series[:, :length, None].astype(np.float32)
    y = series[:, length:].astype(np.float32)
    return Labeled(X, y, "regression")


def make_sequence_classes(spec: SequenceClassesSpec) -> Labeled:
    rng = rng_for(spec.seed, PURPOSE_GENERATE)
    n, length, k, c = spec.num_samples, spec.sequence_length, spec.num_classes, spec.channels
    y = _balanced_labels(rng, n, k)
    edges = np.linspace(*_BAND_EDGES, k + 1)
    width = edges[1] - edges[0]
    # Frequencies from the middle 60% of each band: a gap between bands keeps the classes
    # separable in principle, so the noise alone sets the difficulty.
    low = edges[y] + 0.2 * width
    freq = rng.uniform(0.0, 0.6 * width, size=n) + low
    phase = rng.uniform(0, 2 * math.pi, size=(n, 1, c))
    amplitude = rng.uniform(0.5, 1.5, size=(n, 1, 1))
    t = np.arange(length, dtype=np.float64)[None, :, None]
    X = amplitude * np.sin(2 * math.pi * freq[:, None, None] * t + phase)
    X += spec.noise * rng.standard_normal(X.shape)
    return Labeled(X.astype(np.float32), y, "classification", _names(k))
