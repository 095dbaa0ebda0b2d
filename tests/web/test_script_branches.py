"""Branching a script run (issue 16): an entry point with a resume option, whose script keeps a
checkpoint per epoch (epoch-N in $TRAINSCOPE_CHECKPOINT_DIR), is branched from one of them with
changed args, through a real `trainscope serve` and real workers; one without says it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server, rest_points, wait_status

pytestmark = pytest.mark.slow
OWN_CODE = Path(__file__).parents[1] / "own_code"
ENDED = ("completed", "stopped", "failed", "interrupted")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("script-branches")
    args = [
        "--entrypoint",
        f"res={OWN_CODE / 'resumable_train.py'}",
        "--entrypoint",
        f"plain={OWN_CODE / 'plain_train.py'}",
    ]
    srv = Server(folder, args=args).start()
    yield srv
    srv.stop()


def losses(points: list[dict[str, object]]) -> dict[int, float]:
    return {p["iteration"]: p["values"]["train_loss"] for p in points}  # type: ignore[index,misc]


def test_a_script_run_is_branched_from_its_own_epoch_checkpoint(server: Server) -> None:
    with server.api() as api:
        body = {"entrypoint": "res", "args": {"lr": 0.1, "epochs": 4}}
        parent = api.post("/api/runs", json=body).json()
        assert wait_status(api, parent["id"], ENDED)["status"] == "completed"
        assert api.get(f"/api/runs/{parent['id']}").json()["branchable_epochs"] == [1, 2, 3, 4]

        answer = api.post(
            f"/api/runs/{parent['id']}/branch", json={"epoch": 2, "options": {"lr": 0.5}}
        )
        assert answer.status_code == 201, answer.text
        branch = answer.json()
        assert branch["parent_id"] == parent["id"]
        assert branch["spec"]["branch"] == {"run_id": parent["id"], "epoch": 2}
        assert branch["spec"]["args"]["lr"] == 0.5
        assert wait_status(api, branch["id"], ENDED)["status"] == "completed"

        logs = api.get(f"/api/runs/{branch['id']}/logs").json()["lines"]
        assert "resumed from epoch 2" in [line["text"] for line in logs]
        theirs = losses(rest_points(api, parent["id"]))
        own = losses(rest_points(api, branch["id"]))
        # It went on from the parent's weights at the end of epoch 2 (step 10), at lr 0.5.
        assert sorted(own) == list(range(11, 21))
        assert own[11] == pytest.approx(theirs[10] * 0.5, rel=1e-6)
        assert own[11] != pytest.approx(theirs[11])
        lineage = api.get(f"/api/runs/{branch['id']}").json()["lineage"]
        assert [(e["run_id"], e["epoch"]) for e in lineage] == [(parent["id"], 2)]

        # The branch keeps checkpoints of its own: it can be branched in turn.
        epochs = api.get(f"/api/runs/{branch['id']}").json()["branchable_epochs"]
        assert epochs == [2, 3, 4]

        missing = api.post(f"/api/runs/{parent['id']}/branch", json={"epoch": 9, "options": {}})
        assert missing.status_code == 409
        assert "1, 2, 3, 4" in missing.json()["message"]
        bad = api.post(
            f"/api/runs/{parent['id']}/branch", json={"epoch": 2, "options": {"lr": "fast"}}
        )
        assert bad.status_code == 422 and "lr" in bad.json()["message"]


def test_a_script_without_a_resume_option_says_it_cannot_be_branched(server: Server) -> None:
    with server.api() as api:
        run = api.post("/api/runs", json={"entrypoint": "plain", "args": {"epochs": 1}}).json()
        assert wait_status(api, run["id"], ENDED)["status"] == "completed"
        assert api.get(f"/api/runs/{run['id']}").json()["branchable_epochs"] == []
        answer = api.post(f"/api/runs/{run['id']}/branch", json={"epoch": 1, "options": {}})
        assert answer.status_code == 409
        assert "declares no resume option" in answer.json()["message"]
