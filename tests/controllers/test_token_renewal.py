"""Renewal end to end: Extend, Rotate and None on both emulators, with fast-forwarded time.

An IDaaS application token never changes by itself: these tests watch tokensync extend it in
place (same value, later expiry) or rotate it (a new token in the Secret, workloads restarted, the
old token disabled and deleted later), and stop the operator at every step of a rotation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import NS, condition, eventually, is_ready, secret_data, status
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.kube.config import load_connection_settings
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator, running_operator

pytestmark = FAST_FORWARD


def app_tokens(cloud: CloudEmulator, *, enabled_only: bool = False) -> dict[str, Any]:
    """The demo application's tokens as the cloud holds them (but the demo state's own two)."""
    return {tid: t for tid, t in cloud.state.tokens.items()
            if t.application_id == "app_demo" and not tid.startswith("token_demo")
            and (t.status == "enabled" or not enabled_only)}


def event_count(kube: KubernetesEmulator, name: str, reason: str) -> int:
    """How many times an Event was posted (repeats of one message bump its count)."""
    return sum(int(e.get("count") or 1) for e in scenario.events(kube, name) if e["reason"] == reason)


def renewal(strategy: str, **fields: str) -> dict[str, Any]:
    return {"strategy": strategy, **fields}


def renewals(strategy: str, result: str = "success") -> float:
    value = metrics.TOKEN_RENEWALS_TOTAL.labels(strategy=strategy, result=result)._value.get()
    return float(value)


async def watch_secret(kube: KubernetesEmulator, clock: LoopClock, cloud: CloudEmulator, name: str,
                       duration: timedelta, step: float, check: Callable[[dict[str, str]], None]) -> set[str]:
    """Look at the Secret every ``step`` seconds for ``duration``; returns the values seen."""
    seen: set[str] = set()
    end = clock.now() + duration
    while clock.now() < end:
        await asyncio.sleep(step)
        data = secret_data(kube, name)
        assert data is not None
        seen.add(data["token"])
        check(data)
    return seen


def valid_in_cloud(cloud: CloudEmulator, clock: LoopClock) -> Callable[[dict[str, str]], None]:
    """The Secret's token is one the cloud would accept now: it exists, is enabled, has not expired."""
    def check(data: dict[str, str]) -> None:
        live = [t for t in cloud.state.tokens.values() if t.value == data["token"]]
        assert live, "the Secret holds a token the cloud no longer has"
        token = live[0]
        assert token.status == "enabled", f"the Secret holds disabled token {token.application_token_id}"
        assert token.expiration_time is not None and token.expiration_time > clock.now(), \
            f"the Secret holds token {token.application_token_id}, expired at {token.expiration_time}"
    return check


async def test_extend_keeps_one_value_valid_for_days_with_one_update_per_renewal(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_ext", lifetime=timedelta(hours=1))
    value = cloud.token_value("token_ext")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_ext"))
    await eventually(is_ready(kube, "svc"))
    before = renewals("Extend")
    seen = await watch_secret(kube, clock, cloud, "svc", timedelta(hours=12), 120, valid_in_cloud(cloud, clock))
    assert seen == {value}  # the same value all along: nothing to restart
    updates = cloud.calls("UpdateApplicationTokenExpirationTime")
    # A 1 h lifetime renewed a third before expiry: one extension every ~40 min.
    assert 16 <= updates <= 20, updates
    assert renewals("Extend") - before == updates
    assert cloud.calls("CreateApplicationToken") == 0
    st = status(kube, "svc")
    live = cloud.token("token_ext")
    assert st["applicationTokenId"] == "token_ext"
    assert st["renewalLifetime"] == "1h"
    assert parse_rfc3339(st["expirationTime"]) == live.expiration_time.replace(microsecond=0)
    assert secret_data(kube, "svc")["expiresAt"] == st["expirationTime"]  # type: ignore[index]
    assert parse_rfc3339(st["lastRenewalTime"]) is not None
    assert "Extended" in scenario.event_reasons(kube, "svc")
    assert "TokenExpiring" not in scenario.event_reasons(kube, "svc")


async def test_extend_uses_the_lifetime_the_spec_names(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_ext", lifetime=timedelta(days=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_ext",
                                           renewal=renewal("Extend", lifetime="2160h")))
    await eventually(is_ready(kube, "svc"))
    await asyncio.sleep(timedelta(hours=20).total_seconds())
    live = cloud.token("token_ext")
    assert live.expiration_time is not None
    # Renewed at a third of 90 days before expiry: at once, since 1 day < 30 days; then not again.
    assert timedelta(days=89) < live.expiration_time - clock.now() <= timedelta(days=90)
    assert cloud.calls("UpdateApplicationTokenExpirationTime") == 1


