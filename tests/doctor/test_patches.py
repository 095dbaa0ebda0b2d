"""Every patch the doctor suggests is a valid restart: merged into the run's spec the way
POST /api/runs/{id}/restart merges it, the result is a RunSpec, and it changes something."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.doctor.labelled import labelled_cases
from tests.support import spec_json
from trainscope.doctor import Finding, diagnose
from trainscope.schemas.options import TrainingOptions
from trainscope.schemas.overrides import merge_overrides
from trainscope.schemas.spec import RunSpec


def parent_spec(options: TrainingOptions) -> dict[str, Any]:
    """A realistic stored spec (spirals, the mlp preset) carrying the run's options."""
    spec = spec_json("parent", max_epochs=options.max_epochs)
    spec["options"] = options.model_dump(mode="json")
    return spec


def all_patched() -> list[tuple[Finding, TrainingOptions]]:
    out = []
    for case in labelled_cases(3, seed=11):
        ctx = case.run.context()
        for finding in diagnose(case.run.curves(), ctx):
            if finding.patch is not None:
                out.append((finding, ctx.options))
    return out


PATCHED = all_patched()


def test_the_labelled_runs_exercise_every_patching_rule() -> None:
    assert {f.code for f, _ in PATCHED} == {
        "diverged",
        "loss-spikes",
        "too-slow",
        "overfitting",
        "plateau",
        "underfitting",
        "still-improving",
        "lr-decay-too-early",
        "lr-range",
    }


@pytest.mark.parametrize("finding,options", PATCHED, ids=lambda x: getattr(x, "code", ""))
def test_patch_is_a_valid_restart_that_changes_the_options(
    finding: Finding, options: TrainingOptions
) -> None:
    assert finding.patch is not None
    assert set(finding.patch) <= {"options", "dataset", "model", "kind"}
    parent = parent_spec(options)
    merged = merge_overrides(parent, finding.patch)
    spec = RunSpec.model_validate(merged)
    changed = {
        name: value
        for name, value in finding.patch["options"].items()
        if getattr(options, name) != getattr(spec.options, name)
    }
    assert changed, f"{finding.code}: the patch changes nothing"
    for name, value in finding.patch["options"].items():
        assert getattr(spec.options, name) == value  # taken as given, not coerced
    verb = "Train with " if finding.patch.get("kind") == "train" else "Restart with "
    assert finding.fix is not None and finding.fix.startswith(verb)
    assert spec.kind == finding.patch.get("kind", "train")
    for name in finding.patch["options"]:
        assert name in finding.fix


def test_patch_numbers_come_from_this_run() -> None:
    for finding, options in PATCHED:
        assert finding.patch is not None
        opts = finding.patch["options"]
        if finding.code == "diverged":
            assert np.isclose(opts["initial_learn_rate"], options.learn_rate / 10, rtol=1e-2)
        if finding.code == "too-slow":
            assert np.isclose(opts["initial_learn_rate"], options.learn_rate * 10, rtol=1e-2)
        if finding.code == "still-improving":
            assert opts["max_epochs"] == 2 * options.max_epochs
        if finding.code == "overfitting" and "max_epochs" in opts:
            assert opts["max_epochs"] == finding.evidence["best_epoch"]
            assert 1 <= opts["max_epochs"] < options.max_epochs
