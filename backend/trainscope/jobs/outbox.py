"""Worker side: batches a worker's messages and sends them from a thread of its own.

The engine emits one Point per iteration, every ~100 µs for a small model. Pickling and writing
each one on its own would cost more than the iteration, so points wait here for at most
`max_delay_s` and go out together; anything else (Started, Status, a checkpoint, JobDone) sends
the batch at once. `put` never writes to the pipe itself: when the server is slow to read, the
training carries on and the batch grows, instead of the loop blocking on a full pipe.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable

from trainscope.jobs.messages import Message, is_point

MAX_DELAY_S = 0.005
MAX_BATCH = 1000


class Outbox:
    def __init__(
        self,
        send: Callable[[list[Message]], None],
        max_delay_s: float = MAX_DELAY_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._send = send
        self._max_delay_s = max_delay_s
        self._max_batch = max_batch
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Message] = []
        self._oldest = 0.0  # when the first pending message was put
        self._urgent = False
        self._closing = False
        # Set when a send fails: the executor is gone, so the run should stop and checkpoint.
        self.broken = False
        self._thread = threading.Thread(target=self._run, name="trainscope-outbox", daemon=True)
        self._thread.start()

    def put(self, message: Message) -> None:
        """Called on the training thread: about a microsecond, never blocks on I/O."""
        with self._cond:
            if self.broken or self._closing:
                return
            if not self._pending:
                self._oldest = time.monotonic()
                self._cond.notify()  # starts the sender's max_delay_s clock
            self._pending.append(message)
            if not is_point(message) or len(self._pending) >= self._max_batch:
                self._urgent = True
                self._cond.notify()

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is pending, then end the sender thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return  # closing, and everything was sent
                while not self._urgent and not self._closing:
                    remaining = self._oldest + self._max_delay_s - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                batch, self._pending, self._urgent = self._pending, [], False
            try:
                self._send(batch)  # outside the lock: put() must not wait for the pipe
            except OSError:
                with self._cond:  # the reading end is closed: nobody will ever read again
                    self.broken = True
                    self._pending = []
                return
            except Exception:
                # Something in the batch did not pickle. Connection.send pickles before it
                # writes, so the pipe is intact: lose this batch, say why, keep going.
                with contextlib.suppress(OSError):  # a log on a full disk: keep sending
                    traceback.print_exc()
