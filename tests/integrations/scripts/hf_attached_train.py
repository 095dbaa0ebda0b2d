"""A plain Hugging Face Trainer script with TrainscopeCallback, knowing nothing of where it
runs: started by trainscope as an entry point's run, the callback attaches to that run."""

from __future__ import annotations

import argparse
import os
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from trainscope.integrations.transformers import TrainscopeCallback

parser = argparse.ArgumentParser()
parser.add_argument("--max_steps", type=int, default=20)
parser.add_argument("--learning_rate", type=float, default=1e-3)
parser.add_argument("--out", default="hf-out")
cli = parser.parse_args()
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
args = TrainingArguments(
    output_dir=cli.out,
    per_device_train_batch_size=8,
    max_steps=cli.max_steps,
    learning_rate=cli.learning_rate,
    logging_steps=1,
    report_to="none",
    save_strategy="no",
    use_cpu=True,
    disable_tqdm=True,
)
trainer = Trainer(
    model=BertForSequenceClassification(config),
    args=args,
    train_dataset=Tokens(32),
    callbacks=[TrainscopeCallback()],
)
trainer.train()
print(f"trainer ended by itself at step {trainer.state.global_step}", flush=True)
