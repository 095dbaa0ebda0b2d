"""A torch loop under accelerate on 2 ranks (torchrun, gloo on CPU) with
`log_with="trainscope"`; rank 0 presses Stop through the REST API at step 3 and every rank
leaves the loop through `should_stop(accelerator)`. Each rank prints its last step as JSON.

Usage: python -m torch.distributed.run --nproc_per_node 2 acc_ddp_train.py URL TAG"""

from __future__ import annotations

import gc
import json
import sys

import httpx
import torch
from accelerate import Accelerator

import trainscope.integrations.accelerate  # noqa: F401  (registers "trainscope")
from trainscope.integrations.accelerate import should_stop

url, tag = sys.argv[1:3]
torch.set_num_threads(1)
accelerator = Accelerator(log_with="trainscope", cpu=True)
accelerator.init_trackers(
    "acc-ddp", config={"lr": 0.05}, init_kwargs={"trainscope": {"url": url, "tags": [tag]}}
)
torch.manual_seed(0)
x = torch.randn(64, 4)
data = torch.utils.data.TensorDataset(x, x.sum(dim=1))
loader = torch.utils.data.DataLoader(data, batch_size=8)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
model, opt, loader = accelerator.prepare(model, opt, loader)
step = 0
stopped = False
while not stopped and step < 100_000:
    for xb, yb in loader:
        step += 1
        loss = torch.nn.functional.mse_loss(model(xb).squeeze(-1), yb)
        opt.zero_grad()
        accelerator.backward(loss)
        opt.step()
        accelerator.log({"train_loss": loss.item()}, step=step)
        if step == 3 and accelerator.is_main_process:
            run_id = accelerator.get_tracker("trainscope", unwrap=True).id
            httpx.post(f"{url}/api/runs/{run_id}/stop").raise_for_status()
        if should_stop(accelerator):
            stopped = True
            break
# end_training destroys the process group. The DDP model still holds it (its reducer), and
# when that last reference goes only at interpreter exit, gloo's threads are torn down unjoined
# and a rank can abort ("terminate called without an active exception", SIGABRT, about one
# exit in five on a loaded 2-core machine). So: both ranks here together, the prepared objects
# released first, then end_training.
accelerator.wait_for_everyone()
model, opt, loader = accelerator.free_memory(model, opt, loader)
gc.collect()
accelerator.end_training()
out = {"rank": accelerator.process_index, "world": accelerator.num_processes, "step": step}
print(json.dumps(out), flush=True)
