"""Splitting samples into training, validation and test parts: stratified by class, seeded.

Order of the cuts (DESIGN §6): the test part first, from all samples; validation from what is
left; then the cap on training samples. Each cut draws from its own random stream of the
dataset seed, so e.g. changing validation_fraction never changes the test samples.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split

from trainscope.engine.datasets.base import DatasetError, Labeled, int_seed_for, rng_for

PURPOSE_TEST = 1
PURPOSE_VALIDATION = 2
PURPOSE_CAP = 3


def check_class_sizes(data: Labeled, with_test: bool, with_validation: bool) -> None:
    """Every class needs one sample in each split it is cut into; say so before scikit-learn
    fails with a message about 'groups'."""
    if data.task != "classification":
        return
    needed = 1 + int(with_test) + int(with_validation)
    labels, counts = np.unique(data.y, return_counts=True)
    if needed == 1 or counts.min() >= needed:
        return
    smallest = int(np.argmin(counts))
    name = data.class_names[int(labels[smallest])] if data.class_names else str(labels[smallest])
    splits = " and ".join(
        word for word, used in (("a test", with_test), ("a validation", with_validation)) if used
    )
    raise DatasetError(
        f"class '{name}' has only {counts[smallest]} sample(s); with {splits} split every class "
        f"needs at least {needed} (one per split): add samples or set the fraction to 0"
    )


def hold_out(
    data: Labeled, fraction: float, seed: int, purpose: int, what: str
) -> tuple[Labeled, Labeled]:
    """Cut ceil(fraction × N) samples out of `data` (stratified for classes): (rest, held)."""
    n = len(data)
    if fraction <= 0:
        return data, data.take(np.arange(0, dtype=np.intp))
    n_held = math.ceil(fraction * n)
    if n_held >= n:
        raise DatasetError(f"{what}_fraction={fraction} of {n} samples leaves no training samples")
    stratify = None
    if data.task == "classification":
        stratify = data.y
        num_classes = len(np.unique(data.y))
        if n_held < num_classes or n - n_held < num_classes:
            raise DatasetError(
                f"{what}_fraction={fraction} of {n} samples gives {n_held} {what} and "
                f"{n - n_held} other samples, but a stratified split needs at least one per "
                f"class ({num_classes}) on each side: change {what}_fraction or add samples"
            )
    try:
        rest, held = train_test_split(
            np.arange(n, dtype=np.intp),
            test_size=n_held,
            random_state=int_seed_for(seed, purpose),
            stratify=stratify,
        )
    except ValueError as error:
        raise DatasetError(
            f"cannot split {n} samples into {n_held} {what} and {n - n_held} others, "
            f"stratified by class: {error}"
        ) from None
    return data.take(rest), data.take(held)


def cap(data: Labeled, max_samples: int | None, seed: int) -> Labeled:
    """At most `max_samples` samples, keeping class proportions when the cap allows it."""
    n = len(data)
    if max_samples is None or n <= max_samples:
        return data
    if data.task == "classification":
        _, counts = np.unique(data.y, return_counts=True)
        classes = len(counts)
        # scikit-learn stratifies only when both sides can hold every class; a cap below the
        # number of classes (overfit 5 samples) cannot keep proportions anyway.
        if classes <= max_samples <= n - classes and counts.min() >= 2:
            kept, _ = train_test_split(
                np.arange(n, dtype=np.intp),
                train_size=max_samples,
                random_state=int_seed_for(seed, PURPOSE_CAP),
                stratify=data.y,
            )
            return data.take(kept)
    chosen = rng_for(seed, PURPOSE_CAP).permutation(n)[:max_samples]
    return data.take(chosen.astype(np.intp))
