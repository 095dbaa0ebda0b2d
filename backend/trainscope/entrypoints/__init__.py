"""The user's own training code as runs (DESIGN §8): entry points, their options and metrics.

Everything here is importable by the server (no torch, no user code): the probes that *do*
import user code (`argparse_probe`, `function_probe`) run as child processes, started by
`trainscope.jobs.probe_runner`, and answer in JSON (`probe.py` holds its shape).
"""
