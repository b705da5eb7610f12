"""A keyed, delayed work queue: each resource is reconciled when it is due, once at a time.

Like controller-runtime's rate-limited queue: kopf's watch handlers only *enqueue* keys
("this object changed", "its Secret was deleted"); the reconcile that reads the cloud runs
here, at the time the refresh plan chose, with a bound on how many run at once so that
thousands of resources starting together do not stampede the cloud or the API server.

Fair across groups (namespaces): one group may fill the slots only up to a reserve, a quarter of
them, kept for the others. A namespace whose syncs hang (a CloudAccess pointed at an address that
never answers: 10 s per try, 3 tries) then slows only itself; alone, a group still gets 3/4 of
the slots, so a fleet in one namespace loses little throughput.

The reserve alone is one slot per group: nine hanging namespaces took all 32 slots and a healthy
one waited for a hang to end (26 s, measured by a review). So a sync that has run ``hang_after``
seconds gives its slot back (it lingers): it still counts for its group, which never holds more
than its share in all, but no longer for the bound. At most ``concurrency`` syncs linger (the
next in line lingers when one ends), so no more than twice the bound are ever in flight, and a
healthy namespace waits at most ``hang_after`` (11 s) while fewer syncs hang than there are slots.
When the cloud rate limiter is what holds syncs up past ``hang_after``, they linger too: more
syncs wait on the limiter at once (the call rate holds), and a new namespace waits behind them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)
_DUE_TOLERANCE = 0.001  # seconds

Key = TypeVar("Key", bound=Hashable)
# Longer than one cloud attempt's timeout (10 s): a sync past it has had an attempt time out (or
# waited that long for the cloud rate limiter). Shorter, syncs that are slow but answer (5-10 s
# under throttling) lingered too, and twice the bound ran (found by review).
HANG_AFTER = 11.0


def _one_group(_key: Any) -> Hashable:
    return None


class WorkQueue(Generic[Key]):
    def __init__(self, worker: Callable[[Key], Awaitable[None]], *, concurrency: int = 32,
                 group: Callable[[Key], Hashable] = _one_group, hang_after: float = HANG_AFTER) -> None:
        self._worker = worker
        self._concurrency = concurrency
        self._group = group
        self._reserve = concurrency // 4  # slots a group that already has its share may not take
        self._share = concurrency - self._reserve  # the most one group has in flight, lingering or not
        self._hang_after = hang_after
        self._lingering: set[Key] = set()  # running past hang_after: their slots are given back
        self._linger_timers: dict[Key, asyncio.TimerHandle] = {}
        self._waiting_to_linger: collections.deque[Key] = collections.deque()  # past hang_after, none free
        self._running_by_group: dict[Hashable, int] = {}
        # Due, but their group had its share when they came up: per group, in due order.
        self._held: dict[Hashable, list[tuple[float, int, Key]]] = {}
        self._due: dict[Key, float] = {}  # key -> loop time it is due (the earliest asked for)
        self._heap: list[tuple[float, int, Key]] = []
        self._sequence = itertools.count()
        self._running: set[Key] = set()
        self._rerun: set[Key] = set()  # keys woken while running: run once more right after
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopping = False

    def schedule(self, key: Key, delay: float = 0.0, *, replace: bool = False) -> None:
        """Run ``key`` after ``delay`` seconds, never before; keep an earlier time unless ``replace``."""
        loop = asyncio.get_running_loop()
        if delay > 0:
            # The dispatcher runs what is due within _DUE_TOLERANCE: a nearer moment would run
            # early, find nothing due yet, and be asked for again at once. In fast-forwarded time,
            # where the clock moves only when the loop idles, that was a spin (found by the soak).
            delay = max(delay, 2 * _DUE_TOLERANCE)
        when = loop.time() + max(0.0, delay)
        if key in self._running and delay <= 0 and not replace:
            self._rerun.add(key)
            return
        current = self._due.get(key)
        if current is not None and current <= when and not replace:
            return
        self._due[key] = when
        heapq.heappush(self._heap, (when, next(self._sequence), key))
        self._changed.set()

    def forget(self, key: Key) -> None:
        self._due.pop(key, None)
        self._rerun.discard(key)

    def __len__(self) -> int:
        return len(self._due)

    @property
    def idle(self) -> bool:
        return not self._running and not any(t for t in self._tasks if not t.done())

    def start(self) -> None:
        if self._dispatcher is None:
            self._stopping = False
            self._dispatcher = asyncio.create_task(self._dispatch(), name="tokensync-work-queue")

    def owns(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` is this queue's dispatcher or one of its running reconciles."""
        return task is self._dispatcher or task in self._tasks

    async def stop(self, *, cancel_running: bool = False) -> None:
        """Stop dispatching and let running reconciles finish (no half-written Secret), or,
        with ``cancel_running`` (leadership lost: another replica may act now), cancel them."""
        self._stopping = True  # the dispatcher ends even if a cancellation is lost (see _dispatch)
        self._changed.set()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        if cancel_running:
            for task in self._tasks:
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._changed.clear()
            now = loop.time()
            # Due within a millisecond counts as due: waiting for a sub-resolution remainder
            # can time out without the clock moving, and the queue would spin.
            self._start_held()
            while self._heap and self._heap[0][0] <= now + _DUE_TOLERANCE:
                when, sequence, key = heapq.heappop(self._heap)
                if self._due.get(key) != when:
                    continue  # superseded by a later schedule() or forget()
                if key in self._running:
                    self._rerun.add(key)
                    del self._due[key]
                    continue
                if not self._may_start(key):
                    # Keeps its _due entry: schedule() and forget() still apply to it.
                    heapq.heappush(self._held.setdefault(self._group(key), []), (when, sequence, key))
                    continue
                del self._due[key]
                self._start(key)
            timeout = self._heap[0][0] - loop.time() if self._heap else None
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and the queue (and the operator's stop) hung forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._changed.wait()

    def _may_start(self, key: Key) -> bool:
        """A group with syncs running may start another only while more than the reserve is
        free: the reserve is for the groups with none running."""
        running = self._running_by_group.get(self._group(key), 0)
        free = self._free()
        return free > 0 and running < self._share and (running == 0 or free > self._reserve)

    def _free(self) -> int:
        return self._concurrency - (len(self._running) - len(self._lingering))

    def _start(self, key: Key) -> None:
        self._running.add(key)
        group = self._group(key)
        self._running_by_group[group] = self._running_by_group.get(group, 0) + 1
        task = asyncio.create_task(self._run(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._linger_timers[key] = asyncio.get_running_loop().call_later(self._hang_after, self._linger, key)

    def _linger(self, key: Key) -> None:
        """``key`` has run ``hang_after`` seconds: give its slot back, while few enough linger;
        else it waits in line for a lingering sync to end (found by review: one refused once
        never lingered, and held its slot to the end)."""
        self._linger_timers.pop(key, None)
        if key not in self._running:
            return
        if len(self._lingering) < self._concurrency:
            self._lingering.add(key)
            self._changed.set()
        else:
            self._waiting_to_linger.append(key)

    def _stopped_lingering(self, key: Key) -> None:
        """``key`` ended: if it lingered, the longest-waiting running sync lingers in its place."""
        if key not in self._lingering:
            with contextlib.suppress(ValueError):
                self._waiting_to_linger.remove(key)  # (at most twice the bound long)
            return
        self._lingering.discard(key)
        while self._waiting_to_linger:
            waiting = self._waiting_to_linger.popleft()
            if waiting in self._running and waiting not in self._lingering:
                self._lingering.add(waiting)
                return

    def _start_held(self) -> None:
        """Start the held keys that may start now: one per group in turn, groups with nothing
        running first, earliest first within a group. A group served goes to the back of the
        line, so freed slots go round the groups, not to whichever group was held first."""
        for idle_pass in (True, False):
            started = True
            while started and self._free() > 0:
                started = False
                for group in [g for g in self._held if (g not in self._running_by_group) == idle_pass]:
                    if self._free() <= 0:
                        return
                    if self._start_next_held(group):
                        started = True
                        if group in self._held:
                            self._held[group] = self._held.pop(group)  # to the back of the line

    def _start_next_held(self, group: Hashable) -> bool:
        """Start ``group``'s earliest held key if it may start; drop the superseded ones."""
        held = self._held[group]
        started = False
        while held and not started:
            when, _, key = held[0]
            if self._due.get(key) != when:
                heapq.heappop(held)  # superseded by a later schedule() or forget()
            elif key in self._running:
                heapq.heappop(held)
                self._rerun.add(key)
                del self._due[key]
            elif not self._may_start(key):
                break
            else:
                heapq.heappop(held)
                del self._due[key]
                self._start(key)
                started = True
        if not held:
            del self._held[group]
        return started

    async def _run(self, key: Key) -> None:
        try:
            await self._worker(key)
        except Exception:
            # The worker reports its own failures; this is a last resort so one bad resource
            # never stops the queue. Retry it later rather than never.
            logger.exception("reconcile of %s failed unexpectedly; retrying in 60s", key)
            self.schedule(key, 60.0)
        finally:
            self._stopped_lingering(key)
            self._running.discard(key)
            timer = self._linger_timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            group = self._group(key)
            self._running_by_group[group] -= 1
            if not self._running_by_group[group]:
                del self._running_by_group[group]
            if self._held:
                self._changed.set()  # a slot is free: the dispatcher looks at the held keys
            if key in self._rerun:
                self._rerun.discard(key)
                self.schedule(key, 0.0)
