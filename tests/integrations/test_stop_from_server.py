"""The dashboard's Stop (POST /api/runs/{id}/stop on a real server) ends a SummaryWriter loop
and a wandb-style loop; each run ends `stopped`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..sdk.conftest import finish, first_line, script, wait_run
from ..web.conftest import Server

# Real processes or real training (the slow tier).
pytestmark = pytest.mark.slow

LOOPS = {
    "summary_writer": """
        import time
        from trainscope import SummaryWriter
        writer = SummaryWriter(comment="tb stop", url="{url}")
        writer.add_scalar("Loss/train", 1.0, 0)
        print(writer.run.id, flush=True)
        step = 0
        while not writer.should_stop:
            step += 1
            writer.add_scalar("Loss/train", 1.0 / step, step)
            time.sleep(0.005)
        writer.close()
    """,
    "wandb": """
        import os, time
        import trainscope.compat.wandb as wandb
        os.environ["TRAINSCOPE_URL"] = "{url}"
        run = wandb.init(project="p", name="wb stop")
        print(run.id, flush=True)
        while not run.should_stop:
            wandb.log({{"train/loss": 0.5}})
            time.sleep(0.005)
        wandb.finish()
    """,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("integrations-server")).start(wait_workers=False)
    yield srv
    srv.stop()


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_stop_from_the_dashboard_ends_the_loop(server: Server, loop: str) -> None:
    proc = script(LOOPS[loop].format(url=server.url))
    run_id = int(first_line(proc))
    with server.api() as api:
        r = api.post(f"/api/runs/{run_id}/stop")
        assert r.status_code == 200, r.text
        finish(proc, timeout=60)  # the loop ended by itself
        run = wait_run(api, run_id, ("stopped",), timeout=10)
    assert run["status"] == "stopped"