async def test_rotate_replaces_the_token_restarts_workloads_and_retires_the_old_one(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_rot", lifetime=timedelta(hours=1))
    first = cloud.token_value("token_rot")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("api"))
    kube.create(scenario.application_token(
        "svc", token_id="token_rot", renewal=renewal("Rotate", retireAfter="5m"),
        rolloutRestartTargets=[{"kind": "Deployment", "name": "api"}]))
    await eventually(is_ready(kube, "svc"))
    assert secret_data(kube, "svc")["token"] == first  # type: ignore[index]

    def at_most_two_enabled(data: dict[str, str]) -> None:
        valid_in_cloud(cloud, clock)(data)
        assert len(app_tokens(cloud, enabled_only=True)) <= 2

    seen = await watch_secret(kube, clock, cloud, "svc", timedelta(hours=5), 30, at_most_two_enabled)
    creates = cloud.calls("CreateApplicationToken")
    assert 6 <= creates <= 8, creates  # one rotation every ~40 min
    assert len(seen) == creates + 1  # every rotation put its new value in the Secret
    st = status(kube, "svc")
    current = st["applicationTokenId"]
    assert current != "token_rot" and st["specApplicationTokenId"] == "token_rot"
    # Every replaced token was retired (deleted) 5 min after its successor's restart; only the
    # current one (and at most the one it just replaced) is left.
    left = set(app_tokens(cloud))
    assert current in left and len(left) <= 2, left
    assert "token_rot" not in left
    assert [e["applicationTokenId"] for e in st.get("retiringTokens") or []] == sorted(left - {current})
    assert event_count(kube, "svc", "Rotated") == creates
    assert event_count(kube, "svc", "Retired") >= creates - 1
    assert event_count(kube, "svc", "RolloutRestarted") == creates
    deployment = kube.get("apps/v1", "deployments", NS, "api")
    assert deployment is not None


async def test_rotate_without_a_token_id_creates_the_first_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    scenario.standard_cluster(kube, cloud)
    resource = scenario.application_token("svc", renewal=renewal("Rotate", lifetime="720h"))
    del resource["spec"]["applicationTokenId"]
    before = set(app_tokens(cloud))
    kube.create(resource)
    await eventually(is_ready(kube, "svc"))
    created = set(app_tokens(cloud)) - before
    assert len(created) == 1 and cloud.calls("CreateApplicationToken") == 1
    token_id = created.pop()
    assert status(kube, "svc")["applicationTokenId"] == token_id
    assert secret_data(kube, "svc")["token"] == cloud.token_value(token_id)  # type: ignore[index]
    live = cloud.token(token_id)
    assert live.expiration_time is not None
    assert timedelta(days=30) <= live.expiration_time - clock.now() <= timedelta(days=30, seconds=2)
    assert "Rotated" in scenario.event_reasons(kube, "svc")


async def test_none_reads_only_and_warns_then_reports_expiry_keeping_the_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_ro", lifetime=timedelta(hours=1))
    value = cloud.token_value("token_ro")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_ro", renewal=renewal("None")))
    await eventually(is_ready(kube, "svc"))
    await asyncio.sleep(timedelta(hours=1, minutes=5).total_seconds())
    assert cloud.calls("UpdateApplicationTokenExpirationTime") == 0
    assert cloud.calls("CreateApplicationToken") == 0
    ready = condition(kube, "svc")
    assert (ready["status"], ready["reason"]) == ("False", "TokenExpired")
    assert "renewal.strategy is None" in ready["message"]
    reasons = scenario.event_reasons(kube, "svc")
    assert reasons.count("TokenExpiring") == 1 and "TokenExpired" in reasons
    assert secret_data(kube, "svc")["token"] == value  # type: ignore[index]


