"""A Trainer on 2 ranks (torchrun, gloo on CPU) with TrainscopeCallback; rank 0 presses Stop
through the REST API at step 3. Each rank prints its last step as JSON.

Usage: python -m torch.distributed.run --nproc_per_node 2 hf_ddp_train.py URL OUT_DIR TAG"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import httpx
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from trainscope.integrations.transformers import TrainscopeCallback

url, out, tag = sys.argv[1:4]
torch.set_num_threads(1)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(1)
        self.x = torch.randint(0, 64, (n, 8), generator=g)
        self.y = (self.x[:, 0] >= 32).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ones = torch.ones(8, dtype=torch.long)
        return {"input_ids": self.x[i], "attention_mask": ones, "labels": self.y[i]}


torch.manual_seed(0)
config = BertConfig(
    vocab_size=64,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=8,
    num_labels=2,
)
tracker = TrainscopeCallback(name="bert-ddp", url=url, tags=[tag])


class PressStop(TrainerCallback):
    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if tracker.run is not None and state.global_step == 3:  # rank 0 only has the run
            httpx.post(f"{url}/api/runs/{tracker.run.id}/stop").raise_for_status()


args = TrainingArguments(
    output_dir=out,
    per_device_train_batch_size=4,
    max_steps=100_000,
    learning_rate=1e-3,
    logging_steps=2,
    report_to="none",
    save_strategy="no",
    use_cpu=True,
    disable_tqdm=True,
    ddp_find_unused_parameters=False,
)
trainer = Trainer(
    model=BertForSequenceClassification(config),
    args=args,
    train_dataset=Tokens(32),
    callbacks=[tracker, PressStop()],
)
trainer.train()
print(
    json.dumps(
        {"rank": args.process_index, "world": args.world_size, "step": trainer.state.global_step}
    ),
    flush=True,
)
# Leave the process group before the interpreter exits, the DDP-wrapped model (which holds
# it) released first: gloo's threads torn down unjoined at exit can abort a rank ("terminate
# called without an active exception", SIGABRT), as in acc_ddp_train.py.
del trainer
gc.collect()
if torch.distributed.is_initialized():
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
