"""Soak: tokens that tokensync renews itself (Extend, Rotate, None), random faults, three operator kills.

An IDaaS application token never changes by itself: only tokensync's calls keep a Secret's token
valid (Extend: UpdateApplicationTokenExpirationTime, same value; Rotate: CreateApplicationToken,
the new value into the Secret, the replaced token retired after ``retireAfter``). Everything runs
in the test's event loop with time fast-forwarded (looptime), but every call is real HTTP to both
emulators, so renewals, not simulated hours, are the real-time budget (a read costs ~25 ms of CPU,
a rotation a few times that).

Size: ``TOKENSYNC_SOAK_TOKENS`` (default 400) x ``TOKENSYNC_SOAK_HOURS`` (default 4) simulated hours,
about 2.5 minutes on the 2-core development VM; 1,000 x 24 takes about 25 minutes (numbers in
docs/soak.md; run large sizes with ``-p no:timeout``). Earlier large runs never ended: a work-queue
spin that fast-forwarded time made endless (fixed, see docs/soak.md).
``TOKENSYNC_SOAK_SEED`` replays a fault schedule and token mix
(the run itself is not bit-for-bit repeatable: real I/O orders the loop); ``TOKENSYNC_SOAK_VERBOSE=1``
lists every disturbance and bad span; ``TOKENSYNC_SOAK_LOG=FILE`` writes the operator's log stamped
with the simulated clock; ``TOKENSYNC_SOAK_EXPIRED_READ=error`` makes expired reads 400s.

Tokens: lifetimes 2 min (at least 2), 15 min (2 %), 1 h (7.5 %), 6 h (15 %), 1 day (the rest), each
at a random point of its life; default, 50 % or lifetime/4 margins; ~56 % Extend, ~40 % Rotate
(retire Delete/Disable/Keep, ``retireAfter`` 0s to 1h, a tenth without ``applicationTokenId``, a
tenth restarting a Deployment, a tenth sharing an application in pairs), ~4 % None. Every other
resource has its own application (no per-application token limit applies).

Faults, drawn up front from the seed: cloud episodes one at a time (5 s to 1 h; one hard 20-minute
503 outage a quarter into every run), on every EIAM action or on one of them: 5xx (refused before
the call), timeouts (a write is carried out just after the client's 10 s timeout gave up: its
answer is lost), resets, throttling (``x-acs-retry-after`` 250 ms to 90 s, sent in milliseconds),
broken bodies (the call takes effect, the answer is lost), a fifth of them flaky; Kubernetes faults
(5xx/409 on status and Secret PATCHes, Secret and AccessKey GETs, Events; one resource's requests;
watches closed, history expired); three kills, 5 s to 5 min down each: at a plain moment, inside a
CreateApplicationToken (the token is made, the answer never read) and inside a
DisableApplicationToken (between Disable and Delete). A kill cancels every running sync where it
stands, the nearest in-process equivalent of SIGKILL.

Asserted zero, one test each, over one shared run:

* (a) moments an Extend/Rotate Secret held a token the cloud would refuse (expired, disabled,
  deleted) while the cloud answered. A monitor sees every Secret write, every token-changing cloud
  call and every expiry. A disabled or deleted token is never excused; an expiry is, if something
  was disturbed in the minute before it (a cloud fault other than "slow" or one on Disable/Delete
  only, plus 40 s and 3x its retry-after; a Kubernetes fault plus 10 s; an operator down until
  10 s after its restart), until one backoff step (30 min) and a minute after the disturbance.
  Strictly (a second test): none once everything had answered for two minutes.
* (b) leaks, after a 10-minute quiet settle: every token tokensync made or replaced is current,
  retiring (``retireAt`` not passed, or backing off), or retired as its spec says.
* (c) rotations that made more than one token (each made token is tied by its exact
  ExpirationTime to the ``pendingRotation`` recorded before its create; a refused create made
  nothing; a lost answer must be found by listing).
* (d) more than two enabled tokens per Rotate resource that retires, counted after every create;
  by design a refused or not-yet-due retirement does not hold up a rotation (reported apart).

What it found is in docs/soak.md (each with a reproduction). Two things a soak in one loop must mind:
kopf's ``run_tasks`` cancels, when an operator stops, every task created after that operator
started (monitors and injectors start before the first operator), and the monitor waits on a bare
future with a timer rather than ``asyncio.wait_for`` (whose inner task would be cancelled the same way).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import heapq
import logging
import math
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
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
from tokensync.emulators.cloud import app as cloud_app
from tokensync.emulators.cloud.context import CallContext
from tokensync.emulators.cloud.faults import Fault as CloudFault
from tokensync.emulators.cloud.state import truncate_ms
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.faults import Fault as KubeFault
from tokensync.emulators.kubernetes.store import Watcher
from tokensync.kube.config import load_connection_settings
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator, running_operator

OBTAIN, CREATE, UPDATE = "ObtainApplicationToken", "CreateApplicationToken", "UpdateApplicationTokenExpirationTime"
LIST, DISABLE, DELETE, ENABLE = ("ListApplicationTokens", "DisableApplicationToken", "DeleteApplicationToken",
                                 "EnableApplicationToken")
EIAM_WRITES = (CREATE, UPDATE, DISABLE, DELETE, ENABLE, LIST)  # LIST: only to see when it answered
EXPIRES_AT = "tokensync.dev/expires-at"
INSTANCE = "idaas_demo"

TOKENS = int(os.environ.get("TOKENSYNC_SOAK_TOKENS", "400"))
HOURS = float(os.environ.get("TOKENSYNC_SOAK_HOURS", "4"))
SEED = int(os.environ.get("TOKENSYNC_SOAK_SEED", "20261124"))
VERBOSE = bool(os.environ.get("TOKENSYNC_SOAK_VERBOSE"))
# What ObtainApplicationToken answers for an expired token (undocumented; the emulator serves both):
# "ok" (200 with the past ExpirationTime) or "error" (400 ResourceExpired.ApplicationToken).
EXPIRED_READ = os.environ.get("TOKENSYNC_SOAK_EXPIRED_READ", "ok")
LOG = os.environ.get("TOKENSYNC_SOAK_LOG")  # a file for the operator's log, stamped with simulated seconds
# Real-time ceiling: generous for the CI size, scaled for larger runs (a hang must still end).
REAL_TIMEOUT = int(max(900.0, 300.0 * HOURS * max(TOKENS, 100) / 1000 + 600))

pytestmark = [FAST_FORWARD, pytest.mark.timeout(REAL_TIMEOUT)]

LOOKBACK = 60.0  # s: an expiry is excused only if something was disturbed in the minute before it
MAX_BACKOFF = 1800.0  # s: RefreshPolicy.max_backoff, one full backoff step after a disturbance
CLOUD_SETTLE = 40.0  # s: three 10 s client timeouts and the client's own backoff
KUBE_SETTLE = 10.0  # s: the controller retries a Kubernetes API error after 5 s
RESTART_SETTLE = 10.0  # s
CLIENT_ATTEMPTS = 3
REGIONAL_OUTAGE = 1200.0  # s: the hard outage every run has
RECOVERY_GRACE = 120.0  # s: the strict test's grace after every disturbance ends
QUIET_SETTLE = 600.0  # s: faults cleared before the final checks
RETIRE_GRACE = 65.0  # s: a retirement due this recently may still be retrying (RETIRE_RETRY is 1 min)


# --- the token mix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenClass:
    label: str
    lifetime: timedelta
    share: float
    spec_lifetime: str  # renewal.lifetime when the spec names one
    rechecks: tuple[tuple[str | None, float], ...] = ((None, 1.0),)


CLASSES = (
    TokenClass("2m", timedelta(minutes=2), 0.005, "2m"),
    TokenClass("15m", timedelta(minutes=15), 0.02, "15m"),
    TokenClass("1h", timedelta(hours=1), 0.075, "1h"),
    TokenClass("6h", timedelta(hours=6), 0.15, "6h", (("1h", 0.4), ("2h", 0.3), ("6h", 0.3))),
    TokenClass("1d", timedelta(days=1), 0.0, "24h", (("1h", 0.1), ("6h", 0.3), ("24h", 0.6))),
)


@dataclass
class SoakToken:
    name: str
    cls: TokenClass
    application: str
    token_id: str | None  # spec.applicationTokenId; None: Rotate creates the first
    strategy: str
    retire: str = "Delete"
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def renews(self) -> bool:
        return self.strategy in ("Extend", "Rotate")

    @property
    def retires(self) -> bool:
        """Rotate with retire Delete or Disable: at most two enabled tokens."""
        return self.strategy == "Rotate" and self.retire in ("Delete", "Disable")

    def describe(self) -> str:
        extra = f" retire {self.retire} after {self.spec['renewal'].get('retireAfter', '10m')}" \
            if self.strategy == "Rotate" else ""
        return f"{self.cls.label} {self.strategy}{extra}, {self.spec.get('refresh') or 'default refresh'}"


def class_counts(total: int) -> list[int]:
    """Tokens per class: at least two of the shortest, one of every other, day tokens fill up."""
    counts = [max(2 if i == 0 else 1, round(total * c.share)) for i, c in enumerate(CLASSES[:-1])]
    return [*counts, max(1, total - sum(counts))]


def plan_tokens(rng: random.Random, total: int) -> list[SoakToken]:
    tokens: list[SoakToken] = []
    for cls, count in zip(CLASSES, class_counts(total), strict=True):
        for k in range(count):
            index = len(tokens)
            name = f"tok-{index:04d}"
            # The first two of every class: one Rotate, one Extend (a small run rotates too).
            draw = rng.random()
            strategy = "Rotate" if k == 0 else "Extend" if k == 1 else (
                "None" if draw < 0.04 else "Rotate" if draw < 0.44 else "Extend")
            style = rng.random()
            refresh: dict[str, Any] = {}
            if 0.70 <= style < 0.85:
                refresh["renewBeforePercentage"] = 50
            elif style >= 0.85:
                refresh["renewBefore"] = f"{round(cls.lifetime.total_seconds() / 4)}s"
            recheck = rng.choices([r for r, _ in cls.rechecks], [w for _, w in cls.rechecks])[0]
            if recheck is not None:
                refresh["recheckInterval"] = recheck
            renewal: dict[str, Any] = {"strategy": strategy}
            token = SoakToken(name=name, cls=cls, application=f"app_{index:04d}", token_id=f"token_{index:04d}",
                              strategy=strategy)
            if strategy == "Rotate":
                retire = rng.choices(["Delete", "Disable", "Keep"], [0.6, 0.25, 0.15])[0]
                if k == 0 or cls.label == "2m":
                    retire = "Delete" if k == 0 else retire.replace("Keep", "Disable")
                token.retire = retire
                if retire != "Delete" or rng.random() < 0.5:
                    renewal["retire"] = retire
                after = rng.choice(["0s", "30s", "2m", None, None, "1h"])
                if after is not None:
                    renewal["retireAfter"] = after
                if k > 0 and rng.random() < 0.1:
                    token.token_id = None  # tokensync creates the first token
                if token.token_id is None or rng.random() < 0.25:
                    renewal["lifetime"] = cls.spec_lifetime
                if rng.random() < 0.1:
                    token.spec["rolloutRestartTargets"] = [{"kind": "Deployment", "name": f"dep-{index:04d}"}]
            elif strategy == "Extend" and rng.random() < 0.25:
                renewal["lifetime"] = cls.spec_lifetime
            if strategy != "Extend" or rng.random() < 0.5:  # Extend is the default: often left out
                token.spec["renewal"] = renewal
            if refresh:
                token.spec["refresh"] = refresh
            tokens.append(token)
    # A tenth of the Rotate resources that retire share an application, in pairs.
    sharing = [t for t in tokens if t.retires and t.token_id is not None and rng.random() < 0.1]
    for pair, (first, second) in enumerate(zip(sharing[::2], sharing[1::2], strict=False)):
        first.application = second.application = f"app_g{pair:03d}"
    return tokens


def resource_body(token: SoakToken) -> dict[str, Any]:
    body = scenario.application_token(token.name, token_id=token.token_id or "", **token.spec)
    body["spec"]["applicationId"] = token.application
    if token.token_id is None:
        del body["spec"]["applicationTokenId"]
    return body


# --- the fault schedule -----------------------------------------------------------------------

CLOUD_KINDS: dict[str, dict[str, Any]] = {
    "http-500": {"status": 500, "code": "InternalError"},
    "http-502": {"status": 502, "code": "BadGateway"},
    "http-503": {"status": 503, "code": "ServiceUnavailable"},
    "timeout": {},  # latency drawn per episode, beyond the client's 10 s timeout
    "connection-reset": {"reset": True},
    "throttled": {"status": 400, "code": "Throttling.User"},
    "throttled-retry-after": {"status": 400, "code": "Throttling.User"},  # retry_after drawn per episode
    "throttled-429": {"status": 429, "code": "Throttling.User"},
    "throttled-by-code": {"status": 400, "code": "Throttling.Api"},
    "malformed-body": {"body": "malformed"},
    "truncated-body": {"body": "truncated"},
    "empty-body": {"body": "empty"},
    "slow": {},  # latency drawn per episode, below the client's timeout: the cloud answers
}
# Where an episode applies: every EIAM action (None) half of the time, else one of them.
SCOPES: tuple[str | None, ...] = (None, None, None, None, None, None, OBTAIN, CREATE, CREATE, UPDATE, LIST,
                                  DISABLE, DELETE)
RETRY_AFTERS = (0.25, 1.5, 5.0, 20.0, 90.0)  # seconds; the emulator sends them in milliseconds

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
    """Random episodes, one after another, and one hard 20-minute outage at a quarter of the run."""
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
        params: dict[str, Any] = {**CLOUD_KINDS[kind], "action": rng.choice(SCOPES)}
        if kind == "throttled-retry-after":
            params["retry_after"] = rng.choice(RETRY_AFTERS)
        if kind == "timeout":
            # Reads may be answered late (120 s); a write is done just after the client gave up.
            read_only = params["action"] in (OBTAIN, LIST)
            params["latency_ms"] = 120_000 if read_only and rng.random() < 0.5 else rng.uniform(10_500, 12_000)
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


@dataclass
class Kill:
    at: float  # seconds after the soak starts: the kill is armed then
    trigger: str  # "moment", or the cloud action whose call kills the operator
    down_for: float
    happened: float | None = None  # loop time
    syncs_cut: int = 0
    pending_rotations: int = 0  # resources whose status had a pendingRotation at the kill
    token_in_flight: str | None = None  # the token the killing call made or retired


def kill_schedule(rng: random.Random, span: float) -> list[Kill]:
    triggers = ["moment", CREATE, DISABLE]
    rng.shuffle(triggers)
    moments = sorted(rng.uniform(0.15, 0.9) * span for _ in triggers)
    return [Kill(at, trigger, rng.uniform(5, 300)) for at, trigger in zip(moments, triggers, strict=True)]


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
class Bad:
    """A span when one resource's Secret held a token the cloud would refuse."""

    name: str
    reason: str  # expired, disabled, deleted, unknown (a value the cloud never held)
    start: float  # loop time
    token_id: str | None
    ended: float | None = None


