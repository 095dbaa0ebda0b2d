"""Ignores SIGINT and SIGTERM: only SIGKILL ends it."""

import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("loss: 1.0", flush=True)
while True:
    time.sleep(0.05)
