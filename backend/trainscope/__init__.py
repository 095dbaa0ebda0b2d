"""trainscope: live training curves for PyTorch in the browser.

`trainscope.init(...)` logs any training script (docs/sdk.md). It is imported on first use, so
`import trainscope` (and the CLI) stays instant and pulls in nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainscope.version import __version__

if TYPE_CHECKING:
    from trainscope.integrations.tensorboard import SummaryWriter
    from trainscope.sdk import Run, finish, init, log

__all__ = ["Run", "SummaryWriter", "__version__", "finish", "init", "log"]


def __getattr__(name: str) -> Any:
    if name in ("Run", "init", "log", "finish"):
        from trainscope import sdk

        value = getattr(sdk, name)
        globals()[name] = value  # the next lookup is a plain attribute: no __getattr__
        return value
    if name == "SummaryWriter":
        from trainscope.integrations.tensorboard import SummaryWriter

        globals()[name] = SummaryWriter
        return SummaryWriter
    raise AttributeError(f"module 'trainscope' has no attribute {name!r}")