def wake_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


class Watch:
    """An in-process watch on the emulator's store. A watch close (a fault) only ends the HTTP
    streams: this subscriber stays subscribed and misses nothing, so it just reads on."""

    def __init__(self, kube: KubernetesEmulator, api_version: str, plural: str, changes: Counter[str]) -> None:
        self.kube, self.changes = kube, changes
        self.resource = kube.resource(api_version, plural)
        self.watcher: Watcher | None = None

    async def follow(self, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.watcher = self.kube.store.subscribe(self.resource, NS, None)
        while True:
            event = await self.watcher.queue.get()
            if event is None:
                self.changes["watch-closes"] += 1
                continue
            on_event(event.type, event.obj)

    def close(self) -> None:
        if self.watcher is not None:
            self.kube.store.unsubscribe(self.watcher)


class Monitor:
    """Whether every Secret holds a token the cloud would accept, at every moment.

    Told of every Secret write (a store watch), of every cloud call that changes a token (the
    ledger) and woken at every expiry of a token some Secret holds."""

    def __init__(self, kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock,
                 tokens: list[SoakToken]) -> None:
        self.kube, self.cloud, self.clock = kube, cloud, clock
        self.loop = asyncio.get_running_loop()
        self.tokens = {t.name: t for t in tokens}
        self.by_value: dict[str, str] = {}  # token value -> token ID (values never change)
        self.held: dict[str, str | None] = {}  # resource -> token ID its Secret holds (None: unknown value)
        self.held_since: dict[str, float] = {}
        self.holders: dict[str, set[str]] = defaultdict(set)  # token ID -> resources
        self.versions: dict[str, str] = {}
        self.heap: list[tuple[float, str]] = []
        self.open: dict[str, Bad] = {}
        self.episodes: list[Bad] = []
        self.changes = Counter[str]()
        self.wake: asyncio.Future[None] | None = None
        self.watch = Watch(kube, "v1", "secrets", self.changes)
        self.active = False

    def index_values(self) -> None:
        for token_id, token in self.cloud.state.tokens.items():
            self.by_value[token.value] = token_id

    def loop_time(self, moment: datetime) -> float:
        return self.loop.time() + (moment - self.clock.now()).total_seconds()

    # -- what changes --------------------------------------------------------------------------

    def secret_event(self, event_type: str, secret: dict[str, Any]) -> None:
        meta = secret.get("metadata") or {}
        name = str(meta.get("name"))
        if name not in self.tokens:
            return
        if event_type == "DELETED":
            self.changes["deleted"] += 1
            return
        version = str(meta.get("resourceVersion"))
        if self.versions.get(name) == version:
            return  # a replay (a watch started over) of what was already seen, not a write
        self.versions[name] = version
        data = secret_values(secret)
        if parse_rfc3339((meta.get("annotations") or {}).get(EXPIRES_AT)) != parse_rfc3339(data.get("expiresAt")):
            self.changes["expiresAt-mismatch"] += 1
        token_id = self.by_value.get(data.get("token", ""))
        previous = self.held.get(name)
        if previous != token_id or name not in self.held:
            if previous is not None:
                self.holders[previous].discard(name)
            if token_id is not None:
                self.holders[token_id].add(name)
            self.held[name] = token_id
            self.held_since[name] = self.loop.time()
            self.changes["token-changed"] += 1
        else:
            self.changes["same-token-written"] += 1
        self.evaluate(name, written=True)

    def token_changed(self, token_id: str) -> None:
        """A cloud call changed this token (expiry, status, or deleted it)."""
        for name in list(self.holders.get(token_id, ())):
            self.evaluate(name)

    def evaluate(self, name: str, *, written: bool = False) -> None:
        if not self.active:
            return
        now = self.loop.time()
        token_id = self.held.get(name)
        token = self.cloud.state.tokens.get(token_id) if token_id is not None else None
        reason: str | None = None
        start = now
        if token_id is None:
            reason = "unknown"
        elif token is None:
            reason = "deleted"
        elif token.status != "enabled":
            reason = "disabled"
        elif token.expiration_time is not None and token.expiration_time <= self.clock.now():
            reason = "expired"
            start = min(now, max(self.held_since.get(name, now), self.loop_time(token.expiration_time)))
        bad = self.open.get(name)
        if reason is None:
            if bad is not None:
                bad.ended = now
                del self.open[name]
            assert token is not None and token.expiration_time is not None
            # Never at or before now: the clock's microseconds and the loop's float seconds round
            # differently, and an entry due now that is still valid would be popped forever.
            expiry = max(self.loop_time(token.expiration_time), now + 0.01)
            if (not self.heap or expiry < self.heap[0][0]) and self.wake is not None:
                wake_up(self.wake)
            heapq.heappush(self.heap, (expiry, name))
            return
        if written:
            self.changes[f"{reason}-token-written"] += 1
        if bad is not None and bad.token_id == token_id and (bad.reason == reason or bad.reason != "expired"):
            if reason not in bad.reason:
                bad.reason += f", then {reason}"  # disabled, then deleted: one span, one cause
            return
        if bad is not None:  # one bad span ends, another begins (e.g. expired, then deleted)
            bad.ended = now
        bad = Bad(name, reason, start, token_id)
        self.open[name] = bad
        self.episodes.append(bad)

    # -- the tasks -----------------------------------------------------------------------------

    def start(self) -> None:
        self.active = True
        for secret in self.kube.list("v1", "secrets", NS):
            self.secret_event("ADDED", secret)
        self.changes["token-changed"] = 0

    async def watch_secrets(self, started: asyncio.Future[float]) -> None:
        await started
        await self.watch.follow(self.secret_event)

    async def expiries(self, started: asyncio.Future[float]) -> None:
        await started
        while True:
            now = self.loop.time()
            while self.heap and self.heap[0][0] <= now:
                _, name = heapq.heappop(self.heap)
                self.evaluate(name)
            # A bare future and a timer, not wait_for: its inner task would be one that kopf's
            # run_tasks cancels when an operator stops (see the module's docstring).
            self.wake = wake = self.loop.create_future()
            timer = None
            if self.heap:
                # At least 10 ms: looptime's clock has a resolution, and a shorter timeout could
                # fire without the clock reaching the expiry (a spin).
                timer = self.loop.call_later(max(self.heap[0][0] - now, 0.01), wake_up, wake)
            try:
                await wake
            finally:
                if timer is not None:
                    timer.cancel()

    def close(self) -> None:
        now = self.loop.time()
        for bad in self.open.values():
            bad.ended = now
        self.watch.close()


@dataclass
class Made:
    token_id: str
    application: str
    expiration_ms: int
    at: float  # loop time


class Resources:
    """Every status the resources went through that matters here: which tokens each one adopted,
    and which rotations it recorded (status.pendingRotation) before creating."""

    def __init__(self, kube: KubernetesEmulator, changes: Counter[str]) -> None:
        self.loop = asyncio.get_running_loop()
        self.adopted: dict[str, str] = {}  # token ID -> the resource that held it in status
        self.adopted_at: dict[str, float] = {}  # token ID -> loop time it first appeared there
        self.history: dict[str, list[str]] = defaultdict(list)  # resource -> tokens, in order
        self.rotations: dict[int, tuple[str, str | None]] = {}  # ExpirationTime (ms) -> (resource, replaces)
        self.watch = Watch(kube, scenario.API, "applicationtokens", changes)

    def event(self, event_type: str, body: dict[str, Any]) -> None:
        if event_type == "DELETED":
            return
        name = str(body["metadata"]["name"])
        status = body.get("status") or {}
        current = status.get("applicationTokenId")
        if isinstance(current, str) and self.adopted.get(current) != name:
            self.adopted[current] = name
            self.adopted_at.setdefault(current, self.loop.time())
            self.history[name].append(current)
        pending = status.get("pendingRotation")
        if isinstance(pending, dict) and isinstance(pending.get("expirationTime"), int):
            replaces = pending.get("replaces")
            self.rotations[pending["expirationTime"]] = (name, replaces if isinstance(replaces, str) else None)

    async def follow(self) -> None:
        await self.watch.follow(self.event)


class KillSwitch:
    """Kills the running operator now, or on the next cloud call of an armed action."""

    def __init__(self, kube: KubernetesEmulator) -> None:
        self.kube = kube
        self.operator: Operator | None = None
        self.armed: Kill | None = None
        self.fired: asyncio.Future[None] | None = None

    def arm(self, kill: Kill) -> asyncio.Future[None]:
        self.armed = kill
        self.fired = asyncio.get_running_loop().create_future()
        return self.fired

    def on_call(self, action: str, token_id: str | None) -> None:
        kill = self.armed
        if kill is not None and kill.trigger == action:
            kill.token_in_flight = token_id
            self.fire()

    def fire(self) -> None:
        """Cancel every sync and dispatcher of the operator where it stands; nothing after runs."""
        kill, operator = self.armed, self.operator
        assert kill is not None and operator is not None
        self.armed = None
        victims = [task for task in asyncio.all_tasks() if operator.owns(task)]
        for task in victims:
            task.cancel()
        kill.happened = asyncio.get_running_loop().time()
        kill.syncs_cut = sum(1 for task in victims if task.get_name() != "tokensync-work-queue")
        kill.pending_rotations = sum(1 for body in self.kube.list(scenario.API, "applicationtokens", NS)
                                     if (body.get("status") or {}).get("pendingRotation"))
        if self.fired is not None:
            wake_up(self.fired)


class Ledger:
    """The cloud's side: wraps the emulator's token-changing actions to see every effect."""

    def __init__(self, cloud: CloudEmulator, kube: KubernetesEmulator, monitor: Monitor, kills: KillSwitch,
                 tokens: list[SoakToken]) -> None:
        self.cloud, self.kube, self.monitor, self.kills = cloud, kube, monitor, kills
        self.loop = asyncio.get_running_loop()
        self.made: dict[str, Made] = {}
        self.effects = Counter[str]()
        # (d): how many tokens an application may hold enabled: two per Rotate resource that retires
        # (shared applications hold only those); other applications are not bounded.
        self.enabled_limit: Counter[str] = Counter()
        for token in tokens:
            if token.retires:
                self.enabled_limit[token.application] += 2
        self.enabled_max: dict[str, int] = Counter()
        self.over_limit: list[tuple[str, int, float]] = []  # (application, enabled, loop time)
        # Over the limit by design: a retirement the cloud refused (the entry's failedAttempts) or
        # not yet due (no retireAt: its successor has not reached the Secret) does not hold up the
        # next rotation, since a valid Secret comes first.
        self.over_limit_excused: list[tuple[str, int, float]] = []
        self.resources_of: dict[str, list[str]] = defaultdict(list)
        for token in tokens:
            self.resources_of[token.application].append(token.name)
        self.listed: dict[str, list[float]] = defaultdict(list)  # application -> loop times of answered lists

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for action in EIAM_WRITES:
            original = cloud_app.OPERATIONS[action]
            monkeypatch.setitem(cloud_app.OPERATIONS, action,
                                dataclasses.replace(original, handler=self._wrapped(action, original.handler)))

    def _wrapped(self, action: str, handler: Callable[[CallContext], dict[str, Any]]
                 ) -> Callable[[CallContext], dict[str, Any]]:
        def wrapped(ctx: CallContext) -> dict[str, Any]:
            answer = handler(ctx)  # a refusal raises: nothing changed
            self.effects[action] += 1
            if action == LIST:
                self.listed[ctx.params.get("ApplicationId", "")].append(self.loop.time())
                return answer
            token_id = ctx.params.get("ApplicationTokenId")
            if action == CREATE:
                token_id = str(answer["ApplicationTokens"]["ApplicationTokenId"])
                token = self.cloud.state.tokens[token_id]
                self.monitor.by_value[token.value] = token_id
                self.made[token_id] = Made(token_id, token.application_id, int(ctx.params["ExpirationTime"]),
                                           self.loop.time())
                self.count_enabled(token.application_id)
            elif action == ENABLE and token_id in self.cloud.state.tokens:
                self.count_enabled(self.cloud.state.tokens[token_id].application_id)
            if token_id is not None:
                self.monitor.token_changed(token_id)
            self.kills.on_call(action, token_id)
            return answer
        return wrapped

    def count_enabled(self, application: str) -> None:
        enabled = sum(1 for t in self.cloud.state.application_tokens(INSTANCE, application) if t.status == "enabled")
        self.enabled_max[application] = max(self.enabled_max[application], enabled)
        if application in self.enabled_limit and enabled > self.enabled_limit[application]:
            stuck = any(entry.get("failedAttempts") or not entry.get("retireAt")
                        for name in self.resources_of[application]
                        for entry in scenario.status(self.kube, name).get("retiringTokens") or [])
            (self.over_limit_excused if stuck else self.over_limit).append((application, enabled, self.loop.time()))


class LoopTimeLog(logging.FileHandler):
    """The operator's log (INFO and up) with the simulated clock, for replaying a failure."""

    def __init__(self, path: str, clock: LoopClock) -> None:
        super().__init__(path, mode="w")
        self.clock = clock
        self.setLevel(logging.INFO)

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.clock.now():%H:%M:%S.%f} {record.levelname} {record.name}: {record.getMessage()}"