@pytest.mark.parametrize("expired_read", ["ok", "error"])
async def test_a_token_that_expired_while_the_operator_was_away_is_renewed(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Any, clock: LoopClock, expired_read: str
) -> None:
    """What ObtainApplicationToken answers for an expired token is undocumented: a 200 with the
    past time, or an error. Either way Extend and Rotate bring the Secret back to a valid token."""
    cloud.state.expired_token_read = expired_read  # type: ignore[assignment]
    cloud.add_token("token_e", lifetime=timedelta(hours=1))
    cloud.add_token("token_r", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("ext", token_id="token_e"))
    kube.create(scenario.application_token("rot", token_id="token_r", renewal=renewal("Rotate")))
    connection = load_connection_settings(str(kubeconfig))
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(is_ready(kube, "ext"))
        await eventually(is_ready(kube, "rot"))
    await asyncio.sleep(timedelta(hours=2).total_seconds())  # the operator is down; both expire
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(lambda: secret_data(kube, "ext")["expiresAt"] > clock.now().isoformat()[:19])  # type: ignore[index]
        await eventually(is_ready(kube, "ext"))
        await eventually(is_ready(kube, "rot"))
        for name in ("ext", "rot"):
            valid_in_cloud(cloud, clock)(secret_data(kube, name) or {})
    assert status(kube, "rot")["applicationTokenId"] != "token_r"
    assert status(kube, "ext")["applicationTokenId"] == "token_e"


