"""The work queue: each key runs when due, once at a time, earliest request wins."""

from __future__ import annotations

import asyncio
import random

import pytest

from tokensync.controllers.work_queue import WorkQueue

pytestmark = pytest.mark.looptime


async def test_runs_keys_at_their_due_time_in_order() -> None:
    loop = asyncio.get_running_loop()
    ran: list[tuple[str, float]] = []

    async def worker(key: str) -> None:
        ran.append((key, loop.time()))

    queue: WorkQueue[str] = WorkQueue(worker)
    start = loop.time()
    queue.start()
    queue.schedule("late", 3600)
    queue.schedule("soon", 10)
    await asyncio.sleep(4000)
    await queue.stop()
    assert [(k, round(t - start)) for k, t in ran] == [("soon", 10), ("late", 3600)]


async def test_an_earlier_request_wins_unless_replaced() -> None:
    loop = asyncio.get_running_loop()
    ran: list[float] = []

    async def worker(key: str) -> None:
        ran.append(loop.time())

    queue: WorkQueue[str] = WorkQueue(worker)
    start = loop.time()
    queue.start()
    queue.schedule("k", 100)
    queue.schedule("k", 500)  # later: ignored
    queue.schedule("k", 50)  # earlier: wins
    await asyncio.sleep(1000)
    queue.schedule("k", 100)
    queue.schedule("k", 300, replace=True)  # the plan moved: replace
    await asyncio.sleep(1000)
    await queue.stop()
    assert [round(t - start) for t in ran] == [50, 1300]


async def test_a_key_never_runs_twice_at_once_but_reruns_when_woken_meanwhile() -> None:
    running = 0
    most = 0
    calls = 0

    async def worker(key: str) -> None:
        nonlocal running, most, calls
        calls += 1
        running += 1
        most = max(most, running)
        await asyncio.sleep(5)
        running -= 1

    queue: WorkQueue[str] = WorkQueue(worker)
    queue.start()
    queue.schedule("k")
    await asyncio.sleep(1)
    queue.schedule("k")  # woken while running: one more run right after
    queue.schedule("k")
    await asyncio.sleep(60)
    await queue.stop()
    assert (most, calls) == (1, 2)


async def test_concurrency_is_bounded() -> None:
    running = 0
    most = 0

    async def worker(key: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(1)
        running -= 1

    queue: WorkQueue[int] = WorkQueue(worker, concurrency=3)
    queue.start()
    for i in range(20):
        queue.schedule(i)
    await asyncio.sleep(30)
    await queue.stop()
    assert most == 3


async def test_a_crashing_worker_does_not_stop_the_queue_and_is_retried() -> None:
    calls: list[str] = []

    async def worker(key: str) -> None:
        calls.append(key)
        if key == "bad" and calls.count("bad") == 1:
            raise RuntimeError("boom")

    queue: WorkQueue[str] = WorkQueue(worker)
    queue.start()
    queue.schedule("bad")
    queue.schedule("good", 1)
    await asyncio.sleep(120)
    await queue.stop()
    assert calls == ["bad", "good", "bad"]


async def test_forget_cancels_a_planned_run() -> None:
    calls: list[str] = []

    async def worker(key: str) -> None:
        calls.append(key)

    queue: WorkQueue[str] = WorkQueue(worker)
    queue.start()
    queue.schedule("k", 10)
    queue.forget("k")
    await asyncio.sleep(100)
    await queue.stop()
    assert calls == []


@pytest.mark.looptime(False)  # real time: the order of callbacks within one tick matters here
async def test_stop_ends_the_queue_even_when_work_arrives_in_the_same_moment() -> None:
    # Python 3.11's asyncio.wait_for swallows a cancellation that arrives just as what it waits
    # for completes: the dispatcher then lived on, and the operator's stop (SIGTERM) hung forever.
    async def worker(key: str) -> None:
        pass

    queue: WorkQueue[str] = WorkQueue(worker)
    queue.start()
    queue.schedule("later", 3600.0)
    for _ in range(5):
        await asyncio.sleep(0)  # the dispatcher now waits, until "later" at most
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5):  # a guard only: stop() itself swallows the cancellation
        queue.schedule("now")  # wakes it ...
        await queue.stop()  # ... in the very moment it is stopped
    assert loop.time() - started < 5, "stop() waited for the guard: the dispatcher did not end"


async def test_a_group_whose_work_hangs_cannot_delay_another_group() -> None:
    """Issue 14: 200 syncs of one namespace hanging 30 s each (an endpoint that never answers)
    must not hold back another namespace's new resource."""
    loop = asyncio.get_running_loop()
    started: dict[tuple[str, int], float] = {}
    running: list[int] = [0, 0]  # now, most at once

    async def worker(key: tuple[str, int]) -> None:
        started[key] = loop.time()
        running[0] += 1
        running[1] = max(running[1], running[0])
        await asyncio.sleep(30 if key[0] == "stuck" else 0.1)
        running[0] -= 1

    queue: WorkQueue[tuple[str, int]] = WorkQueue(worker, concurrency=32, group=lambda key: key[0])
    queue.start()
    start = loop.time()
    for i in range(200):
        queue.schedule(("stuck", i))
    await asyncio.sleep(1)
    queue.schedule(("healthy", 0))
    await asyncio.sleep(1)
    assert started.get(("healthy", 0), float("inf")) - start <= 1.01
    assert running[1] == 24 + 1  # the stuck namespace kept a quarter of the slots free
    await asyncio.sleep(400)
    await queue.stop()
    assert len(started) == 201  # and all its work still got done, 24 at a time



