"""The threads Bolt runs listeners on: a fixed set, fed through a lock-free queue.

Bolt hands every request's listener to its executor with `submit`, in the request thread,
before the HTTP answer goes out. `ThreadPoolExecutor.submit` takes the pool's lock and a
process-wide one on every call (and starts threads lazily while holding them), so under load
request threads queue on those two locks, each hand-over a thread wake-up (docs/performance.md).
Here every worker starts up front and `submit` only puts the work on a `queue.SimpleQueue`
(and counts it, under a lock held for that one addition, for `wait_idle`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from bot import metrics

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class ListenerPool(Executor):
    """`threads` workers taking listener work in arrival order."""

    def __init__(self, threads: int, name: str = "listener") -> None:
        self.threads = threads
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._closed = False
        self._pending = 0  # taken and not yet run (or cancelled): what `wait_idle` waits out
        self._idle = threading.Condition(threading.Lock())
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}_{n}", daemon=True)
            for n in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("cannot take new listener work after shutdown")
        future: Future[Any] = Future()
        self._put((future, fn, args, kwargs))
        return future

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no work is queued or running; False if `timeout` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _put(self, work: _Work) -> None:
        with self._idle:
            self._pending += 1
        metrics.LISTENER_QUEUE.inc()
        self._queue.put(work)

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; with `wait`, return once every piece taken so far has run (or,
        with `cancel_futures`, every piece not yet started is cancelled instead)."""
        self._closed = True
        if cancel_futures:
            while True:
                try:
                    work = self._queue.get_nowait()
                except queue.Empty:
                    break
                if work is not None:
                    metrics.LISTENER_QUEUE.dec()
                    work[0].cancel()
                    self._finished()
        for _ in self._workers:
            self._queue.put(None)
        if not wait:
            return
        for worker in self._workers:
            worker.join()
        # Work put on the queue by a submit racing the close, behind the workers' stop marks.
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                return
            if work is not None:
                self._run_counted(work)

    def _work(self) -> None:
        while (work := self._queue.get()) is not None:
            self._run_counted(work)

    def _run_counted(self, work: _Work) -> None:
        metrics.LISTENER_QUEUE.dec()  # taken off the queue: running now
        try:
            _run(work)
        finally:
            self._finished()


def _run(work: _Work) -> None:
    future, fn, args, kwargs = work
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as error:  # handed to whoever holds the future, as executors do
        future.set_exception(error)
    else:
        future.set_result(result)