async def test_a_missing_permission_names_the_ram_action_and_keeps_ready_while_the_token_is_valid(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_p", lifetime=timedelta(hours=3))
    scenario.standard_cluster(kube, cloud)
    key = cloud.state.access_keys[scenario.AK_ID]
    key.allowed_actions = ["eiam:ObtainApplicationToken"]
    kube.create(scenario.application_token("svc", token_id="token_p"))
    await eventually(is_ready(kube, "svc"))
    await asyncio.sleep(timedelta(hours=2, minutes=5).total_seconds())  # past the renewal moment
    ready = condition(kube, "svc")
    assert ready["status"] == "True"
    assert "eiam:UpdateApplicationTokenExpirationTime" in ready["message"]
    assert "RenewalFailed" in scenario.event_reasons(kube, "svc")
    failures = [e for e in scenario.events(kube, "svc") if e["reason"] == "RenewalFailed"]
    assert "eiam:UpdateApplicationTokenExpirationTime" in failures[0]["message"]
    assert renewals("Extend", "AccessDenied") >= 1
    # Retried with backoff, not in a loop: a few attempts before expiry, not hundreds.
    attempts = cloud.calls("UpdateApplicationTokenExpirationTime")
    assert 2 <= attempts <= 12, attempts
    key.allowed_actions = ["*"]  # the admin grants it: the next attempt renews
    await asyncio.sleep(timedelta(minutes=30).total_seconds())
    live = cloud.token("token_p")
    assert live.expiration_time is not None and live.expiration_time - clock.now() > timedelta(hours=2)
    assert "renewal failed" not in condition(kube, "svc")["message"]


async def test_two_resources_rotating_one_token_do_not_fight(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_shared", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("first", token_id="token_shared", renewal=renewal("Rotate")))
    await eventually(is_ready(kube, "first"))
    await asyncio.sleep(1)
    kube.create(scenario.application_token("second", token_id="token_shared"))
    await eventually(scenario.has_reason(kube, "second", "InvalidSpec"))
    assert "ApplicationToken demo/first" in condition(kube, "second")["message"]
    await asyncio.sleep(timedelta(hours=3).total_seconds())
    assert is_ready(kube, "first")()
    assert cloud.calls("CreateApplicationToken") >= 3
    # The refused one never renewed anything, and its Secret was never written.
    assert secret_data(kube, "second") is None
    # Deleting the first lets the second go ahead (it names a token that no longer exists, though).
    kube.delete(scenario.API, "applicationtokens", NS, "first")
    await eventually(lambda: condition(kube, "second").get("reason") != "InvalidSpec")


async def test_a_spec_edit_to_another_token_retires_only_what_tokensync_created(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    cloud.add_token("token_a", lifetime=timedelta(hours=1))
    cloud.add_token("token_b", lifetime=timedelta(days=30))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_a", renewal=renewal("Rotate", retireAfter="1m")))
    await eventually(is_ready(kube, "svc"))
    await asyncio.sleep(timedelta(minutes=45).total_seconds())  # one rotation: token_a replaced and retired
    rotated = status(kube, "svc")["applicationTokenId"]
    assert rotated not in ("token_a", "token_b")
    kube.patch(scenario.API, "applicationtokens", NS, "svc", {"spec": {"applicationTokenId": "token_b"}})
    await eventually(lambda: status(kube, "svc").get("applicationTokenId") == "token_b")
    await eventually(lambda: secret_data(kube, "svc")["token"] == cloud.token_value("token_b"))  # type: ignore[index]
    await asyncio.sleep(timedelta(minutes=5).total_seconds())
    left = set(app_tokens(cloud))
    assert "token_b" in left and rotated not in left  # created by tokensync, replaced by the edit: retired


def _unused(_: datetime) -> None:
    return None


@pytest.mark.parametrize(("retire", "left_status"), [("Delete", None), ("Disable", "disabled"), ("Keep", "enabled")])
async def test_the_replaced_token_is_retired_as_the_spec_says(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, retire: str,
    left_status: str | None,
) -> None:
    cloud.add_token("token_old", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_old",
                                           renewal=renewal("Rotate", retire=retire, retireAfter="10m")))
    await eventually(is_ready(kube, "svc"))
    await eventually(lambda: status(kube, "svc").get("applicationTokenId") != "token_old",
                     timeout=timedelta(minutes=45).total_seconds(), step=1)
    rotated_at = clock.now()
    # Held for retireAfter after the new value is in the Secret (no restart targets here).
    entry = (status(kube, "svc").get("retiringTokens") or [{}])[0]
    assert entry.get("applicationTokenId") == "token_old"
    retire_at = parse_rfc3339(entry.get("retireAt"))
    assert retire_at is not None and timedelta(minutes=9) < retire_at - rotated_at <= timedelta(minutes=10, seconds=2)
    await asyncio.sleep(timedelta(minutes=9).total_seconds())
    assert cloud.token("token_old").status == "enabled"  # still in its grace
    await asyncio.sleep(timedelta(minutes=2).total_seconds())
    left = app_tokens(cloud).get("token_old")
    assert (left.status if left else None) == left_status
    assert "retiringTokens" not in status(kube, "svc")
    retired = [e["message"] for e in scenario.events(kube, "svc") if e["reason"] == "Retired"]
    assert retired and "token_old" in retired[0]


# Found by the 1,000-token soak: before each rotation the tokens still retiring are retired. A
# Disable that timed out was retried in the call (3 x 10 s), which put the create of a 2-minute
# token past the expiry of the one in the Secret.
class _HangingRetirements:
    """A cloud whose Disable never answers in time: it records each call and how often it may be tried."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    async def disable_application_token(self, *, application_token_id: str, once: bool = False,
                                        **_ids: str) -> None:
        from tokensync.cloud.errors import CloudUnavailableError

        self.calls.append((application_token_id, once))
        raise CloudUnavailableError(code="RequestTimeout", message="no answer within 10 s")


async def test_a_retirement_before_a_rotation_is_tried_once_and_then_backs_off() -> None:
    from tokensync.controllers.renewal_policy import Retiring
    from tokensync.controllers.token_renewal import TokenRenewal

    cloud = _HangingRetirements()
    renewal = TokenRenewal(cloud, instance_id="idaas_demo", application_id="app_demo")  # type: ignore[arg-type]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [Retiring("token_a", now), Retiring("token_b", now)]
    recorded: list[Any] = []

    async def record(fields: Any) -> None:
        recorded.append(fields)

    async def ignore(_value: Any) -> None:
        return None

    async def rotation_at(moment: datetime, pending: list[Retiring]) -> list[Retiring]:
        return await renewal.retire_all(pending, how="Delete", record=record, current="token_c", announce=ignore,
                                        held=set(), now=moment)

    left = await rotation_at(now, entries)
    assert cloud.calls == [("token_a", True), ("token_b", True)], "one attempt each, no retries"
    assert [(e.attempts, e.retire_at) for e in left] == [(1, now + timedelta(minutes=1))] * 2
    assert recorded, "the refusals are recorded in status: a restart does not try again before the create"
    await rotation_at(now + timedelta(seconds=30), left)
    assert len(cloud.calls) == 2, "a rotation soon after is not held up by tokens backing off"
    await rotation_at(now + timedelta(minutes=40), left)
    assert len(cloud.calls) == 4, "the next rotation tries them again: at most two enabled tokens"


async def test_retirements_that_time_out_before_a_rotation_never_let_a_short_token_expire(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    """Found by the soak: a 2-minute token renewed 30 s before expiry, whose replaced tokens the
    cloud would not disable (each Disable timing out after 10 s). The retirements before every
    create ran one after another and the new token's ExpirationTime was counted from before them,
    so the Secret held an expired token for 17 s while the cloud answered every read and create.
    Retirements before a create get a bounded share of the time left, all at once, and the new
    token's lifetime counts from its create. Then the retries of a refused retirement (between
    renewals) retried each Disable inside the call, 30 s and more, and held up the renewal read
    past the expiry: one attempt each now, never past the next read."""
    cloud.add_token("token_rot", lifetime=timedelta(minutes=2))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(
        "svc", token_id="token_rot", renewal=renewal("Rotate", retire="Delete", retireAfter="1h"),
        refresh={"renewBefore": "30s"}))
    await eventually(is_ready(kube, "svc"))
    cloud.inject_fault(action="DisableApplicationToken", latency_ms=12_000)  # never answers in time
    try:
        seen = await watch_secret(kube, clock, cloud, "svc", timedelta(minutes=30), 1, valid_in_cloud(cloud, clock))
    finally:
        cloud.clear_faults()
        await asyncio.sleep(30)  # the Disables held by the fault end here, in fast-forwarded time
    assert len(seen) >= 5  # it kept rotating every ~90 s
    for token in app_tokens(cloud).values():
        if token.status == "enabled" and token.expiration_time is not None:
            # Every token made lives its full two minutes (from its create, on the cloud's clock).
            assert token.expiration_time - token.create_time >= timedelta(minutes=2) - timedelta(seconds=1)


async def test_a_retirement_cut_short_by_its_budget_says_what_got_no_answer() -> None:
    """Found by review: an attempt abandoned at its budget was reported as a bare "no answer in
    time", without the token, the calls or how long tokensync waited."""
    from tokensync.cloud.errors import CloudUnavailableError
    from tokensync.controllers.renewal_policy import Retiring
    from tokensync.controllers.token_renewal import TokenRenewal

    class _Silent:
        async def disable_application_token(self, **_ids: Any) -> None:
            await asyncio.sleep(3600)

    renewal = TokenRenewal(_Silent(), instance_id="idaas_demo", application_id="app_demo")  # type: ignore[arg-type]
    [outcome] = await renewal.attempt_retirements([Retiring("token_old", None)], how="Delete",
                                                  budget=timedelta(seconds=10))
    assert isinstance(outcome, CloudUnavailableError)
    assert outcome.code == "RequestTimeout"
    assert "token_old" in str(outcome) and "10s" in str(outcome) and "Disable, then Delete" in str(outcome)
