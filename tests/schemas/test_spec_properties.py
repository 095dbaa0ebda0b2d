"""Properties of RunSpec validation, for any spec hypothesis can think of (issue 5):

- a spec that validates trains: at least one iteration, or it ends as `failed` with a one-line
  reason from the engine's own errors (a DatasetError, a ModelShapeError, an EngineError, a
  missing file), never an exception out of `train` and never a traceback;
- a spec that does not validate gets 422 from `POST /api/runs`, with a `detail` that names the
  field at fault, and no run is created or queued.

The valid specs are small (tiny datasets, one or two epochs) but everything else ranges over
what the schema allows, extremes included: learn rates up to 1e20, weight decay up to 1e38,
64-bit seeds, infinite epsilon, any schedule, batch sizes larger than the data, a missing file.
The invalid ones are valid specs with one thing broken: a wrong type, a number out of its
documented range, NaN, a huge number, an unknown name, a missing field or an unknown one.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from trainscope.config import Settings
from trainscope.engine import loop
from trainscope.engine.datasets import DatasetError
from trainscope.engine.device import EngineError
from trainscope.engine.loop import train
from trainscope.schemas.events import Event, Point, Status
from trainscope.schemas.model import ModelShapeError
from trainscope.schemas.spec import RunSpec
from trainscope.web.app import create_app

from ..fake_executor import RecordingExecutor

PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None)

# ---- valid specs ------------------------------------------------------------------------------

FRACTION = st.floats(0, 0.95)
UNIT = st.floats(0, 1, exclude_max=True)  # [0, 1)
SEED_64 = st.integers(-(2**63), 2**64 - 1)


def _dataset(
    name: str, sizes: dict[str, st.SearchStrategy[Any]], **params: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """`sizes` always drawn (the defaults are thousands of samples), the rest optional."""
    common: dict[str, st.SearchStrategy[Any]] = {
        "validation_fraction": FRACTION,
        "test_fraction": FRACTION,
        "max_train_samples": st.none() | st.integers(1, 60),
        "seed": st.integers(0, 2**64),
    }
    optional = {k: v for k, v in {**common, **params}.items() if k not in sizes}
    return st.fixed_dictionaries({"name": st.just(name), **sizes}, optional=optional)


def _file(paths: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": st.just("file"), "path": st.sampled_from(paths)},
        optional={"task": st.sampled_from(["auto", "classification", "regression"])},
    )


# Small enough to train in a second or less: few samples, short sequences, small images.
VECTOR_DATASETS = _dataset(
    "spirals",
    {"num_samples": st.integers(10, 150)},
    num_classes=st.integers(2, 4),
    noise=st.floats(0, 10),
    turns=st.floats(0, 10, exclude_min=True),
) | _file(["points.csv", "points.csv", "points.csv", "missing.csv", "."])
IMAGE_DATASETS = _dataset("digits", {"max_train_samples": st.integers(1, 60)}) | _dataset(
    "synthetic-images",
    {
        "num_samples": st.integers(10, 100),
        "image_size": st.integers(4, 12),
        "channels": st.integers(1, 2),
    },
    num_classes=st.integers(2, 3),
    noise=st.floats(0, 10),
    max_shift=st.none() | st.integers(0, 1),
)
SEQUENCE_DATASETS = (
    _dataset(
        "sine-forecast",
        {"num_samples": st.integers(10, 100), "sequence_length": st.integers(2, 16)},
        noise=st.floats(0, 10),
    )
    | _dataset(
        "sequence-classes",
        {
            "num_samples": st.integers(10, 100),
            "sequence_length": st.integers(8, 16),
            "channels": st.integers(1, 3),
        },
        num_classes=st.integers(2, 3),
        noise=st.floats(0, 10),
    )
    | _file(["series.npz"])
)

SIZE = st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)).map(list)
ACTIVATIONS = st.one_of(
    st.sampled_from([{"type": t} for t in ("relu", "tanh", "sigmoid", "gelu", "batchnorm")]),
    st.fixed_dictionaries({"type": st.just("leaky-relu"), "scale": st.floats(0, 1e38)}),
    st.fixed_dictionaries({"type": st.just("dropout"), "probability": UNIT}),
)
FC = st.fixed_dictionaries({"type": st.just("fc"), "units": st.integers(1, 16)})
CONV = st.fixed_dictionaries(
    {"type": st.just("conv2d"), "filters": st.integers(1, 4), "filter_size": SIZE},
    optional={"stride": SIZE, "padding": st.just("same") | st.integers(0, 2)},
)
POOL = st.fixed_dictionaries(
    {"type": st.sampled_from(["maxpool", "avgpool"])},
    optional={"pool_size": SIZE, "stride": SIZE, "padding": st.integers(0, 1)},
)


def _recurrent(output_mode: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["lstm", "gru"]),
            "hidden_units": st.integers(1, 8),
            "output_mode": st.just(output_mode),
        },
        optional={"num_layers": st.integers(1, 2), "bidirectional": st.booleans()},
    )


def _layers(
    body: st.SearchStrategy[list[dict[str, Any]]], presets: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    head = st.lists(ACTIVATIONS | FC, max_size=2)
    as_layers = st.tuples(body, head).map(lambda bh: {"layers": bh[0] + bh[1]})
    return st.sampled_from([{"preset": p} for p in presets]) | as_layers


VECTOR_MODELS = _layers(st.lists(ACTIVATIONS | FC, min_size=1, max_size=3), ["mlp"])
IMAGE_MODELS = _layers(
    st.lists(CONV | POOL | ACTIVATIONS, max_size=3).map(lambda ls: [*ls, {"type": "flatten"}]),
    ["mlp", "simple-cnn", "deeper-cnn"],
)
SEQUENCE_MODELS = _layers(
    st.tuples(st.lists(_recurrent("sequence"), max_size=1), _recurrent("last")).map(
        lambda t: [*t[0], t[1]]
    )
    | st.just([{"type": "flatten"}]),
    ["mlp", "lstm", "gru"],
)

OPTIONS = st.fixed_dictionaries(
    {
        # Small: one or two passes over a few dozen samples.
        "max_epochs": st.integers(1, 2),
        "mini_batch_size": st.integers(1, 40),
    },
    optional={
        "solver": st.sampled_from(["sgdm", "adam", "rmsprop", "sgd", "adamw"]),
        "initial_learn_rate": st.none()
        | st.floats(5e-324, 1e20)
        | st.sampled_from([1e-8, 1.0, 1e20]),
        "momentum": UNIT,
        "gradient_decay_factor": UNIT,
        "squared_gradient_decay_factor": st.none() | UNIT,
        "epsilon": st.floats(min_value=0, exclude_min=True, allow_infinity=True),
        "l2_regularization": st.floats(0, 1e38),
        "gradient_threshold_method": st.sampled_from(["l2norm", "global-l2norm", "absolute-value"]),
        "gradient_threshold": st.floats(0, 1e38, exclude_min=True) | st.just("inf"),
        "learn_rate_schedule": st.sampled_from(
            ["none", "piecewise", "cosine", "linear", "inverse-sqrt", "exponential", "plateau"]
        ),
        "learn_rate_drop_period": st.integers(1, 2**63),
        "learn_rate_drop_factor": st.floats(0, 1),
        "warmup_epochs": st.floats(0, 100_000),
        "shuffle": st.sampled_from(["once", "every-epoch", "never"]),
        "validation_frequency": st.integers(1, 2**63),
        "validation_patience": st.integers(1, 2**63) | st.just("inf"),
        "output_network": st.sampled_from(["last-iteration", "best-validation-loss"]),
        "seed": SEED_64,
        # "gpu" on a machine without CUDA must fail cleanly; "auto" trains on what there is.
        "execution_environment": st.sampled_from(["cpu", "auto", "gpu"]),
    },
)

RAW_SPECS = st.one_of(
    st.fixed_dictionaries({"dataset": VECTOR_DATASETS, "model": VECTOR_MODELS, "options": OPTIONS}),
    st.fixed_dictionaries({"dataset": IMAGE_DATASETS, "model": IMAGE_MODELS, "options": OPTIONS}),
    st.fixed_dictionaries(
        {"dataset": SEQUENCE_DATASETS, "model": SEQUENCE_MODELS, "options": OPTIONS}
    ),
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's files: 2-D points with string labels (.csv), and sequences with a real target."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    rows = ["x1,x2,y"] + [
        f"{a:.3f},{b:.3f},{'inside' if a * a + b * b < 1 else 'outside'}"
        for a, b in rng.uniform(-1.5, 1.5, (60, 2))
    ]
    (root / "points.csv").write_text("\n".join(rows) + "\n")
    t = np.linspace(0, 1, 7)
    waves = np.sin(rng.uniform(1, 5, (60, 1)) * t).astype(np.float32)
    np.savez(root / "series.npz", X=waves[:, :6, None], y=waves[:, 6])
    return root


# The engine's documented errors: what a user can act on (engine/loop.py `train`).
CLEAN_ERRORS = (DatasetError, ModelShapeError, EngineError, FileNotFoundError)


@pytest.fixture(scope="module")
def raised() -> Iterator[list[BaseException]]:
    """What the training loop raised inside `train` (which turns user errors into a `failed`
    status): the status shows only the message, the property is about its type too."""
    seen: list[BaseException] = []
    real = loop._train

    def recording(*args: Any) -> Status:
        try:
            return real(*args)
        except BaseException as exc:
            seen.append(exc)
            raise

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "_train", recording)
        yield seen


@pytest.mark.slow
@settings(PROPERTY_SETTINGS, max_examples=30, suppress_health_check=[HealthCheck.filter_too_much])
@given(raw=RAW_SPECS)
def test_a_spec_that_validates_trains_or_fails_with_a_clean_reason(
    raw: dict[str, Any], data_dir: Path, raised: list[BaseException]
) -> None:
    try:
        spec = RunSpec.model_validate(raw)
    except ValidationError:
        reject()  # not this property's business (the next test's)
    events: list[Event] = []
    raised.clear()
    status = train(spec, events.append, data_dir=data_dir)  # nothing may escape
    trained = [e for e in events if isinstance(e, Point) and "train_loss" in e.values]
    statuses = [e for e in events if isinstance(e, Status)]
    assert statuses == [status], "exactly one final status, the one train returns"
    event(f"status: {status.status}")
    if status.status == "failed":
        # One line naming the problem, not a traceback or an empty string.
        assert status.message, raw
        assert "\n" not in status.message and "Traceback" not in status.message, status.message
        assert len(raised) == 1 and isinstance(raised[0], CLEAN_ERRORS), (raised, raw)
    else:
        assert raised == [], raw
        assert status.status in ("completed", "diverged"), (status, raw)
        assert trained, f"{status.status} without a single training iteration: {raw}"
        assert trained[0].iteration == 1 and trained[0].seq == 1
        assert math.isfinite(trained[0].values["learn_rate"]), trained[0].values


@dataclass
class Api:
    client: TestClient
    executor: RecordingExecutor

    def post_spec(self, body: Any) -> Any:
        # Encoded here, not by httpx: JSON as Python writes it keeps NaN and Infinity, as a
        # careless client's would.
        return self.client.post(
            "/api/runs", content=json.dumps(body), headers={"content-type": "application/json"}
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    executor = RecordingExecutor()
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("server")), executor=executor)
    # A loopback Host: the server answers only loopback names when bound to 127.0.0.1.
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Api(client, executor)


# ---- invalid specs ----------------------------------------------------------------------------

BASE_SPEC: dict[str, Any] = {
    "name": "base",
    "dataset": {"name": "spirals", "num_samples": 120, "validation_fraction": 0.2},
    "model": {"layers": [{"type": "fc", "units": 8}, {"type": "relu"}]},
    "options": {
        "solver": "adam",
        "initial_learn_rate": 0.01,
        "max_epochs": 2,
        "mini_batch_size": 16,
        "momentum": 0.9,
        "l2_regularization": 0.0001,
        "gradient_threshold": 5,
        "learn_rate_drop_factor": 0.5,
        "warmup_epochs": 1,
        "validation_frequency": 5,
        "validation_patience": 3,
        "seed": 1,
        "learn_rate_schedule": "piecewise",
        "execution_environment": "cpu",
    },
    "tags": ["a"],
    "group": "g",
}

WORDS = st.text(string.ascii_letters, min_size=1, max_size=12).filter(
    lambda s: s.lower() not in {"inf", "infinity", "nan"}
)
NOT_A_NUMBER = st.one_of(
    WORDS,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(WORDS, st.integers(), max_size=1),
)
NOT_A_STRING = st.one_of(
    st.integers(), st.floats(), st.lists(WORDS, max_size=2), st.dictionaries(WORDS, WORDS)
)
NAN = st.just(math.nan)
HUGE_INT = st.integers(2**64, 2**200)


def ints_outside(lo: int | None, hi: int | None, inf: bool = True) -> st.SearchStrategy[Any]:
    """Integers beyond [lo, hi], and what is no integer at all (infinity, unless allowed)."""
    out: list[st.SearchStrategy[Any]] = [NOT_A_NUMBER, NAN] + ([st.just(math.inf)] if inf else [])
    if lo is not None:
        out.append(st.integers(max_value=lo - 1))
    if hi is not None:
        out += [st.integers(min_value=hi + 1), HUGE_INT]
    return st.one_of(out)


def floats_outside(
    lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False
) -> st.SearchStrategy[Any]:
    out: list[st.SearchStrategy[Any]] = [NOT_A_NUMBER, NAN]
    if lo is not None:
        out.append(st.floats(max_value=lo, allow_nan=False).filter(lambda x: x < lo or lo_open))
    if hi is not None:
        out.append(st.floats(min_value=hi, allow_nan=False).filter(lambda x: x > hi or hi_open))
    return st.one_of(out)


def words_except(*allowed: str) -> st.SearchStrategy[Any]:
    return NOT_A_STRING | WORDS.filter(lambda w: w not in allowed)


# Each field of BASE_SPEC with values its documented range refuses.
BROKEN_VALUES: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("options", "max_epochs"): ints_outside(1, 100_000),
    ("options", "mini_batch_size"): ints_outside(1, 1_000_000),
    ("options", "initial_learn_rate"): floats_outside(0, 1e20, lo_open=True) | st.just(math.inf),
    ("options", "momentum"): floats_outside(0, 1, hi_open=True),
    ("options", "l2_regularization"): floats_outside(0, 1e38),
    ("options", "gradient_threshold"): floats_outside(0, 1e38, lo_open=True).filter(
        lambda x: x != math.inf
    ),
    ("options", "learn_rate_drop_factor"): floats_outside(0, 1),
    ("options", "warmup_epochs"): floats_outside(0, 100_000),
    ("options", "validation_frequency"): ints_outside(1, None),
    ("options", "validation_patience"): ints_outside(1, None, inf=False)
    | st.floats(1, 1e6).filter(lambda x: x != int(x)),
    ("options", "seed"): ints_outside(-(2**63), 2**64 - 1),
    ("options", "solver"): words_except("sgdm", "adam", "rmsprop", "sgd", "adamw"),
    ("options", "learn_rate_schedule"): words_except(
        "none", "piecewise", "cosine", "linear", "inverse-sqrt", "exponential", "plateau"
    ),
    ("options", "execution_environment"): words_except("auto", "cpu", "gpu"),
    ("dataset", "name"): words_except(
        "digits",
        "mnist",
        "fashion-mnist",
        "synthetic-images",
        "spirals",
        "sine-forecast",
        "sequence-classes",
        "file",
    ),
    ("dataset", "num_samples"): ints_outside(10, 1_000_000),
    ("dataset", "validation_fraction"): floats_outside(0, 1, hi_open=True),
    ("dataset", "seed"): ints_outside(0, None),
    ("model", "layers", 0, "units"): ints_outside(1, None) | st.just(2**62),
    ("model", "layers", 0, "type"): words_except("fc") | st.dictionaries(WORDS, WORDS),
    ("model", "layers"): st.one_of(
        st.just([]), st.integers(), WORDS, st.dictionaries(WORDS, WORDS)
    ),
    ("name",): NOT_A_STRING.filter(lambda v: v is not None) | st.text(min_size=201),
    ("tags",): st.one_of(WORDS, st.lists(st.integers(), min_size=1, max_size=3)),
}
# Fields a spec cannot do without, and where an unknown one is refused.
REQUIRED = [("dataset",), ("dataset", "name"), ("model", "layers", 0, "units")]
EXTRA_AT = [(), ("options",), ("dataset",), ("model", "layers", 0)]


def _parent(spec: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = spec
    for key in path[:-1]:
        node = node[key]
    return node


def _broken_value() -> st.SearchStrategy[tuple[dict[str, Any], tuple[Any, ...]]]:
    def build(path: tuple[Any, ...], value: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
        spec = json.loads(json.dumps(BASE_SPEC))
        _parent(spec, path)[path[-1]] = value
        return spec, path

    return st.sampled_from(sorted(BROKEN_VALUES, key=str)).flatmap(
        lambda path: BROKEN_VALUES[path].map(lambda value: build(path, value))
    )


def _missing(path: tuple[Any, ...]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    spec = json.loads(json.dumps(BASE_SPEC))
    del _parent(spec, path)[path[-1]]
    return spec, path


def _unknown_field() -> st.SearchStrategy[tuple[dict[str, Any], tuple[Any, ...]]]:
    def build(at: tuple[Any, ...], name: str) -> tuple[dict[str, Any], tuple[Any, ...]]:
        spec = json.loads(json.dumps(BASE_SPEC))
        _parent(spec, (*at, None))[name] = 1
        return spec, (*at, name)

    names = WORDS.map(lambda w: f"x_{w}")  # no field's name starts with x_
    return st.tuples(st.sampled_from(EXTRA_AT), names).map(lambda t: build(*t))


BROKEN_SPECS = st.one_of(_broken_value(), st.sampled_from(REQUIRED).map(_missing), _unknown_field())


def named(detail: dict[str, Any], path: tuple[Any, ...]) -> bool:
    """The problem is reported at the broken field, or at the part of the spec holding it
    with the field named in the message (a layer list reports "layer 1 (fc): units: ...")."""
    loc = [p for p in detail["loc"][1:] if p not in ("spirals", "fc", "layers", "preset")]
    want = [p for p in path if p not in ("layers",) and not isinstance(p, int)]
    if loc[: len(want)] == want:
        return True
    return bool(loc) and loc[0] == want[0] and str(want[-1]) in detail["msg"]


def test_the_base_of_the_broken_specs_is_accepted_and_queued(api: Api) -> None:
    r = api.post_spec(BASE_SPEC)
    assert r.status_code == 201, r.text
    assert api.executor.jobs[-1].run_id == r.json()["id"]


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(broken=BROKEN_SPECS)
def test_a_spec_that_does_not_validate_is_422_naming_the_field(
    broken: tuple[dict[str, Any], tuple[Any, ...]], api: Api
) -> None:
    body, path = broken
    with pytest.raises(ValidationError):  # the documented range is the enforced one
        RunSpec.model_validate(body)
        pytest.fail(f"{path} = {_parent(body, path).get(path[-1])!r} validates")
    runs_before = api.client.get("/api/runs").json()
    jobs_before = len(api.executor.jobs)

    r = api.post_spec(body)

    assert r.status_code == 422, (path, r.text)
    answer = r.json()
    assert answer["detail"], answer
    for d in answer["detail"]:
        assert d["loc"][0] == "body" and isinstance(d["msg"], str) and d["msg"], d
        assert d["msg"] in answer["message"]
    assert any(named(d, path) for d in answer["detail"]), (path, answer)
    # Nothing was created, nothing queued.
    assert api.client.get("/api/runs").json() == runs_before
    assert len(api.executor.jobs) == jobs_before
