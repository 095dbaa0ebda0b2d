"""The training engine: pure PyTorch, no web, no database, no processes (DESIGN §2).

Import `trainscope.engine.loop.train`; this package file imports nothing so that light
submodules (e.g. schedules) can be used without paying for torch's import twice.
"""