async def test_many_hanging_groups_cannot_delay_a_healthy_one_beyond_hang_after() -> None:
    """Found by review (issue 14): nine namespaces whose syncs hang took all 32 slots (24 + 8 x 1),
    and a healthy namespace's new resource waited for a hang to end. A sync running ``hang_after``
    gives its slot back; no group holds more than its share in all; at most twice the bound run."""
    loop = asyncio.get_running_loop()
    started: dict[tuple[str, int], float] = {}
    running: list[int] = [0, 0]  # now, most at once
    by_group: dict[str, int] = {}

    async def worker(key: tuple[str, int]) -> None:
        started[key] = loop.time()
        running[0] += 1
        running[1] = max(running[1], running[0])
        by_group[key[0]] = by_group.get(key[0], 0) + 1
        assert by_group[key[0]] <= 24, "one group holds more than its share"
        await asyncio.sleep(0.1 if key[0] == "healthy" else 30)
        by_group[key[0]] -= 1
        running[0] -= 1

    queue: WorkQueue[tuple[str, int]] = WorkQueue(worker, concurrency=32, group=lambda key: key[0],
                                                  hang_after=5.0)
    queue.start()
    for n in range(40):  # forty hanging namespaces, the first with 200 syncs
        for i in range(200 if n == 0 else 4):
            queue.schedule((f"stuck{n}", i))
    await asyncio.sleep(1)
    asked = loop.time()
    queue.schedule(("healthy", 0))
    await asyncio.sleep(10)
    assert started[("healthy", 0)] - asked <= 5.01, "the healthy group waited past hang_after"
    assert running[1] <= 64, "more than twice the bound ran at once"
    await asyncio.sleep(2000)
    await queue.stop()
    assert len(started) == 200 + 39 * 4 + 1  # and every hanging group's work still got done


async def test_a_key_due_in_less_than_a_millisecond_never_runs_before_its_moment() -> None:
    """Found by the soak: a resource whose next moment was a few microseconds ahead ran early,
    found nothing due, asked for that moment again, and spun (in fast-forwarded time, forever)."""
    loop = asyncio.get_running_loop()
    runs: list[float] = []
    moment = loop.time() + 0.0005

    async def worker(key: str) -> None:
        runs.append(loop.time())
        if loop.time() < moment and len(runs) < 1000:
            queue.schedule(key, moment - loop.time(), replace=True)  # not due yet: ask again

    queue: WorkQueue[str] = WorkQueue(worker)
    queue.start()
    queue.schedule("k", moment - loop.time())
    await asyncio.sleep(1)
    await queue.stop()
    assert len(runs) == 1 and runs[0] >= moment, f"{len(runs)} runs, the first {moment - runs[0]:.6f} s early"


async def test_a_sync_that_could_not_linger_at_first_lingers_when_another_ends() -> None:
    """Found by review: with as many syncs lingering as slots, one past hang_after was refused and
    never asked again, so when the lingering ones ended, hung syncs held every slot to their end
    and a healthy group waited 9 s past hang_after."""
    loop = asyncio.get_running_loop()
    started: dict[tuple[str, int], float] = {}

    async def worker(key: tuple[str, int]) -> None:
        started[key] = loop.time()
        await asyncio.sleep(0.1 if key[0] == "healthy" else 30)

    queue: WorkQueue[tuple[str, int]] = WorkQueue(worker, concurrency=32, group=lambda key: key[0],
                                                  hang_after=5.0)
    queue.start()
    for n in range(40):
        for i in range(200 if n == 0 else 4):
            queue.schedule((f"stuck{n}", i))
    await asyncio.sleep(31)  # the first 32 lingering syncs have ended; those refused at t=10 run on
    asked = loop.time()
    queue.schedule(("healthy", 0))
    await asyncio.sleep(20)
    await queue.stop(cancel_running=True)
    assert started[("healthy", 0)] - asked <= 5.01


@pytest.mark.parametrize("durations", ["equal", "varied"])
async def test_two_busy_groups_share_the_slots_as_they_free_one_at_a_time(durations: str) -> None:
    """Found by review: each freed slot went to the group held first, so of two namespaces with the
    same backlog one got 1,378 syncs done in a minute and the other 71."""
    rng = random.Random(7)
    done = {"a": 0, "b": 0}

    async def worker(key: tuple[str, int]) -> None:
        await asyncio.sleep(1.0 if durations == "equal" else rng.uniform(0.5, 1.5))
        done[key[0]] += 1

    queue: WorkQueue[tuple[str, int]] = WorkQueue(worker, concurrency=32, group=lambda key: key[0])
    queue.start()
    for i in range(2000):
        queue.schedule(("a", i))
        queue.schedule(("b", i))
    await asyncio.sleep(60)
    await queue.stop(cancel_running=True)
    assert min(done.values()) >= 0.8 * max(done.values()), done
