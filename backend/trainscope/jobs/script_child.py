"""Child side: the interpreter a user's entry point runs in (`-m trainscope.jobs.script_child`).

It starts before its run is known, imports what training code imports (torch, numpy) and then
waits for one launch on stdin: a JSON line with the working folder, the environment to add, and
what to run (a script with its argv, or `package.module:function` with its validated args). So a
restart pays for neither the interpreter's start nor `import torch` (seconds on a small machine),
the way the engine's warm workers do. CUDA is not touched here: `CUDA_VISIBLE_DEVICES` arrives with
the launch and takes effect when the script first uses the GPU.

It runs the code as `python script.py ...` would: `__main__`, `sys.argv`, the script's folder first
on `sys.path`, its exit code as ours. Nothing of trainscope stays in the way: the module imports
only the standard library before the launch.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A worker killed with SIGKILL cannot stop its children; the kernel can, on Linux."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _warm_up() -> None:
    # What training code imports first; a script without torch simply skips it.
    for module in ("numpy", "torch"):
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    torch = sys.modules.get("torch")
    if torch is not None:
        # A first forward and backward pass initialises autograd, the CPU kernels and the
        # thread pool (hundreds of ms on a small machine): paid here, not by the run.
        with contextlib.suppress(Exception):
            layer = torch.nn.Linear(8, 8)
            torch.optim.SGD(layer.parameters(), lr=0.1).zero_grad()
            layer(torch.randn(4, 8)).square().mean().backward()


def main() -> int:
    _die_with_parent()
    parent = os.getppid()
    _warm_up()
    line = sys.stdin.readline()
    if not line or os.getppid() != parent:
        return 0  # the worker went away before giving us a run
    launch = json.loads(line)
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the script's stdin, for its whole life
    os.environ.update(launch["env"])
    os.chdir(launch["cwd"])
    # A child in a session of its own gets SIGINT only when the worker sends it: restore the
    # default so the script sees KeyboardInterrupt, as it would under Ctrl-C. The worker's
    # own dispositions and signal mask are inherited (a local worker ignores SIGINT, a Ray
    # worker blocks signals): a script must get them as a terminal would send them.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if launch["kind"] == "function":
        sys.argv = [launch["target"]]
        sys.path[0] = launch["cwd"]
        from trainscope.entrypoints.function_run import run  # its model validates the args

        run(launch["target"], launch["args"])
        return 0
    script = launch["target"]
    sys.argv = [script, *launch["argv"]]
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script.py` sets it
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
