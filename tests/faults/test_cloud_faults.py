"""The cloud fault matrix: every way the cloud can fail a read, seen from the user's side.

For each fault: the last good Secret is never deleted or blanked, the resource says Ready=False
with the reason that names the problem, the retries follow the documented backoff (counted in
cloud calls: every failed sync makes the client's 3 attempts, and failed syncs are spaced by
``5 s * 2^(n-1)`` capped at 30 min, with equal jitter for transient faults), and once the cloud
answers again the Secret holds the token as the cloud holds it now by the next planned attempt.

A token's value never changes by itself (notes/alibaba-cloud-wire.md), so what the outage hides
is a change a person makes meanwhile: the token extended in the console (same value, a later
ExpirationTime), which the Secret's ``expiresAt`` must show once the cloud answers again. A token
that expires during an outage is renewed (spec.renewal Extend, the default) once it is back.

Every kind the cloud emulator can inject is covered: 5xx, timeouts (latency beyond the client's
10 s timeout), connection resets, throttling with and without ``x-acs-retry-after``, malformed
(HTML), truncated and empty bodies. A response missing fields or with wrong types cannot be
injected by the emulator's faults, so those answers are reshaped here by wrapping the emulated
action (``reshaped_answers``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.faults.conftest import Reshape
from tests.scenario import NS, condition, eventually, has_reason, is_ready, secret_data, status
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD

API = scenario.API
OBTAIN = "ObtainApplicationToken"
CLIENT_ATTEMPTS = 3  # ClientSettings.max_attempts: one failed sync is three calls of a retryable error
BASE_BACKOFF, MAX_BACKOFF, MIN_INTERVAL = 5.0, 1800.0, 5.0  # RefreshPolicy defaults (seconds)


class CallLog(Counter[str]):
    """The emulator's call counter, also remembering when each call arrived (emulator clock)."""

    def __init__(self, clock: LoopClock) -> None:
        super().__init__()
        self.clock = clock
        self.times: dict[str, list[datetime]] = {}

    def __setitem__(self, key: str, value: int) -> None:
        if value > self.get(key, 0):
            self.times.setdefault(key, []).append(self.clock.now())
        super().__setitem__(key, value)


@pytest.fixture
def call_log(cloud: CloudEmulator, clock: LoopClock) -> CallLog:
    log = CallLog(clock)
    log.update(cloud.counters)
    cloud.counters = log
    return log




def backoff_ceiling(attempt: int) -> float:
    return float(min(BASE_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF))


def failed_syncs_within(window: float, *, fastest: bool, sync_seconds: float = 0.0) -> int:
    """How many failed syncs fit in ``window`` seconds after the first one, if every wait is the
    shortest (``fastest``: half the ceiling, equal jitter) or longest (the full ceiling) the policy
    allows, each sync itself lasting ``sync_seconds``."""
    elapsed, syncs = 0.0, 1
    while True:
        ceiling = backoff_ceiling(syncs)
        wait = max(ceiling / 2, MIN_INTERVAL) if fastest else ceiling
        elapsed += wait + sync_seconds
        if elapsed > window:
            return syncs
        syncs += 1


def everything_a_user_can_read(kube: KubernetesEmulator, caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([
        caplog.text,
        repr(kube.list("v1", "events")),
        repr(kube.list(API, "applicationtokens")),
        metrics.render().decode(),
    ])


async def ready_token(kube: KubernetesEmulator, cloud: CloudEmulator, *, token_id: str = "token_day",
                      lifetime: timedelta = timedelta(days=1), name: str = "svc") -> dict[str, str]:
    """A resource whose token is in its Secret; returns the Secret's data."""
    cloud.add_token(token_id, lifetime=lifetime)
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(name, token_id=token_id))
    await eventually(is_ready(kube, name))
    data = secret_data(kube, name)
    assert data is not None and data["token"] == cloud.token_value(token_id)
    return data


def force_sync(kube: KubernetesEmulator, name: str, value: str) -> None:
    kube.patch(API, "applicationtokens", NS, name, {"metadata": {"annotations": {"tokensync.dev/force-sync": value}}})


async def secret_stays(kube: KubernetesEmulator, name: str, good: dict[str, str], *, seconds: float,
                       step: float = 300.0) -> None:
    """Watch the Secret for ``seconds`` (every ``step``): it must keep the last good data."""
    # Whole steps: sleeping for the float remainder (end - now) can be shorter than looptime's
    # resolution, and the clock then never reaches the end (the test spun until its timeout).
    steps = max(1, math.ceil(seconds / step))
    for _ in range(steps):
        await asyncio.sleep(seconds / steps)
        assert secret_data(kube, name) == good, "the last good Secret was changed during the outage"


