"""Which option of an entry point plays which part: the learn rate, the max epochs, the batch
size, the seed, the resume path, the device (DESIGN §8's `roles`).

Guessed from the option names people use (`lr`, `learning_rate`, `epochs`, `num_train_epochs`,
`batch_size`, `bs`, `seed`, `resume_from`, `checkpoint`, `device`, ...), in that order of
preference, where the option's type fits the part (a seed is an integer, a resume path a
string); the operator's overrides win (`{"seed": "random_state"}`, or None: "there is none").
A part with no option is None: the doctor's fixes, repeats and the progress bar then say so
instead of pretending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

Role = Literal["learn_rate", "max_epochs", "batch_size", "seed", "resume", "device"]
ROLES: tuple[Role, ...] = get_args(Role)

# Candidates per role, normalised (lower case, `-` as `_`), most telling first.
CANDIDATES: dict[Role, tuple[str, ...]] = {
    "learn_rate": (
        "lr", "learning_rate", "learn_rate", "initial_learn_rate", "initial_lr", "init_lr",
        "base_lr", "max_lr", "peak_lr", "learningrate",
    ),
    "max_epochs": (
        "epochs", "max_epochs", "n_epochs", "num_epochs", "num_train_epochs", "nepochs",
        "total_epochs", "max_epoch", "train_epochs", "epoch",
    ),
    "batch_size": (
        "batch_size", "bs", "batchsize", "train_batch_size", "per_device_train_batch_size",
        "mini_batch_size", "minibatch_size", "micro_batch_size", "batch",
    ),
    "seed": ("seed", "random_seed", "rng_seed", "manual_seed", "random_state"),
    "resume": (
        "resume", "resume_from", "resume_from_checkpoint", "resume_path", "checkpoint",
        "checkpoint_path", "ckpt", "ckpt_path", "load_checkpoint", "restore", "restore_from",
    ),
    "device": ("device", "accelerator", "devices", "gpu", "gpus", "cuda_device"),
}  # fmt: skip

# JSON Schema types each role accepts (a string `--epochs` is no max-epochs option).
_FITS: dict[Role, set[str]] = {
    "learn_rate": {"number", "integer"},
    "max_epochs": {"integer", "number"},
    "batch_size": {"integer"},
    "seed": {"integer"},
    "resume": {"string", "boolean"},
    "device": {"string", "integer"},
}


class RoleError(ValueError):
    """An operator's role override that names no role or no option."""


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_").lstrip("_")


def property_types(prop: Mapping[str, Any]) -> set[str]:
    """The JSON Schema types a property allows (`type`, a list of them, or pydantic's anyOf);
    an enum of strings counts as string."""
    types: set[str] = set()
    t = prop.get("type")
    if isinstance(t, str):
        types.add(t)
    elif isinstance(t, list):
        types.update(x for x in t if isinstance(x, str))
    for option in prop.get("anyOf", []) or []:
        if isinstance(option, Mapping):
            types |= property_types(option)
    if not types and "enum" in prop:
        types.update("string" if isinstance(v, str) else "number" for v in prop["enum"])
    if not types and "$ref" in prop:
        types.add("string")  # pydantic puts a Literal/Enum's values behind a $ref
    return types - {"null"}


def guess_roles(
    schema: Mapping[str, Any], overrides: Mapping[str, str | None] | None = None
) -> dict[Role, str | None]:
    """Each role → the option (a key of `schema["properties"]`) that plays it, or None."""
    props: Mapping[str, Any] = schema.get("properties", {})
    by_normal: dict[str, str] = {}
    for name in props:
        by_normal.setdefault(_normal(name), name)
    roles: dict[Role, str | None] = {}
    taken: set[str] = set()
    for role in ROLES:
        roles[role] = None
        for candidate in CANDIDATES[role]:
            found = by_normal.get(candidate)
            if found is None or found in taken:
                continue
            types = property_types(props[found])
            if types & _FITS[role] or not types:
                roles[role] = found
                taken.add(found)
                break
    for key, option in (overrides or {}).items():
        if key not in ROLES:
            raise RoleError(f"no role {key!r}; the roles are {', '.join(ROLES)}")
        if option is not None and option not in props:
            known = ", ".join(props) or "none"
            raise RoleError(f"role {key}: {option!r} is not an option (the options: {known})")
        roles[key] = option
    return roles