class LogCounter(logging.Handler):
    """Counts reconciles that failed unexpectedly (the work queue's last resort)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes = Counter[str]()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR and ("unexpectedly" in message or record.exc_info):
            self.crashes[message[:160]] += 1


# --- the verdicts -----------------------------------------------------------------------------


@dataclass
class Verdict:
    violations: list[tuple[Bad, float, str]] = field(default_factory=list)  # (episode, seconds, why)
    excused: list[tuple[Bad, float]] = field(default_factory=list)  # (episode, seconds)
    recovery: float = 0.0  # longest wait from a disturbance's end to the renewal, excused episodes


def judge(episodes: list[Bad], disturbances: Disturbances) -> Verdict:
    verdict = Verdict()
    for bad in episodes:
        end = bad.ended if bad.ended is not None else bad.start
        seconds = end - bad.start
        if not bad.reason.startswith("expired"):
            verdict.violations.append((bad, seconds, f"the Secret held a {bad.reason} token"))
            continue
        if not disturbances.overlaps(bad.start - LOOKBACK, bad.start):
            verdict.violations.append((bad, seconds, "expired with the cloud answering the minute before"))
            continue
        # Excused until one full backoff step after the last disturbance that ended before the renewal.
        last = disturbances.last_end_before(end) or bad.start
        if end - last > MAX_BACKOFF + LOOKBACK and not disturbances.overlaps(last + MAX_BACKOFF + LOOKBACK, end):
            verdict.violations.append((bad, end - (last + MAX_BACKOFF + LOOKBACK),
                                       "not renewed within one backoff step after the disturbance ended"))
            continue
        verdict.excused.append((bad, seconds))
        verdict.recovery = max(verdict.recovery, end - min(last, end))
    return verdict


def strict_lateness(episodes: list[Bad], disturbances: Disturbances) -> list[tuple[Bad, float]]:
    """Bad episodes with moments ``t`` when nothing had been disturbed over ``[t - 120 s, t]``."""
    found = []
    for bad in episodes:
        end = bad.ended if bad.ended is not None else bad.start
        spans = sorted((max(a, bad.start), min(b + RECOVERY_GRACE, end)) for a, b in disturbances.intervals
                       if b + RECOVERY_GRACE > bad.start and a < end)
        clean, cursor = 0.0, bad.start
        for a, b in spans:
            clean += max(0.0, a - cursor)
            cursor = max(cursor, b)
        clean += max(0.0, end - cursor)
        if clean > 0.0:
            found.append((bad, clean))
    return found


@dataclass
class Leaks:
    leaked: list[tuple[str, str]] = field(default_factory=list)  # (token ID, why)
    outcome: Counter[str] = field(default_factory=Counter)


def find_leaks(cloud: CloudEmulator, kube: KubernetesEmulator, clock: LoopClock, tokens: list[SoakToken],
               ledger: Ledger, resources: Resources) -> Leaks:
    """Every token tokensync made or replaced, and where it is now."""
    result = Leaks()
    by_name = {t.name: t for t in tokens}
    now = clock.now()
    statuses = {name: scenario.status(kube, name) for name in by_name}
    replaced = {t.token_id: t.name for t in tokens if t.strategy == "Rotate" and t.token_id is not None}
    for token_id in sorted(set(ledger.made) | set(replaced)):
        token = cloud.state.tokens.get(token_id)
        owner = resources.adopted.get(token_id) or replaced.get(token_id)
        made = "made" if token_id in ledger.made else "user's"
        if owner is None:
            if token is None:
                result.outcome["made: never adopted, deleted"] += 1  # a late create's token, cleaned up
            else:
                result.leaked.append((token_id, f"made by a create no resource adopted, still {token.status}"))
            continue
        status, spec = statuses[owner], by_name[owner]
        retiring = {e.get("applicationTokenId"): e for e in status.get("retiringTokens") or []}
        if status.get("applicationTokenId") == token_id:
            result.outcome[f"{made}: current"] += 1
        elif token_id in retiring and token is None:
            result.outcome[f"{made}: deleted, still listed as retiring"] += 1
        elif token_id in retiring:
            retire_at = parse_rfc3339(retiring[token_id].get("retireAt"))
            if retire_at is not None and (now - retire_at).total_seconds() > RETIRE_GRACE:
                state = token.status if token else "gone"
                result.leaked.append((token_id, f"{owner}: retireAt {retire_at} passed, still {state}"))
            else:
                result.outcome[f"{made}: retiring"] += 1
        elif token is None:
            result.outcome[f"{made}: deleted"] += 1
            if spec.retire != "Delete":
                result.leaked.append((token_id, f"{owner}: deleted although retire is {spec.retire}"))
        elif spec.retire == "Keep":
            result.outcome[f"{made}: kept ({token.status})"] += 1
        elif spec.retire == "Disable" and token.status == "disabled":
            result.outcome[f"{made}: disabled"] += 1
        else:
            result.leaked.append((token_id, f"{owner} (retire {spec.retire}): replaced, untracked, {token.status}"))
    return result


@dataclass
class Duplicates:
    rotations: int = 0  # distinct rotations that made a token
    over: list[tuple[tuple[str, str | None], list[str]]] = field(default_factory=list)
    unattributed: list[str] = field(default_factory=list)  # made with no pendingRotation recorded
    recovered: int = 0  # tokens whose create answer was lost, adopted after a listing found them
    # Two creates for one rotation (the first one's answer lost past the settle time), the extra deleted.
    over_cleaned: list[tuple[tuple[str, str | None], list[str]]] = field(default_factory=list)


def find_duplicates(ledger: Ledger, resources: Resources) -> Duplicates:
    result = Duplicates()
    per_rotation: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for made in ledger.made.values():
        adopted = resources.adopted_at.get(made.token_id)
        if adopted is not None and any(made.at < t <= adopted for t in ledger.listed[made.application]):
            result.recovered += 1
        rotation = resources.rotations.get(made.expiration_ms)
        if rotation is None:
            result.unattributed.append(made.token_id)
        else:
            per_rotation[rotation].append(made.token_id)
    result.rotations = len(per_rotation)
    for rotation, made in per_rotation.items():
        if len(made) < 2:
            continue
        # By design (token_renewal: CREATE_SETTLE): a create that got no answer and was not listed
        # within the settle time is followed by another; if the cloud carries out the first one
        # later, its token is found and deleted. Such a rotation made two tokens but left one.
        left = [token_id for token_id in made if token_id in ledger.cloud.state.tokens]
        (result.over_cleaned if len(left) <= 1 else result.over).append((rotation, made))
    return result


# --- the fault injectors ----------------------------------------------------------------------


async def sleep_until(loop: asyncio.AbstractEventLoop, moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - loop.time()))


async def inject_cloud_faults(cloud: CloudEmulator, schedule: list[Episode], started: asyncio.Future[float],
                              disturbances: Disturbances, outages: list[list[float]], injected: Counter[str]) -> None:
    loop = asyncio.get_running_loop()
    start = await started
    for episode in schedule:
        await sleep_until(loop, start + episode.at)
        fault: CloudFault = cloud.inject_fault(**episode.params)
        scope = episode.params.get("action") or "all"
        injected[f"cloud:{episode.kind}" + (":flaky" if "rate" in episode.params else "")] += 1
        injected[f"cloud-scope:{scope}"] += 1
        # Slow answers are answers; a fault on retiring calls alone leaves every call a renewal needs
        # answering (a refused retirement must not hold up a rotation).
        is_outage = episode.kind != "slow" and episode.params.get("action") not in (DISABLE, DELETE)
        interval = disturbances.open(loop.time()) if is_outage else None
        try:
            await asyncio.sleep(episode.duration)
        finally:
            cloud.faults.remove(fault.id)
            if interval is not None:
                outages.append([interval[0], loop.time()])
                retry_after = float(episode.params.get("retry_after") or 0.0)
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


async def wait_for_kill(kill: Kill, switch: KillSwitch, loop: asyncio.AbstractEventLoop, start: float) -> None:
    """Arm the kill at its moment; a triggered one fires on its action's next call (or after two
    simulated hours without one: then at that moment, and the report says so)."""
    await sleep_until(loop, start + kill.at)
    fired = switch.arm(kill)
    if kill.trigger == "moment":
        switch.fire()
        return
    timer = loop.call_later(7200, wake_up, fired)
    try:
        await fired
    finally:
        timer.cancel()
    if kill.happened is None:
        kill.trigger += " (no call came: killed at a moment)"
        switch.fire()


# --- the soak ---------------------------------------------------------------------------------


def renewal_metrics() -> Counter[str]:
    counts = Counter[str]()
    for family in metrics.TOKEN_RENEWALS_TOTAL.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[f"{sample.labels['strategy']}/{sample.labels['result']}"] += int(sample.value)
    return counts


def event_counts(kube: KubernetesEmulator) -> Counter[str]:
    counts = Counter[str]()
    for event in kube.list("v1", "events", NS):
        counts[event["reason"]] += int(event.get("count") or 1)
    return counts


@dataclass
class SoakResult:
    tokens: list[SoakToken]
    verdict: Verdict
    strict: list[tuple[Bad, float]]
    leaks: Leaks
    duplicates: Duplicates
    over_limit: list[tuple[str, int, float]]
    crashes: Counter[str]
    changes: Counter[str]
    kills: list[Kill]
    none_kept: bool
    pending_left: list[str]


async def run_soak(kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
                   monkeypatch: pytest.MonkeyPatch) -> SoakResult:
    real_start = time.perf_counter()
    rng = random.Random(SEED)
    print(f"\nsoak: {TOKENS} tokens, {HOURS:g} simulated hours, seed {SEED} (TOKENSYNC_SOAK_SEED)")
    loop = asyncio.get_running_loop()
    logs = LogCounter()
    logging.getLogger("tokensync").addHandler(logs)
    trace = LoopTimeLog(LOG, clock) if LOG else None
    if trace is not None:
        logging.getLogger("tokensync").addHandler(trace)
        logging.getLogger("tokensync").setLevel(logging.INFO)

    tokens = plan_tokens(rng, TOKENS)
    scenario.standard_cluster(kube, cloud)
    cloud.state.expired_token_read = EXPIRED_READ  # type: ignore[assignment]
    now = clock.now()
    for token in tokens:
        if token.token_id is not None:
            lifetime = token.cls.lifetime
            added = cloud.add_token(token.token_id, lifetime=lifetime, instance_id=INSTANCE,
                                    application_id=token.application)
            # Created at a random moment before its renewal, so renewals spread over the run.
            added.create_time = truncate_ms(now - lifetime * 0.6 * rng.random())
            added.expiration_time = added.create_time + lifetime
        else:
            cloud.add_instance(INSTANCE, [token.application])
        for target in token.spec.get("rolloutRestartTargets") or []:
            kube.create(scenario.deployment(target["name"]))
        kube.create(resource_body(token))

    span = HOURS * 3600
    cloud_plan = cloud_schedule(random.Random(rng.random()), span)
    kube_plan = kube_schedule(random.Random(rng.random()), span, tokens)
    kills = kill_schedule(random.Random(rng.random()), span)

    connection = load_connection_settings(str(kubeconfig))
    disturbances, outages, injected = Disturbances(), list[list[float]](), Counter[str]()
    monitor = Monitor(kube, cloud, clock, tokens)
    resources = Resources(kube, monitor.changes)
    switch = KillSwitch(kube)
    ledger = Ledger(cloud, kube, monitor, switch, tokens)
    ledger.install(monkeypatch)
    renewals_before, calls_before = renewal_metrics(), Counter(cloud.counters)
    # Started before the operator, and waiting for the soak to begin: kopf's run_tasks cancels,
    # when an operator stops, every task created in the loop after that operator started.
    started: asyncio.Future[float] = loop.create_future()
    tasks = [asyncio.create_task(coroutine) for coroutine in (
        monitor.watch_secrets(started), monitor.expiries(started), resources.follow(),
        inject_cloud_faults(cloud, cloud_plan, started, disturbances, outages, injected),
        inject_kube_faults(kube, kube_plan, started, disturbances, injected),
    )]
    setup_real = 0.0
    start = end = loop.time()
    try:
        down: list[float] | None = None
        for segment in range(len(kills) + 1):
            async with running_operator(Operator(connection, clock=clock), settings=operator_settings()) as op:
                switch.operator = op
                if segment == 0:
                    def all_written() -> bool:
                        return len(kube.list("v1", "secrets", NS)) >= len(tokens)

                    await eventually(all_written, timeout=3600, step=5)
                    await asyncio.sleep(5)  # the first syncs' last status writes
                    setup_real = time.perf_counter() - real_start
                    monitor.index_values()
                    monitor.start()
                    start = loop.time()
                    print(f"soak: faults start at {clock.now():%H:%M:%S} (simulated; +0s in the report)")
                    started.set_result(start)
                elif down is not None:
                    down[1] = loop.time() + RESTART_SETTLE
                if segment < len(kills):
                    kill = kills[segment]
                    await wait_for_kill(kill, switch, loop, start)
                    assert kill.happened is not None
                    down = disturbances.open(kill.happened)
                    injected["operator-kill"] += 1
                else:
                    await sleep_until(loop, start + span)
                    for task in tasks[3:]:  # the schedule is over; a quiet settle before the checks
                        task.cancel()
                    await asyncio.gather(*tasks[3:], return_exceptions=True)
                    cloud.clear_faults()
                    kube.clear_faults()
                    await asyncio.sleep(QUIET_SETTLE)
                    end = loop.time()
                    monitor.close()
                    assert not any(task.done() for task in tasks[:3]), "a monitor stopped before the soak ended"
            if segment < len(kills):
                await asyncio.sleep(kills[segment].down_for)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        resources.watch.close()
        cloud.clear_faults()
        kube.clear_faults()
        logging.getLogger("tokensync").removeHandler(logs)
        if trace is not None:
            logging.getLogger("tokensync").removeHandler(trace)
            logging.getLogger("tokensync").setLevel(logging.NOTSET)
            trace.close()
    failed = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
    if failed:
        raise failed[0]  # a monitor or an injector broke: the run proves nothing
    for interval in disturbances.intervals:
        interval[1] = min(interval[1], end)

    judged = [bad for bad in monitor.episodes if monitor.tokens[bad.name].renews]
    verdict = judge(judged, disturbances)
    strict = strict_lateness(judged, disturbances)
    leaks = find_leaks(cloud, kube, clock, tokens, ledger, resources)
    duplicates = find_duplicates(ledger, resources)
    none_names = [t.name for t in tokens if t.strategy == "None"]
    none_kept = all(scenario.secret_data(kube, name) is not None for name in none_names)
    pending_left = [t.name for t in tokens if scenario.status(kube, t.name).get("pendingRotation")]
    report = soak_report(
        tokens=tokens, span=span, real=time.perf_counter() - real_start, setup_real=setup_real, start=start,
        end=end, cloud=cloud, kube=kube, calls=Counter(cloud.counters) - calls_before,
        renewals=renewal_metrics() - renewals_before, injected=injected, outages=outages,
        disturbances=disturbances, monitor=monitor, verdict=verdict, strict=strict, leaks=leaks,
        duplicates=duplicates, ledger=ledger, logs=logs, kills=kills, pending_left=pending_left,
        none_names=none_names)
    print("\n".join(report))
    return SoakResult(tokens=tokens, verdict=verdict, strict=strict, leaks=leaks, duplicates=duplicates,
                      over_limit=ledger.over_limit, crashes=logs.crashes, changes=monitor.changes, kills=kills,
                      none_kept=none_kept, pending_left=pending_left)


def soak_report(*, tokens: list[SoakToken], span: float, real: float, setup_real: float, start: float, end: float,
                cloud: CloudEmulator, kube: KubernetesEmulator, calls: Counter[str], renewals: Counter[str],
                injected: Counter[str], outages: list[list[float]], disturbances: Disturbances, monitor: Monitor,
                verdict: Verdict, strict: list[tuple[Bad, float]], leaks: Leaks, duplicates: Duplicates,
                ledger: Ledger, logs: LogCounter, kills: list[Kill], pending_left: list[str],
                none_names: list[str]) -> list[str]:
    by_name = {t.name: t for t in tokens}
    classes = Counter(t.cls.label for t in tokens)
    strategies = Counter(t.strategy if t.strategy != "Rotate" else f"Rotate/{t.retire}" for t in tokens)
    creates = {code: n for (action, code), n in cloud.codes.items() if action == CREATE}
    events = event_counts(kube)
    none_bad = [bad for bad in monitor.episodes if bad.name in set(none_names)]
    worst_excused = max((s for _, s in verdict.excused), default=0.0)
    over = max((n - ledger.enabled_limit[a] for a, n, _ in ledger.over_limit), default=0)
    enabled_peak = max((ledger.enabled_max[t.application] for t in tokens
                        if t.retires and not t.application.startswith("app_g")), default=0)
    report = [
        f"soak report (seed {SEED}): {len(tokens)} tokens"
        f" ({', '.join(f'{classes[c.label]} x {c.label}' for c in CLASSES)};"
        f" {', '.join(f'{n} {s}' for s, n in sorted(strategies.items()))}), {span / 3600:g} simulated hours"
        f" + {QUIET_SETTLE / 60:g} min quiet; expired reads answer {cloud.state.expired_token_read!r}",
        f"  real time: {real:.0f}s (setup and first syncs {setup_real:.0f}s); load average {os.getloadavg()[0]:.2f}",
        f"  cloud calls: {', '.join(f'{a} {n}' for a, n in sorted(calls.items()))}",
        f"  renewals (tokensync_token_renewals_total): {', '.join(f'{k} {v}' for k, v in sorted(renewals.items()))}",
        f"  events: {', '.join(f'{k} {v}' for k, v in sorted(events.items()))}",
        f"  faults injected: {sum(v for k, v in injected.items() if not k.startswith('cloud-scope'))}"
        f" ({', '.join(f'{k} {v}' for k, v in sorted(injected.items()))}); cloud outage time"
        f" {sum(b - a for a, b in outages) / 3600:.2f} h",
        "  kills: " + "; ".join(
            f"+{(k.happened or 0) - start:.0f}s {k.trigger}, {k.syncs_cut} syncs cut, {k.pending_rotations} pending"
            f" rotations in status{f', token {k.token_in_flight}' if k.token_in_flight else ''}, down {k.down_for:.0f}s"
            for k in kills),
        f"  Secrets: {dict(monitor.changes)}",
        f"  (a) invalid Secrets of Extend/Rotate resources: {len(verdict.violations)} violations; excused (expired"
        f" in a disturbance, renewed within a backoff step) {len(verdict.excused)}, worst {worst_excused:.0f}s,"
        f" longest recovery after a disturbance {verdict.recovery:.0f}s; strict {len(strict)}"
        f" ({sum(s for _, s in strict):.0f} Secret-seconds); None tokens expired {len(none_bad)} of {len(none_names)}",
        f"  (b) leaks: {len(leaks.leaked)}; tokens made or replaced: {dict(sorted(leaks.outcome.items()))};"
        f" pendingRotation left {len(pending_left)}",
        f"  (c) rotations {duplicates.rotations}, tokens made {len(ledger.made)}, rotations with more than one token"
        f" {len(duplicates.over)}, made without a pendingRotation {len(duplicates.unattributed)};"
        f" CreateApplicationToken answers {dict(sorted(creates.items()))}; lost answers found by listing"
        f" {duplicates.recovered}",
        f"  (d) more than two enabled tokens per retiring Rotate resource: {len(ledger.over_limit)} moments"
        f" (worst by {over}); by design while a retirement was refused or not yet due"
        f" {len(ledger.over_limit_excused)}; most enabled in a one-resource application {enabled_peak}",
        f"  unexpected reconcile failures: {sum(logs.crashes.values())}",
    ]
    for bad, seconds, why in verdict.violations[:10]:
        report.append(f"    VIOLATION {bad.name} ({by_name[bad.name].describe()}): {bad.reason} token {bad.token_id}"
                      f" from +{bad.start - start:.1f}s for {seconds:.1f}s: {why}")
        status, ready = scenario.status(kube, bad.name), scenario.condition(kube, bad.name)
        report.append(f"      now: Ready={ready.get('status')} {ready.get('reason')}: {ready.get('message')};"
                      f" applicationTokenId {status.get('applicationTokenId')}, nextRefreshTime"
                      f" {status.get('nextRefreshTime')}, failedAttempts {status.get('failedAttempts')}")
    for bad, seconds in strict[:10]:
        report.append(f"    strict: {bad.name} ({by_name[bad.name].describe()}) {bad.reason} from"
                      f" +{bad.start - start:.0f}s to +{(bad.ended or bad.start) - start:.0f}s,"
                      f" {seconds:.0f}s of it with everything answering")
    report.extend(f"    LEAK {token_id}: {why}" for token_id, why in leaks.leaked[:10])
    report.extend(f"    DUPLICATE rotation {rotation}: tokens {made}" for rotation, made in duplicates.over[:10])
    report.extend(f"    OVER LIMIT {app}: {n} enabled at +{at - start:.0f}s" for app, n, at in ledger.over_limit[:10])
    report.extend(f"    {count} x {message}" for message, count in logs.crashes.most_common(5))
    if VERBOSE or verdict.violations:
        report.append("    disturbances (s after start): " + ", ".join(
            f"{a - start:.0f}-{b - start:.0f}" for a, b in sorted(disturbances.intervals)))
    if VERBOSE:
        report.extend(f"    bad {b.name} {b.reason}: +{b.start - start:.1f}s .. +{(b.ended or b.start) - start:.1f}s"
                      for b in monitor.episodes)
    return report


_RESULTS: dict[str, SoakResult] = {}


async def soak(kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
               monkeypatch: pytest.MonkeyPatch) -> SoakResult:
    """One soak run per session, whichever of the tests below asks first."""
    if "soak" not in _RESULTS:
        _RESULTS["soak"] = await run_soak(kube, cloud, kubeconfig, clock, monkeypatch)
    return _RESULTS["soak"]


async def test_soak_a_secrets_hold_tokens_the_cloud_accepts(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(a) Never an expired, disabled or deleted token in an Extend/Rotate Secret while the cloud
    answered; renewed within one backoff step of any disturbance; nothing crashed on the way."""
    result = await soak(kube, cloud, kubeconfig, clock, monkeypatch)
    assert not result.crashes, "reconciles failed unexpectedly (see the report)"
    assert result.changes["deleted"] == 0, "a Secret was deleted"
    assert result.none_kept, "a None resource lost its Secret"
    assert all(kill.happened is not None for kill in result.kills)
    assert any(kill.trigger == CREATE and kill.token_in_flight for kill in result.kills), \
        "no kill landed inside a rotation"
    assert result.verdict.violations == [], f"{len(result.verdict.violations)} violations (see the report)"


async def test_soak_a_strictly_renews_soon_after_every_disturbance(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(a) taken strictly: no invalid Secret once everything had been answering for two minutes."""
    result = await soak(kube, cloud, kubeconfig, clock, monkeypatch)
    assert result.strict == [], f"{len(result.strict)} Secrets stayed invalid with everything answering"


async def test_soak_b_leaves_no_token_untracked(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = await soak(kube, cloud, kubeconfig, clock, monkeypatch)
    assert result.leaks.leaked == [], f"{len(result.leaks.leaked)} tokens leaked (see the report)"
    assert result.pending_left == [], "rotations left unfinished after the quiet settle"


async def test_soak_c_makes_one_token_per_rotation(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = await soak(kube, cloud, kubeconfig, clock, monkeypatch)
    assert result.duplicates.rotations > 0
    assert result.duplicates.over == [], f"{len(result.duplicates.over)} rotations made more than one token"
    assert result.duplicates.unattributed == [], "tokens created without a recorded pendingRotation"


async def test_soak_d_keeps_at_most_two_enabled_tokens_per_rotating_resource(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = await soak(kube, cloud, kubeconfig, clock, monkeypatch)
    assert result.over_limit == [], f"{len(result.over_limit)} moments with more than two enabled tokens"
