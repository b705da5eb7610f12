"""Soak: many tokens, lifetimes from 20 s to 1 day, a simulated day of random faults.

The issue asks for "1,000 tokens with lifetimes from 20 s to 1 day, run for 24 simulated hours with
faults injected at random: zero moments where a Secret holds an expired token while the cloud was
answering". Everything runs in the test's event loop with time fast-forwarded (looptime), but every
token read is real work: HTTP to the cloud emulator (signature V3 both ways), a Secret GET and PATCH,
a status PATCH, an Event, and kopf handling the watch events they cause. On a 2-core machine that is
about 25-30 ms of CPU per read, so the *number of reads* is the budget, not simulated time.

Size (environment variables; the CI defaults are the largest that fit ~3 minutes of real time):

* ``TOKENSYNC_SOAK_TOKENS`` (default 1000), ``TOKENSYNC_SOAK_HOURS`` (default 3; the full soak is
  ``TOKENSYNC_SOAK_HOURS=24``), ``TOKENSYNC_SOAK_SEED`` (default: a fixed seed; printed either way,
  so a failing run can be replayed with the same fault schedule and token mix).

Token mix, and why (reads per hour are for 1,000 tokens, no faults; rounded):

=========  =====  ==============================================  ===================
lifetime   share  refresh                                          reads per hour
=========  =====  ==============================================  ===================
20 s       0.1 %  read every ~10-13 s (the cloud re-mints often)   ~300 (1 token)
2 min      0.4 %  every ~1 min                                     ~250 (4 tokens)
15 min     2 %    every ~8-12 min                                  ~130 (20 tokens)
1 h        7.5 %  every ~35-50 min                                 ~110 (75 tokens)
6 h        15 %   recheckInterval 1h / 2h / 6h                     ~100 (150 tokens)
1 day      75 %   recheckInterval 1h (10 %) / 6h (30 %) / 24h      ~100 (750 tokens)
=========  =====  ==============================================  ===================

A single 20 s token costs as many reads as 750 day tokens, so short lifetimes are few and long ones
many: about 1,000 reads per simulated hour plus what faults add (retries, the catch-up after an
outage, an operator restart re-checking all 1,000). That is ~25-35 s of real time per simulated
hour, plus ~30 s to create the 1,000 tokens and make their first reads: 3 hours fit the CI budget;
the full 24 hours (~25-30 k reads) takes ~12-15 minutes and is run by hand.

Each token gets a random refresh spec (default 33 %, ``renewBeforePercentage: 50`` or
``renewBefore: lifetime/4``), and the cloud re-mints it every ``remintAfter`` (the emulator's
schedule, independent of reads), chosen at random between half and 95 % of the time from creation to
the renewal moment minus its largest jitter, so a renewal read always finds a new value. Tokens
start at a random phase of their re-mint period, so renewals are spread over the run from its start.

Faults, from a seeded ``random.Random`` (a schedule drawn up front; three independent streams):

* **Cloud** (one episode at a time, gaps of 2-40 min, lasting 5 s-1 min, 1-10 min or 10-60 min,
  and in every run one hard 20-minute 503 outage at about a quarter of it, so that every run has
  short-lived tokens expire during an outage and shows how they recover):
  5xx (500/502/503), timeouts (latency beyond the client's 10 s timeout), connection resets,
  throttling (``Throttling.User`` with or without ``x-acs-retry-after``, ``Throttling.Api``),
  malformed/truncated/empty bodies; a fifth of them flaky (firing on 30-70 % of calls). A "slow"
  episode (0.5-5 s latency on every call, below the timeout) is *not* an outage: the cloud answers.
* **Kubernetes** (gaps of 2-30 min): 500/503/409 on status PATCHes or Secret PATCHes, 503 on Secret
  GETs or on the AccessKey Secret, 500 on Event POSTs, every request for one token's paths failing,
  each for 1-25 requests; watches closed, or closed with the history expired (410 Gone on resume).
* **Operator restart** once, at a random moment between 20 % and 80 % of the run, down 5 s-5 min.

What is a violation (``test_soak_keeps_every_secret_live_while_the_cloud_answers``, asserted zero).
The monitor sees every change of every Secret (an in-process watch on the emulator's store, so no
polling and no HTTP) and wakes at every expiry moment: a *late episode* of a Secret starts when it
holds a token whose ``expiresAt`` is not after now (at the expiry moment, or at once if an expired
token was written) and ends when a live token is written. The environment is *disturbed* while a
cloud fault (not "slow") is active, plus a settle time of 40 s (a sync started in a fault may fail
up to three 10 s timeouts later) and three times its retry-after; while an injected Kubernetes fault
has requests left, plus 10 s (one 5 s retry); and from an operator stop until 10 s after its start.
Watch drops never count as disturbances. A late episode that started at expiry ``E`` is:

* a **violation at once** if nothing disturbed ``[E - 60 s, E]``: the cloud answered all through the
  last minute before expiry (and, as failed retries are planned at most a quarter of the time left
  ahead, any earlier failure was retried before ``E``), yet the Secret holds an expired token;
* otherwise **excused** (it expired in or right after a disturbance) until one full backoff step
  after the last disturbance ends: still late at ``end + 30 min (max backoff) + 60 s`` is a
  violation too (the documented promise: renewed within one backoff step of the cloud's return).

The issue's words taken strictly (the second test): no moment ``t`` with an expired token in a
Secret while nothing was disturbed during ``[t - 120 s, t]``. The soak first found this failing: a
token that expired during an outage waited a full backoff step (up to 30 min) after the cloud's
return; since then transient failures after expiry are retried at most 2 minutes apart
(refresh_plan.EXPIRED_BACKOFF_CAP). Both tests share one soak run.

Reported (pytest ``-s`` shows it): tokens, simulated hours, real time, reads (calls, successes,
reads per planned read), Secret writes (and writes that changed nothing), faults injected by kind,
late episodes excused and their worst lateness and recovery time, violations and the worst,
"literal" expired-Secret seconds while no cloud fault was active at that moment (for information),
the strict measure above, and unexpected reconcile failures (the work queue's last-resort handler),
asserted zero. ``TOKENSYNC_SOAK_VERBOSE=1`` adds every disturbance and late episode.

Two things a soak in one loop must mind: kopf's ``run_tasks`` cancels, when an operator stops, every
task created after that operator started (the monitor and the injectors are therefore started
before the first operator and wait for a future), and the monitor waits on a bare future with a
timer rather than ``asyncio.wait_for`` (whose inner task would be cancelled the same way).
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import logging
import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import NS, eventually
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.cloud.faults import Fault as CloudFault
from tokensync.emulators.cloud.state import truncate_ms
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.emulators.kubernetes.faults import Fault as KubeFault
from tokensync.emulators.kubernetes.store import Watcher
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, running_operator

OBTAIN = "ObtainApplicationToken"
EXPIRES_AT = "tokensync.dev/expires-at"

TOKENS = int(os.environ.get("TOKENSYNC_SOAK_TOKENS", "1000"))
HOURS = float(os.environ.get("TOKENSYNC_SOAK_HOURS", "3"))
SEED = int(os.environ.get("TOKENSYNC_SOAK_SEED", "20261122"))
VERBOSE = bool(os.environ.get("TOKENSYNC_SOAK_VERBOSE"))  # every disturbance and late episode in the report
# Real-time ceiling: generous for the CI size, scaled for larger runs (a hang must still end).
REAL_TIMEOUT = int(max(900.0, 150.0 * HOURS * max(TOKENS, 100) / 1000 + 300))

pytestmark = [FAST_FORWARD, pytest.mark.timeout(REAL_TIMEOUT)]

LOOKBACK = 60.0  # s: a violation at once if nothing disturbed the last minute before expiry
MAX_BACKOFF = 1800.0  # s: RefreshPolicy.max_backoff, one full backoff step after a disturbance
CLOUD_SETTLE = 40.0  # s: three 10 s client timeouts and the client's own backoff
KUBE_SETTLE = 10.0  # s: the controller retries a Kubernetes API error after 5 s
RESTART_SETTLE = 10.0  # s
CLIENT_ATTEMPTS = 3
REGIONAL_OUTAGE = 1200.0  # s: the hard outage every run has
RECOVERY_GRACE = 120.0  # s: the second test's grace after every disturbance ends


# --- the token mix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenClass:
    label: str
    lifetime: timedelta
    share: float
    remint_share: tuple[float, float]  # remintAfter as a share of the time before the renewal read
    rechecks: tuple[tuple[str | None, float], ...] = ((None, 1.0),)  # recheckInterval and its weight


CLASSES = (
    TokenClass("20s", timedelta(seconds=20), 0.001, (0.75, 0.95)),
    TokenClass("2m", timedelta(minutes=2), 0.004, (0.75, 0.95)),
    TokenClass("15m", timedelta(minutes=15), 0.02, (0.5, 0.95)),
    TokenClass("1h", timedelta(hours=1), 0.075, (0.5, 0.95)),
    TokenClass("6h", timedelta(hours=6), 0.15, (0.5, 0.95), (("1h", 0.4), ("2h", 0.3), ("6h", 0.3))),
    TokenClass("1d", timedelta(days=1), 0.75, (0.5, 0.95), (("1h", 0.1), ("6h", 0.3), ("24h", 0.6))),
)


@dataclass
class SoakToken:
    name: str
    token_id: str
    cls: TokenClass
    margin: timedelta  # renewal margin before expiry
    remint_after: timedelta
    recheck: timedelta
    refresh: dict[str, Any]

    def planned_reads(self, duration: timedelta) -> float:
        """Reads a fault-free run needs: one per renewal (which finds the newest value, created a
        whole number of re-mint periods after the last one read), more if rechecks come sooner."""
        jitter = min(self.margin / 10, timedelta(minutes=5))
        periods = max(1, math.floor((self.cls.lifetime - self.margin - jitter) / self.remint_after))
        renewal_every = self.remint_after * periods
        reads_per_renewal = max(1, math.ceil(renewal_every / (self.recheck * 0.95)))
        return duration / renewal_every * reads_per_renewal


def class_counts(total: int) -> list[int]:
    """Tokens per class: at least one of every lifetime, the rest by share, day tokens fill up."""
    counts = [max(1, round(total * c.share)) for c in CLASSES[:-1]]
    return [*counts, max(1, total - sum(counts))]


def seconds_text(delta: timedelta) -> str:
    return f"{round(delta.total_seconds())}s"


def plan_tokens(rng: random.Random, total: int) -> list[SoakToken]:
    tokens: list[SoakToken] = []
    for cls, count in zip(CLASSES, class_counts(total), strict=True):
        for _ in range(count):
            index = len(tokens)
            lifetime = cls.lifetime
            style = rng.random()
            if style < 0.70:
                refresh: dict[str, Any] = {}
                margin = lifetime * 0.33
            elif style < 0.85:
                refresh, margin = {"renewBeforePercentage": 50}, lifetime * 0.5
            else:
                margin = timedelta(seconds=round(lifetime.total_seconds() / 4))
                refresh = {"renewBefore": seconds_text(margin)}
            recheck_text = rng.choices([r for r, _ in cls.rechecks], [w for _, w in cls.rechecks])[0]
            if recheck_text is not None:
                refresh["recheckInterval"] = recheck_text
            recheck = timedelta(hours=int(recheck_text[:-1])) if recheck_text else timedelta(hours=1)
            before_renewal = lifetime - margin * 1.1 - min(margin / 10, timedelta(minutes=5))
            remint = before_renewal * rng.uniform(*cls.remint_share)
            tokens.append(SoakToken(name=f"tok-{index:04d}", token_id=f"token_{index:04d}", cls=cls, margin=margin,
                                    remint_after=timedelta(seconds=round(remint.total_seconds(), 1)),
                                    recheck=recheck, refresh=refresh))
    return tokens


# --- the fault schedule -----------------------------------------------------------------------

CLOUD_KINDS: dict[str, dict[str, Any]] = {
    "http-500": {"status": 500, "code": "InternalError"},
    "http-502": {"status": 502, "code": "BadGateway"},
    "http-503": {"status": 503, "code": "ServiceUnavailable"},
    "timeout": {"latency_ms": 120_000},
    "connection-reset": {"reset": True},
    "throttled": {"status": 429, "code": "Throttling.User"},
    "throttled-retry-after": {"status": 429, "code": "Throttling.User"},  # retry_after drawn per episode
    "throttled-by-code": {"status": 400, "code": "Throttling.Api"},
    "malformed-body": {"body": "malformed"},
    "truncated-body": {"body": "truncated"},
    "empty-body": {"body": "empty"},
    "slow": {},  # latency drawn per episode, below the client's timeout: the cloud answers
}

TOKEN_PATHS = rf"/apis/{scenario.API}/namespaces/{NS}/applicationtokens"
SECRET_PATHS = rf"/api/v1/namespaces/{NS}/secrets/tok-"
KUBE_KINDS: dict[str, tuple[str, str, tuple[int, ...]]] = {
    # kind: (method, path regex, statuses to draw from); "{name}" is a random token's name
    "status-patch-5xx": ("PATCH", rf"{TOKEN_PATHS}/[^/]+/status$", (500, 503)),
    "status-patch-409": ("PATCH", rf"{TOKEN_PATHS}/[^/]+/status$", (409,)),
    "secret-patch-5xx": ("PATCH", rf"{SECRET_PATHS}", (500, 503)),
    "secret-patch-409": ("PATCH", rf"{SECRET_PATHS}", (409,)),
    "secret-get-503": ("GET", rf"{SECRET_PATHS}", (503,)),
    "access-key-get-503": ("GET", r"/secrets/tokensync-ak$", (503,)),
    "event-post-500": ("POST", r"/events$", (500,)),
    "one-token-everything": ("*", r"/{name}(/status)?$", (500, 503)),
}
WATCH_KINDS = ("watch-closed", "watch-410-gone")


@dataclass(frozen=True)
class Episode:
    at: float  # seconds after the soak starts
    kind: str
    duration: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)


def cloud_schedule(rng: random.Random, span: float) -> list[Episode]:
    """Random episodes, one after another, and in every run one hard outage of 20 minutes at a
    quarter of it (a regional outage: every short-lived token expires in it, every run)."""
    episodes: list[Episode] = []
    at = rng.uniform(60, 600)
    hard_at = span / 4
    while at < span:
        if at >= hard_at:
            episodes.append(Episode(at, "http-503-hard", REGIONAL_OUTAGE, dict(CLOUD_KINDS["http-503"])))
            at += REGIONAL_OUTAGE + rng.uniform(120, 2400)
            hard_at = math.inf
            continue
        bucket = rng.random()
        duration = (rng.uniform(5, 60) if bucket < 0.4 else rng.uniform(60, 600) if bucket < 0.75
                    else rng.uniform(600, 3600))
        kind = rng.choice(list(CLOUD_KINDS))
        params: dict[str, Any] = dict(CLOUD_KINDS[kind])
        if kind == "throttled-retry-after":
            params["retry_after"] = float(rng.choice((2, 5, 10, 20)))
        if kind == "slow":
            params["latency_ms"] = rng.uniform(500, 5000)
        elif rng.random() < 0.2:
            params["rate"] = round(rng.uniform(0.3, 0.7), 2)
        if at < hard_at < at + duration:
            duration = max(5.0, hard_at - at - 60)
        episodes.append(Episode(at, kind, duration, params))
        at += duration + rng.uniform(120, 2400)
    return episodes


def kube_schedule(rng: random.Random, span: float, tokens: list[SoakToken]) -> list[Episode]:
    short_lived = [t.name for t in tokens if t.cls.lifetime <= timedelta(hours=1)]
    episodes, at = [], rng.uniform(60, 600)
    while at < span:
        kind = rng.choice([*KUBE_KINDS, *WATCH_KINDS])
        params: dict[str, Any] = {}
        if kind in KUBE_KINDS:
            method, path, statuses = KUBE_KINDS[kind]
            params = {"method": method, "path": path.replace("{name}", rng.choice(short_lived)),
                      "status": rng.choice(statuses), "times": rng.randint(1, 25)}
        episodes.append(Episode(at, kind, 0.0, params))
        at += rng.uniform(120, 1800)
    return episodes


# --- what the run saw -------------------------------------------------------------------------


@dataclass
class Disturbances:
    """Intervals (loop time) when the cloud, the Kubernetes API or the operator was not all there."""

    intervals: list[list[float]] = field(default_factory=list)

    def open(self, start: float) -> list[float]:
        interval = [start, math.inf]
        self.intervals.append(interval)
        return interval

    def overlaps(self, start: float, end: float) -> bool:
        return any(a <= end and b >= start for a, b in self.intervals)

    def last_end_before(self, moment: float) -> float | None:
        ends = [b for a, b in self.intervals if a <= moment]
        return max(ends) if ends else None


@dataclass
class Late:
    name: str
    expired: float  # loop time of expiry
    ended: float | None = None


def wake_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Monitor:
    """Every Secret change (an in-process watch on the store) and every expiry moment."""

    def __init__(self, kube: KubernetesEmulator, clock: LoopClock, tokens: list[SoakToken]) -> None:
        self.kube, self.clock = kube, clock
        self.loop = asyncio.get_running_loop()
        self.names = {t.name for t in tokens}
        self.held: dict[str, float] = {}  # name -> expiry (loop time) of the token in its Secret
        self.values: dict[str, str] = {}
        self.versions: dict[str, str] = {}  # name -> resourceVersion last seen
        self.heap: list[tuple[float, str]] = []
        self.late: dict[str, Late] = {}
        self.episodes: list[Late] = []
        self.changes = Counter[str]()  # token-changed, unchanged-write, expired-written, deleted, mismatch
        self.wake: asyncio.Future[None] | None = None
        self.watcher: Watcher | None = None
        self.last_rv: str | None = None
        self.last_event_at = 0.0
        self.resource = kube.resource("v1", "secrets")

    def loop_time(self, moment: datetime) -> float:
        return self.loop.time() + (moment - self.clock.now()).total_seconds()

    def seed_from_store(self) -> None:
        for secret in self.kube.list("v1", "secrets", NS):
            self.seen(secret, counted=False)

    def seen(self, secret: dict[str, Any], *, counted: bool = True) -> None:
        meta = secret.get("metadata") or {}
        name = meta.get("name")
        if name not in self.names:
            return
        version = str(meta.get("resourceVersion"))
        if self.versions.get(name) == version:
            return  # a replay (a watch started over) of what was already seen, not a write
        self.versions[name] = version
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        annotated = parse_rfc3339((meta.get("annotations") or {}).get(EXPIRES_AT))
        expires = parse_rfc3339(data.get("expiresAt"))
        if expires is None or annotated != expires:
            self.changes["expiresAt-mismatch"] += 1
            expires = expires or annotated
        if expires is None:
            return
        expiry = self.loop_time(expires)
        now = self.loop.time()
        if counted:
            self.changes["token-changed" if data.get("token") != self.values.get(name) else "unchanged-write"] += 1
        self.values[name] = data.get("token", "")
        self.held[name] = expiry
        late = self.late.get(name)
        if late is not None and expiry > now:
            late.ended = now
            del self.late[name]
        if expiry <= now:
            self.changes["expired-written"] += counted
            self.start_late(name, now)
        else:
            if (not self.heap or expiry < self.heap[0][0]) and self.wake is not None:
                wake_up(self.wake)
            heapq.heappush(self.heap, (expiry, name))

    def start_late(self, name: str, expired: float) -> None:
        if name not in self.late:
            late = Late(name, expired)
            self.late[name] = late
            self.episodes.append(late)

    async def watch(self, started: asyncio.Future[float]) -> None:
        await started
        self.seed_from_store()
        while True:
            if self.watcher is None:
                try:
                    self.watcher = self.kube.store.subscribe(self.resource, NS, self.last_rv)
                except ApiError:  # 410 Gone after the history was expired: start over from a list
                    self.watcher = self.kube.store.subscribe(self.resource, NS, None)
            event = await self.watcher.queue.get()
            self.changes["events"] += 1
            self.last_event_at = self.loop.time()
            if event is None:  # the server closed every watch (a fault): resume
                self.changes["watch-restarts"] += 1
                self.kube.store.unsubscribe(self.watcher)
                self.watcher = None
                continue
            self.last_rv = str(event.resource_version)
            if event.type == "DELETED":
                if event.obj["metadata"]["name"] in self.names:
                    self.changes["deleted"] += 1
                continue
            self.seen(event.obj)

    async def expiries(self, started: asyncio.Future[float]) -> None:
        await started
        while True:
            now = self.loop.time()
            while self.heap and self.heap[0][0] <= now:
                expiry, name = heapq.heappop(self.heap)
                if self.held.get(name) == expiry:
                    self.start_late(name, expiry)
            # A bare future and a timer, not wait_for: its inner task would be one that kopf's
            # run_tasks cancels when an operator stops (see the module's docstring).
            self.wake = wake = self.loop.create_future()
            timer = None
            if self.heap:
                # At least 10 ms: looptime's clock has a resolution, and a shorter timeout could
                # fire without the clock reaching the expiry (a spin). Lateness is exact to that.
                timer = self.loop.call_later(max(self.heap[0][0] - now, 0.01), wake_up, wake)
            try:
                await wake
            finally:
                if timer is not None:
                    timer.cancel()

    def close(self) -> None:
        now = self.loop.time()
        for late in self.late.values():
            late.ended = now
        if self.watcher is not None:
            self.kube.store.unsubscribe(self.watcher)


@dataclass
class Verdict:
    violations: list[tuple[Late, float, str]] = field(default_factory=list)  # (episode, seconds, why)
    excused: list[tuple[Late, float]] = field(default_factory=list)  # (episode, lateness)
    recovery: float = 0.0  # longest wait from a disturbance's end to the renewal, excused episodes


def judge(episodes: list[Late], disturbances: Disturbances) -> Verdict:
    verdict = Verdict()
    for late in episodes:
        end = late.ended if late.ended is not None else late.expired
        lateness = end - late.expired
        if not disturbances.overlaps(late.expired - LOOKBACK, late.expired):
            verdict.violations.append((late, lateness, "expired with the cloud answering the minute before"))
            continue
        # Excused until one full backoff step after the last disturbance that ended before the renewal.
        last = disturbances.last_end_before(end) or late.expired
        if end - last > MAX_BACKOFF + LOOKBACK and not disturbances.overlaps(last + MAX_BACKOFF + LOOKBACK, end):
            verdict.violations.append((late, end - (last + MAX_BACKOFF + LOOKBACK),
                                       "not renewed within one backoff step after the disturbance ended"))
            continue
        verdict.excused.append((late, lateness))
        verdict.recovery = max(verdict.recovery, end - min(last, end))
    return verdict


def literal_seconds(episodes: list[Late], cloud_outages: list[list[float]]) -> float:
    """Seconds (summed over Secrets) holding an expired token while no cloud fault was active."""
    total = 0.0
    for late in episodes:
        end = late.ended if late.ended is not None else late.expired
        covered = 0.0
        for a, b in cloud_outages:
            covered += max(0.0, min(b, end) - max(a, late.expired))
        total += max(0.0, end - late.expired - covered)
    return total


def strict_lateness(episodes: list[Late], disturbances: Disturbances) -> list[tuple[Late, float]]:
    """Late episodes with moments ``t`` when nothing had been disturbed over ``[t - 120 s, t]``; with
    the seconds of such moments."""
    found = []
    for late in episodes:
        end = late.ended if late.ended is not None else late.expired
        bad = sorted((max(a, late.expired), min(b + RECOVERY_GRACE, end)) for a, b in disturbances.intervals
                     if b + RECOVERY_GRACE > late.expired and a < end)
        clean, cursor = 0.0, late.expired
        for a, b in bad:
            clean += max(0.0, a - cursor)
            cursor = max(cursor, b)
        clean += max(0.0, end - cursor)
        if clean > 0.0:
            found.append((late, clean))
    return found


class CrashCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages = Counter[str]()

    def emit(self, record: logging.LogRecord) -> None:
        if "unexpectedly" in record.getMessage() or record.exc_info:
            self.messages[record.getMessage()[:160]] += 1


# --- the fault injectors ----------------------------------------------------------------------


async def sleep_until(loop: asyncio.AbstractEventLoop, moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - loop.time()))


async def inject_cloud_faults(cloud: CloudEmulator, schedule: list[Episode], started: asyncio.Future[float],
                              disturbances: Disturbances, outages: list[list[float]], injected: Counter[str]) -> None:
    loop = asyncio.get_running_loop()
    start = await started
    for episode in schedule:
        await sleep_until(loop, start + episode.at)
        fault: CloudFault = cloud.inject_fault(action=OBTAIN, **episode.params)
        injected[f"cloud:{episode.kind}" + (":flaky" if "rate" in episode.params else "")] += 1
        is_outage = episode.kind != "slow"
        intervals = [disturbances.open(loop.time())] if is_outage else []
        try:
            await asyncio.sleep(episode.duration)
        finally:
            cloud.faults.remove(fault.id)
            if intervals:
                outages.append([intervals[0][0], loop.time()])
                retry_after = float(episode.params.get("retry_after") or 0.0)
                for interval in intervals:
                    interval[1] = loop.time() + CLOUD_SETTLE + CLIENT_ATTEMPTS * retry_after


async def inject_kube_faults(kube: KubernetesEmulator, schedule: list[Episode], started: asyncio.Future[float],
                             disturbances: Disturbances, injected: Counter[str]) -> None:
    loop = asyncio.get_running_loop()
    start = await started
    for episode in schedule:
        await sleep_until(loop, start + episode.at)
        injected[f"kube:{episode.kind}"] += 1
        if episode.kind == "watch-closed":
            kube.close_watches()
            continue
        if episode.kind == "watch-410-gone":
            kube.expire_watch_history()
            kube.close_watches()
            continue
        p = episode.params
        fault: KubeFault = kube.inject_fault(p["method"], p["path"], status=p["status"], times=p["times"])
        interval = disturbances.open(loop.time())
        try:
            deadline = loop.time() + 600
            while fault.remaining > 0 and loop.time() < deadline:
                await asyncio.sleep(1.0)
        finally:
            fault.remaining = 0  # unused requests after 10 minutes: the fault is over
            interval[1] = loop.time() + KUBE_SETTLE


# --- the soak ---------------------------------------------------------------------------------


def secret_writes(kube: KubernetesEmulator) -> int:
    return sum(n for (plural, verb), n in kube.write_counts.items() if plural == "secrets" and verb != "delete")


@dataclass
class SoakResult:
    verdict: Verdict
    strict: list[tuple[Late, float]]  # (episode, seconds late after 120 s with nothing disturbed)
    crashes: Counter[str]
    changes: Counter[str]
    tokens: int
    successes: int
    planned: float


async def run_soak(kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock) -> SoakResult:
    real_start = time.perf_counter()
    rng = random.Random(SEED)
    print(f"\nsoak: {TOKENS} tokens, {HOURS:g} simulated hours, seed {SEED} (TOKENSYNC_SOAK_SEED)")
    loop = asyncio.get_running_loop()
    crashes = CrashCounter()
    logging.getLogger("tokensync").addHandler(crashes)

    tokens = plan_tokens(rng, TOKENS)
    scenario.standard_cluster(kube, cloud)
    now = clock.now()
    for token in tokens:
        minted = cloud.add_token(token.token_id, lifetime=token.cls.lifetime, remint_after=token.remint_after)
        # A random phase of the re-mint period, so renewals are spread over the run from its start.
        minted.create_time = truncate_ms(now - token.remint_after * rng.random())
        minted.expiration_time = minted.create_time + token.cls.lifetime
        spec: dict[str, Any] = {"refresh": token.refresh} if token.refresh else {}
        kube.create(scenario.application_token(token.name, token_id=token.token_id, **spec))

    span = HOURS * 3600
    cloud_plan = cloud_schedule(rng, span)
    kube_plan = kube_schedule(rng, span, tokens)
    restart_at = rng.uniform(0.2, 0.8) * span
    down_for = rng.uniform(5, 300)

    connection = load_connection_settings(str(kubeconfig))
    disturbances, outages, injected = Disturbances(), list[list[float]](), Counter[str]()
    monitor = Monitor(kube, clock, tokens)
    # Started before the operator, and waiting for the soak to begin: kopf's run_tasks cancels,
    # when an operator stops, every task created in the loop after that operator started.
    started: asyncio.Future[float] = loop.create_future()
    tasks = [asyncio.create_task(coroutine) for coroutine in (
        monitor.watch(started), monitor.expiries(started),
        inject_cloud_faults(cloud, cloud_plan, started, disturbances, outages, injected),
        inject_kube_faults(kube, kube_plan, started, disturbances, injected),
    )]
    try:
        async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
            def all_written() -> bool:
                return len(kube.list("v1", "secrets", NS)) >= len(tokens)
            await eventually(all_written, timeout=3600, step=5)
            setup_real = time.perf_counter() - real_start
            start = loop.time()
            reads_at_start, successes_at_start = cloud.calls(OBTAIN), cloud.answers(OBTAIN)
            writes_at_start = secret_writes(kube)
            started.set_result(start)
            await sleep_until(loop, start + restart_at)
            down = disturbances.open(loop.time())
        injected["operator-restart"] += 1
        await asyncio.sleep(down_for)
        async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
            down[1] = loop.time() + RESTART_SETTLE
            await sleep_until(loop, start + span)
            end = loop.time()
            monitor.close()
            assert not any(task.done() for task in tasks[:2]), "the monitor stopped before the soak ended"
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        cloud.clear_faults()
        kube.clear_faults()
        logging.getLogger("tokensync").removeHandler(crashes)
    failed = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
    if failed:
        raise failed[0]  # the monitor or an injector broke: the run proves nothing
    for interval in disturbances.intervals:
        interval[1] = min(interval[1], end)

    verdict = judge(monitor.episodes, disturbances)
    kinds = {t.name: f"{t.cls.label}, {t.refresh or 'defaults'}, remint {t.remint_after.total_seconds():g}s"
             for t in tokens}
    strict = strict_lateness(monitor.episodes, disturbances)
    reads = cloud.calls(OBTAIN) - reads_at_start
    successes = cloud.answers(OBTAIN) - successes_at_start
    planned = sum(t.planned_reads(timedelta(seconds=span)) for t in tokens)
    writes = secret_writes(kube) - writes_at_start
    literal = literal_seconds(monitor.episodes, outages)
    worst_excused = max((lateness for _, lateness in verdict.excused), default=0.0)
    worst_violation = max((seconds for _, seconds, _ in verdict.violations), default=0.0)
    outage_seconds = sum(b - a for a, b in outages)
    counts = Counter(t.cls.label for t in tokens)
    report = [
        f"soak report (seed {SEED}): {len(tokens)} tokens "
        f"({', '.join(f'{counts[c.label]} x {c.label}' for c in CLASSES)}), {span / 3600:g} simulated hours",
        f"  real time: {time.perf_counter() - real_start:.0f}s (setup and first reads {setup_real:.0f}s);"
        f" load average {os.getloadavg()[0]:.2f}",
        f"  reads: {reads} ObtainApplicationToken calls, {successes} answered;"
        f" planned without faults {planned:.0f} (calls per planned read {reads / max(planned, 1):.2f},"
        f" successes per planned read {successes / max(planned, 1):.2f})",
        f"  Secret writes: {writes}; token changes seen {monitor.changes['token-changed']},"
        f" writes that changed no token {monitor.changes['unchanged-write']},"
        f" expired tokens written {monitor.changes['expired-written']}, Secrets deleted {monitor.changes['deleted']},"
        f" expiresAt data/annotation mismatches {monitor.changes['expiresAt-mismatch']}",
        f"  faults injected: {sum(injected.values())} ({', '.join(f'{k} {v}' for k, v in sorted(injected.items()))});"
        f" cloud outage time {outage_seconds / 3600:.2f} h",
        f"  late episodes: {len(monitor.episodes)}; excused (expired in a disturbance, renewed within one backoff"
        f" step) {len(verdict.excused)}, worst {worst_excused:.1f}s, longest recovery after a disturbance"
        f" {verdict.recovery:.1f}s",
        f"  literal: {literal:.1f} Secret-seconds holding an expired token while no cloud fault was active",
        f"  strict: {len(strict)} episodes, {sum(x for _, x in strict):.0f} Secret-seconds, worst"
        f" {max((x for _, x in strict), default=0.0):.0f}s holding an expired token although nothing had been"
        f" disturbed for {RECOVERY_GRACE:g}s",
        *(f"    strict: {late.name} ({kinds[late.name]}) expired at +{late.expired - start:.0f}s, renewed at"
          f" +{(late.ended or late.expired) - start:.0f}s, {seconds:.0f}s of it with everything answering"
          for late, seconds in strict[:10]),
        f"  VIOLATIONS: {len(verdict.violations)}, worst {worst_violation:.1f}s;"
        f" unexpected reconcile failures: {sum(crashes.messages.values())}",
    ]
    if VERBOSE:
        report.append("    disturbances (s after start): " + ", ".join(
            f"{a - start:.0f}-{b - start:.0f}" for a, b in sorted(disturbances.intervals)))
        report.append("    cloud outages: " + ", ".join(f"{a - start:.0f}-{b - start:.0f}" for a, b in outages))
        for late in monitor.episodes:
            report.append(f"    late {late.name}: +{late.expired - start:.1f}s .. "
                          f"+{(late.ended or late.expired) - start:.1f}s")
    for late, seconds, why in verdict.violations[:10]:
        token = next(t for t in tokens if t.name == late.name)
        report.append(f"    {late.name} ({token.cls.label}, {token.refresh or 'defaults'}, remint"
                      f" {token.remint_after.total_seconds():g}s): expired at +{late.expired - start:.1f}s, late"
                      f" {seconds:.1f}s: {why}")
        st = scenario.status(kube, late.name)
        ready = scenario.condition(kube, late.name)
        report.append(f"      now +{end - start:.0f}s: Ready={ready.get('status')} {ready.get('reason')}:"
                      f" {ready.get('message')}; nextRefreshTime {st.get('nextRefreshTime')}, failedAttempts"
                      f" {st.get('failedAttempts')}, lastSyncTime {st.get('lastSyncTime')}")
    if verdict.violations:
        report.append(f"    monitor: {dict(monitor.changes)}, last event +{monitor.last_event_at - start:.0f}s")
        report.append("    disturbances (s after start): " + ", ".join(
            f"{a - start:.0f}-{b - start:.0f}" for a, b in sorted(disturbances.intervals)))
        report.append(f"    clock at start {clock.now() - timedelta(seconds=end - start)}, operator restart at"
                      f" +{restart_at:.0f}s for {down_for:.0f}s")
    for message, count in crashes.messages.most_common(5):
        report.append(f"    {count} x {message}")
    print("\n".join(report))
    return SoakResult(verdict=verdict, strict=strict, crashes=crashes.messages, changes=monitor.changes,
                      tokens=len(tokens), successes=successes, planned=planned)


_RESULTS: dict[str, SoakResult] = {}


async def soak(kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock) -> SoakResult:
    """One soak run per session, whichever of the two tests below asks first."""
    if "soak" not in _RESULTS:
        _RESULTS["soak"] = await run_soak(kube, cloud, kubeconfig, clock)
    return _RESULTS["soak"]


async def test_soak_keeps_every_secret_live_while_the_cloud_answers(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
) -> None:
    """The documented contract: never late with the cloud answering before expiry, and renewed
    within one backoff step of the end of any disturbance; no crash, no write storm."""
    result = await soak(kube, cloud, kubeconfig, clock)
    assert not result.crashes, "reconciles failed unexpectedly (see the report)"
    assert result.changes["expired-written"] == 0, "an expired token was written into a Secret"
    assert result.changes["deleted"] == 0, "a Secret was deleted"
    assert result.changes["unchanged-write"] <= result.tokens // 10 + 10, "Secret writes that changed nothing"
    assert result.successes <= 2 * result.planned + result.tokens, "reads far beyond the plan"
    assert result.verdict.violations == [], f"{len(result.verdict.violations)} violations (see the report)"


async def test_soak_renews_a_token_that_expired_in_an_outage_soon_after_the_clouds_return(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
) -> None:
    """The issue's words taken strictly: no moment with an expired token in a Secret while the cloud
    (and the Kubernetes API, and the operator) had been answering for two minutes."""
    result = await soak(kube, cloud, kubeconfig, clock)
    assert result.strict == [], f"{len(result.strict)} Secrets stayed expired with the cloud answering"
