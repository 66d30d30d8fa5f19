"""Group commit: items that wait at the same moment are written in one transaction.

No thread of its own: a caller that finds nobody writing becomes the writer and writes, batch
after batch, whatever is queued, its own item among them. The others sleep on their own item's
event and are woken when it is written, one by one as the writer finishes each batch, never by
taking a lock in turn (each hand-off of a lock is a thread wake-up, and a writer that waits for
several of them between batches idles). Once its own item is written the writer goes on while
items are queued, for at most `DRAIN_SECONDS`, then hands the writing to the oldest waiting
item's thread. What a batch means (one transaction, then each alone if it fails) is the
caller's `write_batch`; webhook intake is the user (bot/intake/batch.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

MAX_BATCH = 100
"""Items written in one transaction at most (a bound on the writer's hold on SQLite)."""
DRAIN_SECONDS = 0.02
"""How long a writer whose own item is written goes on writing others' before handing over:
its own answer waits that much longer, and each hand-over is a thread wake-up."""


class Pending(Protocol):
    """An item waiting to be written: `write_batch` marks it written or sets its error."""

    error: BaseException | None
    woken: threading.Event
    """Set when the item is written (or failed), or when its thread is handed the writing."""

    @property
    def finished(self) -> bool: ...


Item = TypeVar("Item", bound=Pending)


class GroupCommit(Generic[Item]):
    """Writes items through `write_batch`, batching those that wait at the same moment."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: list[Item] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when nobody is left writing
        self._writing = False
        self.batches = 0
        self.items = 0

    def commit(self, item: Item, write_batch: Callable[[list[Item]], None]) -> None:
        """Write `item` (with whatever else is queued); re-raise its error, if any."""
        with self._lock:
            self._queue.append(item)
            lead = not self._writing
            self._writing = True
        if not lead:
            item.woken.wait()
            lead = not item.finished  # woken unwritten: handed the writing
        if lead:
            self._drain(item, write_batch)
        if item.error is not None:
            raise item.error

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or being written; False if `timeout` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._writing and not self._queue, timeout)

    def _drain(self, own: Item, write_batch: Callable[[list[Item]], None]) -> None:
        """Write batches until `own` is written and the queue is empty (or the time is up)."""
        started = time.monotonic()
        while True:
            with self._lock:
                if own.finished and (not self._queue or time.monotonic() - started > DRAIN_SECONDS):
                    self._hand_over()
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                self._write_batch(batch, write_batch)
            except BaseException as error:
                with self._lock:  # this thread stops writing: nobody may be left waiting
                    if own in self._queue:
                        self._queue.remove(own)
                        own.error = error
                    self._hand_over()
                raise
            finally:
                for item in batch:
                    if item is not own:
                        item.woken.set()

    def _hand_over(self) -> None:
        """With the lock held: the oldest waiting item's thread writes next, else nobody."""
        if self._queue:
            self._queue[0].woken.set()
        else:
            self._writing = False
            self._idle.notify_all()

    def _write_batch(self, batch: list[Item], write_batch: Callable[[list[Item]], None]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            write_batch(batch)
        except BaseException as error:
            # Even then, no waiting caller may be left without an answer.
            for item in batch:
                if not item.finished:
                    item.error = error
            raise
