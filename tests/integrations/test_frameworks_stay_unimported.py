"""`import trainscope` (and the SDK, the TensorBoard writer, the wandb shim) never imports
Lightning or Keras: each is imported only by its own integration module."""

from __future__ import annotations

import subprocess
import sys


def test_import_trainscope_pulls_in_no_lightning_or_keras() -> None:
    code = (
        "import sys, trainscope, trainscope.integrations, trainscope.compat.wandb\n"
        "trainscope.init, trainscope.SummaryWriter\n"
        "import trainscope.integrations._lightning_body\n"
        "frameworks = ('lightning', 'pytorch_lightning', 'lightning_fabric', 'keras')\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in frameworks)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
