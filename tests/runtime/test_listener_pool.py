"""The listener pool runs what Bolt submits, in parallel, and a stop waits for all of it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from bot.runtime.listener_pool import ListenerPool
from bot.sandbox.waiting import wait_for


def test_work_runs_on_the_pools_threads_and_answers_through_its_future() -> None:
    pool = ListenerPool(2)
    try:
        assert pool.submit(lambda a, b: a + b, 2, b=3).result(timeout=5) == 5
        name = pool.submit(lambda: threading.current_thread().name).result(timeout=5)
        assert name.startswith("listener_")

        def fails() -> None:
            raise ValueError("listener failed")

        with pytest.raises(ValueError, match="listener failed"):
            pool.submit(fails).result(timeout=5)
        assert pool.submit(lambda: "still serving").result(timeout=5) == "still serving"
    finally:
        pool.shutdown()


def test_as_many_pieces_run_at_once_as_there_are_threads() -> None:
    pool = ListenerPool(4)
    together = threading.Barrier(4, timeout=5)
    try:
        futures = [pool.submit(together.wait) for _ in range(4)]
        assert sorted(f.result(timeout=5) for f in futures) == [0, 1, 2, 3]
    finally:
        pool.shutdown()


def test_a_stop_waits_for_every_piece_already_taken_then_refuses_more() -> None:
    pool = ListenerPool(2)
    done: list[int] = []

    def slow(n: int) -> None:
        time.sleep(0.05)
        done.append(n)

    for n in range(10):  # five times the threads: most wait in the queue
        pool.submit(slow, n)
    pool.shutdown(wait=True)
    assert sorted(done) == list(range(10))
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(slow, 11)


def test_work_queued_behind_the_stop_marks_is_still_run_by_the_stop() -> None:
    pool = ListenerPool(1)
    gate = threading.Event()
    ran: list[str] = []
    pool.submit(gate.wait, 5)  # the one worker is busy
    stopping = threading.Thread(target=pool.shutdown)
    stopping.start()
    assert wait_for(lambda: pool._queue.qsize() == 1), "the stop mark is queued"
    # A submit that passed its closed check just before the close lands behind the mark.
    late: Future[None] = Future()
    pool._put((late, ran.append, ("late",), {}))
    gate.set()
    stopping.join(5)
    assert not stopping.is_alive() and ran == ["late"] and late.done()
    assert pool.wait_idle(0)


def test_a_stop_that_cancels_leaves_queued_work_unstarted() -> None:
    pool = ListenerPool(1)
    started, gate = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(5)

    running = pool.submit(hold)
    queued = [pool.submit(time.sleep, 0) for _ in range(3)]
    assert started.wait(5), "the one worker holds the first piece"
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert running.result(timeout=5) is True
    assert all(f.cancelled() for f in queued)
    assert pool.wait_idle(5), "cancelled work no longer counts as pending"


def test_wait_idle_waits_for_running_and_queued_work() -> None:
    pool = ListenerPool(1)
    started, gate = threading.Event(), threading.Event()
    done: list[str] = []

    def hold() -> None:
        started.set()
        gate.wait(5)
        done.append("held")

    try:
        assert pool.wait_idle(0), "a new pool is idle"
        pool.submit(hold)
        queued = pool.submit(done.append, "queued")
        assert started.wait(5)
        assert pool.wait_idle(0.05) is False, "idle while a piece runs and one is queued"
        assert not queued.done()
        waiter_saw: list[bool] = []
        waiter = threading.Thread(target=lambda: waiter_saw.append(pool.wait_idle(5)))
        waiter.start()
        gate.set()
        waiter.join(5)
        assert waiter_saw == [True]
        assert done == ["held", "queued"], "idle only once the queued piece ran too"
    finally:
        gate.set()
        pool.shutdown()