async def recovers_by_the_next_attempt(kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock,
                                       name: str, token_id: str, *, slack: float = 12.0) -> None:
    """The cloud answers again: by the planned next attempt (plus the attempt itself), the Secret
    holds the token as the cloud holds it now (value and expiry) and the resource is Ready."""
    planned = parse_rfc3339(status(kube, name)["nextRefreshTime"])
    assert planned is not None
    wait = (planned - clock.now()).total_seconds()
    assert wait <= MAX_BACKOFF, f"the next attempt is {wait:.0f}s away: more than one backoff step"
    await asyncio.sleep(max(wait, 0.0) + slack)
    data = secret_data(kube, name) or {}
    live = cloud.token(token_id)
    assert data.get("token") == live.value
    assert live.expiration_time is not None
    assert parse_rfc3339(data.get("expiresAt")) == live.expiration_time.replace(microsecond=0)
    assert condition(kube, name)["status"] == "True"
    assert status(kube, name)["failedAttempts"] == 0


def extended_in_the_console(cloud: CloudEmulator, clock: LoopClock, token_id: str = "token_day") -> datetime:
    """What a person does meanwhile: the token's expiry moved two days ahead (same value)."""
    later = clock.now() + timedelta(days=2)
    cloud.set_token_expiration(token_id, later)
    expiration = cloud.token(token_id).expiration_time
    assert expiration is not None
    return expiration


TRANSIENT_FAULTS: dict[str, tuple[dict[str, Any], str, float]] = {
    # id: (fault, Ready reason, seconds one failed sync lasts at most: client timeouts and backoff)
    "http-500": ({"status": 500, "code": "InternalError"}, "CloudUnavailable", 1.5),
    "http-502": ({"status": 502, "code": "BadGateway"}, "CloudUnavailable", 1.5),
    "http-503": ({"status": 503, "code": "ServiceUnavailable"}, "CloudUnavailable", 1.5),
    "timeout": ({"latency_ms": 120_000}, "CloudUnavailable", 3 * 10 + 1.5),
    "connection-reset": ({"reset": True}, "CloudUnavailable", 1.5),
    "throttled": ({"status": 429, "code": "Throttling.User"}, "Throttled", 1.5),
    "throttled-by-code": ({"status": 400, "code": "Throttling.Api"}, "Throttled", 1.5),
    "malformed-body": ({"body": "malformed"}, "CloudUnavailable", 1.5),
    "truncated-body": ({"body": "truncated"}, "CloudUnavailable", 1.5),
    "empty-body": ({"body": "empty"}, "CloudUnavailable", 1.5),
}


