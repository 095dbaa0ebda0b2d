"""Which epoch checkpoints a run keeps: all while they fit the size budget, thinned past it.

Thinning keeps every k-th epoch with k doubling (2, 4, 8, …) until the kept ones fit, plus the
newest two (what resume and a "branch from the end" need) and the best-validation one (what
"use the checkpoint of epoch 25" needs). Powers of two nest: the epochs kept at k are a subset of
those kept at k/2, so a file once deleted is never wanted back, and the survivors stay evenly
spread over the whole run whatever its length.
"""

from __future__ import annotations

from collections.abc import Mapping


def epochs_to_keep(sizes: Mapping[int, int], budget: int, best_epoch: int | None) -> set[int]:
    """The epochs to keep out of `sizes` (epoch → bytes of its checkpoint) under `budget`."""
    epochs = sorted(sizes)
    if sum(sizes.values()) <= budget:
        return set(epochs)
    always = set(epochs[-2:])
    if best_epoch is not None and best_epoch in sizes:
        always.add(best_epoch)
    k = 2
    while k <= max(epochs, default=1):
        kept = always | {e for e in epochs if e % k == 0}
        if sum(sizes[e] for e in kept) <= budget:
            return kept
        k *= 2
    return always  # even one in k for the largest k is too much: the newest two and the best
