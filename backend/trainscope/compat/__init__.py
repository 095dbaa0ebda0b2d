"""Drop-in modules for scripts written for other trackers: `import trainscope.compat.wandb as
wandb` (docs/integrations.md)."""

from __future__ import annotations