@pytest.mark.parametrize("fault_id", list(TRANSIENT_FAULTS))
async def test_a_transient_fault_keeps_the_secret_backs_off_and_recovers(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    call_log: CallLog, caplog: pytest.LogCaptureFixture, fault_id: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    fault, reason, sync_seconds = TRANSIENT_FAULTS[fault_id]
    good = await ready_token(kube, cloud)
    cloud.inject_fault(action=OBTAIN, **fault)
    force_sync(kube, "svc", fault_id)
    await eventually(has_reason(kube, "svc", reason), timeout=120)
    calls_at_first_failure = cloud.calls(OBTAIN)
    ready = condition(kube, "svc")
    assert ready["status"] == "False"
    assert "next attempt" in ready["message"]
    # kstatus (Flux's health checks) reads this as still in progress, not failed: it clears by itself.
    assert condition(kube, "svc", condition_type="Reconciling")["reason"] == reason
    assert condition(kube, "svc", condition_type="Stalled") == {}
    warnings = [e for e in scenario.events(kube, "svc") if e["type"] == "Warning"]
    assert warnings and reason in warnings[-1]["message"]

    hour = 3600.0
    await secret_stays(kube, "svc", good, seconds=hour)
    assert condition(kube, "svc")["reason"] == reason
    failed = status(kube, "svc")["failedAttempts"]
    fewest = failed_syncs_within(hour, fastest=False, sync_seconds=sync_seconds)
    most = failed_syncs_within(hour, fastest=True) + 1  # +1: the hour may end mid-sync
    assert fewest <= failed <= most, f"{failed} failed syncs in an hour; the backoff allows {fewest}..{most}"
    # Each failed sync is the client's attempts, no more (a sync may be mid-way at the hour's end).
    calls = cloud.calls(OBTAIN)
    assert failed * CLIENT_ATTEMPTS <= calls <= failed * CLIENT_ATTEMPTS + CLIENT_ATTEMPTS
    assert calls - calls_at_first_failure <= (most - 1) * CLIENT_ATTEMPTS + CLIENT_ATTEMPTS

    extended = extended_in_the_console(cloud, clock)  # what the cloud holds once it answers again
    assert secret_data(kube, "svc") == good  # not seen yet: the cloud still fails every read
    cloud.clear_faults()
    await recovers_by_the_next_attempt(kube, cloud, clock, "svc", "token_day")
    assert parse_rfc3339((secret_data(kube, "svc") or {})["expiresAt"]) == extended.replace(microsecond=0)
    assert (secret_data(kube, "svc") or {})["token"] == good["token"]  # the value never changes by itself
    assert condition(kube, "svc", condition_type="Reconciling") == {}
    everything = everything_a_user_can_read(kube, caplog)
    assert good["token"] not in everything
    assert scenario.AK_SECRET not in everything


async def test_throttling_with_retry_after_never_calls_sooner(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, call_log: CallLog,
) -> None:
    """With ``x-acs-retry-after``, no call comes before the cloud said it would accept one."""
    good = await ready_token(kube, cloud)
    retry_after = 300.0
    cloud.throttle(action=OBTAIN, retry_after=retry_after)
    calls_before = len(call_log.times[OBTAIN])
    force_sync(kube, "svc", "throttle")
    await eventually(has_reason(kube, "svc", "Throttled"), timeout=2 * retry_after + 60)
    ready = condition(kube, "svc")
    assert ready["status"] == "False" and "rate-limiting" in ready["message"]
    planned = parse_rfc3339(status(kube, "svc")["nextRefreshTime"])
    assert planned is not None and (planned - clock.now()).total_seconds() >= retry_after - 1

    await secret_stays(kube, "svc", good, seconds=2 * 3600)
    times = call_log.times[OBTAIN][calls_before:]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 6
    assert min(gaps) >= retry_after - 1, f"a call came {min(gaps):.0f}s after the last; retry-after is {retry_after}"
    assert len(times) <= 2 * 3600 / retry_after + CLIENT_ATTEMPTS

    cloud.clear_faults()
    # A retry-after beyond the client's backoff cap ends the sync at once, and the next one is
    # planned no sooner than the retry-after: that is the step.
    await recovers_by_the_next_attempt(kube, cloud, clock, "svc", "token_day", slack=retry_after + 12)


MISSING_OR_WRONG: dict[str, tuple[Reshape, str]] = {
    # id: (how the answer is broken, what the status message names)
    "no-token-object": (lambda answer: {}, "ApplicationToken"),
    "no-token-value": (lambda a: {"ApplicationToken": {k: v for k, v in a["ApplicationToken"].items()
                                                       if k != "ApplicationToken"}}, "ApplicationToken"),
    "no-expiration-time": (lambda a: {"ApplicationToken": {k: v for k, v in a["ApplicationToken"].items()
                                                           if k != "ExpirationTime"}}, "ExpirationTime"),
    "expiration-not-a-time": (lambda a: {"ApplicationToken": {**a["ApplicationToken"],
                                                              "ExpirationTime": "tomorrow"}}, "ExpirationTime"),
    "token-not-a-string": (lambda a: {"ApplicationToken": {**a["ApplicationToken"],
                                                           "ApplicationToken": {"nested": 1}}}, "ApplicationToken"),
    "token-object-is-a-list": (lambda a: {"ApplicationToken": [a["ApplicationToken"]]}, "ApplicationToken"),
}


@pytest.mark.parametrize("shape", list(MISSING_OR_WRONG))
async def test_an_answer_missing_fields_is_cloud_unavailable_and_keeps_the_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    reshaped_answers: Callable[[Reshape | None], None], caplog: pytest.LogCaptureFixture, shape: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    reshape, field = MISSING_OR_WRONG[shape]
    good = await ready_token(kube, cloud)
    reshaped_answers(reshape)
    calls = cloud.calls(OBTAIN)
    force_sync(kube, "svc", shape)
    await eventually(has_reason(kube, "svc", "CloudUnavailable"), timeout=60)
    ready = condition(kube, "svc")
    assert field in ready["message"] and "MalformedResponse" in ready["message"]
    # A well-formed answer of the wrong shape is checked after the call: one call per failed sync.
    assert cloud.calls(OBTAIN) - calls == 1
    await secret_stays(kube, "svc", good, seconds=1800)

    extended = extended_in_the_console(cloud, clock)
    reshaped_answers(None)
    await recovers_by_the_next_attempt(kube, cloud, clock, "svc", "token_day")
    assert parse_rfc3339((secret_data(kube, "svc") or {})["expiresAt"]) == extended.replace(microsecond=0)
    assert good["token"] not in everything_a_user_can_read(kube, caplog)


async def test_a_token_that_expires_while_the_cloud_is_down(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, call_log: CallLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An outage starts before the renewal and lasts past the expiry: the expired value stays in
    the Secret (an app holding it fails the same as one holding nothing, but a blank Secret would
    also break restarts), retries get denser as the expiry nears, and the renewal (Extend, the
    default: the same value, a new expiry) comes within one backoff step of the cloud's return."""
    caplog.set_level(logging.DEBUG)
    good = await ready_token(kube, cloud, token_id="token_hour", lifetime=timedelta(hours=1))
    expires = parse_rfc3339(good["expiresAt"])
    assert expires is not None
    await asyncio.sleep(10 * 60)  # the renewal is due at 40 min: the outage comes before it
    good = secret_data(kube, "svc") or {}
    cloud.inject_fault(action=OBTAIN, status=503, code="ServiceUnavailable")
    outage_start = clock.now()
    await eventually(has_reason(kube, "svc", "CloudUnavailable"), timeout=3600, step=5)
    # Until 25 minutes past the expiry: nothing renews the token meanwhile, it stays expired.
    await secret_stays(kube, "svc", good, seconds=(expires - clock.now()).total_seconds() + 1500, step=120)
    assert cloud.calls("UpdateApplicationTokenExpirationTime") == 0
    assert clock.now() > expires
    last_quarter_hour = [t for t in call_log.times[OBTAIN] if expires - timedelta(minutes=15) <= t < expires]
    assert len(last_quarter_hour) >= 3 * CLIENT_ATTEMPTS, "retries did not get denser as the expiry neared"
    outage_calls = [t for t in call_log.times[OBTAIN] if t >= outage_start]
    assert len(outage_calls) <= 60 * CLIENT_ATTEMPTS, f"{len(outage_calls)} calls in a 75-minute outage"
    ready = condition(kube, "svc")
    assert ready["status"] == "False" and ready["reason"] == "CloudUnavailable"

    cloud.clear_faults()
    await recovers_by_the_next_attempt(kube, cloud, clock, "svc", "token_hour")
    renewed = parse_rfc3339((secret_data(kube, "svc") or {})["expiresAt"])
    assert renewed is not None and renewed > clock.now() + timedelta(minutes=50)  # now + the 1 h lifetime
    assert (secret_data(kube, "svc") or {})["token"] == good["token"]  # extended, not replaced
    assert cloud.calls("UpdateApplicationTokenExpirationTime") == 1
    assert "Extended" in scenario.event_reasons(kube, "svc")
    assert good["token"] not in everything_a_user_can_read(kube, caplog)


# --- one namespace cannot starve another -------------------------------------------------------------


@pytest.mark.parametrize("stuck_namespaces", [1, 9])
async def test_namespaces_whose_endpoint_never_answers_do_not_delay_another(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    stuck_namespaces: int,
) -> None:
    """Issue 14: 200 tokens in one namespace, its CloudAccess pointed at an address that accepts
    connections and never answers (each sync: 10 s per try, 3 tries), delayed another namespace's
    new token by 183 s; the work queue now keeps a quarter of its slots for other namespaces.
    A review then showed nine such namespaces taking all 32 slots (24 + 8 x 1): the healthy token
    waited 26 s. Syncs that hang (past one cloud attempt's timeout) give their slots back."""
    async def hold_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; ends when the client gives up
        writer.close()

    black_hole = await asyncio.start_server(hold_forever, "127.0.0.1", 0)
    address = f"http://127.0.0.1:{black_hole.sockets[0].getsockname()[1]}"
    try:
        scenario.standard_cluster(kube, cloud)
        for n in range(stuck_namespaces):
            namespace = f"stuck{n}"
            kube.create(scenario.namespace(namespace))
            kube.create(scenario.access_key_secret(namespace=namespace))
            dead = scenario.cloud_access(cloud, name="dead", namespace=namespace)
            dead["spec"]["endpoints"] = {"eiam": address, "ims": address, "sts": address}
            kube.create(dead)
            for i in range(200 if n == 0 else 4):
                kube.create(scenario.application_token(f"stuck-{i}", namespace=namespace,
                                                       cloudAccessRef={"kind": "CloudAccess", "name": "dead"}))
        await asyncio.sleep(5)  # every slot the stuck namespaces may take is taken
        created = clock.now()
        kube.create(scenario.application_token("healthy"))
        await eventually(is_ready(kube, "healthy"), timeout=120, step=0.5)
        waited = (clock.now() - created).total_seconds()
        # One stuck namespace leaves the reserve free; more wait at most for hang_after (11 s).
        bound = 5 if stuck_namespaces == 1 else 12
        assert waited <= bound, f"the healthy namespace's token waited {waited:.0f} s behind the stuck ones"
    finally:
        black_hole.close()
