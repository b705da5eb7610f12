"""Renewal edge cases a maintainer's review reproduced on the emulators, kept as regressions:
a refused retirement retried in a loop, a lost create finished although the spec changed, a
current token retired after a spec edit back, a token taken over from another namespace, the
token limit deleting a token another resource holds, a renewal margin that loops, and a renewal
lifetime measured on a token the spec no longer names."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.faults import test_rotation_crashes as crashes
from tests.faults.test_rotation_crashes import (
    API,
    CREATE,
    DISABLE,
    NS,
    condition,
    eventually,
    is_ready,
    retiring_ids,
    rotating,
    secret_data,
    setup,
    status,
)
from tokensync.clock import LoopClock
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD
rig = crashes.rig  # the fixture that hooks both emulators (test_rotation_crashes.Rig)

# --- a retirement the cloud refuses is retried in a hot loop (the overdue retireAt wins over
# RETIRE_RETRY), burning the client's whole EIAM rate budget and posting an Event per attempt.

async def test_a_refused_retirement_is_retried_with_backoff(kube, cloud, operator, clock, rig) -> None:
    setup(kube, cloud, rotating(target=False, retire_after=timedelta(minutes=1)))
    key = cloud.state.access_keys[scenario.AK_ID]
    key.allowed_actions = ["eiam:ObtainApplicationToken", "eiam:CreateApplicationToken",
                           "eiam:ListApplicationTokens", "eiam:DeleteApplicationToken"]  # no Disable
    await eventually(is_ready(kube, "svc"))
    await eventually(lambda: retiring_ids(kube) == ["token_rot"], timeout=3600, step=5)
    await eventually(lambda: cloud.calls(DISABLE) > 0, timeout=600, step=1)
    before = cloud.calls(DISABLE)
    await asyncio.sleep(timedelta(minutes=3).total_seconds())
    attempts = cloud.calls(DISABLE) - before
    events = sum(int(e.get("count") or 1) for e in scenario.events(kube, "svc") if e["reason"] == "RenewalFailed")
    print(f"{attempts} refused DisableApplicationToken calls and {events} RenewalFailed events in 3 minutes")
    assert attempts <= 4, f"{attempts} refused DisableApplicationToken calls in 3 minutes (RETIRE_RETRY is 1 min)"


# --- a lost create answer (pendingRotation) forces a rotation whatever the spec now says.

async def _lose_a_create_then(kube, cloud, rig, patch):
    setup(kube, cloud, rotating(target=False))
    await eventually(is_ready(kube, "svc"))

    def refuse_and_edit() -> bool:
        kube.patch(API, "applicationtokens", NS, "svc", patch)
        return True  # the create is answered 503: not carried out, outcome unknown

    rig.on(f"cloud {CREATE} before", do=refuse_and_edit)
    # The create is recorded (pendingRotation), refused, and (the spec having changed) given up on.
    await eventually(lambda: bool(status(kube, "svc").get("pendingRotation") or status(kube, "svc").get(
        "unsettledCreates")) or rig.created or cloud.calls(CREATE) > 0, timeout=3600, step=1)


async def test_switching_to_none_while_a_create_answer_is_lost_still_creates_and_retires(
    kube, cloud, operator, clock, rig,
) -> None:
    await _lose_a_create_then(kube, cloud, rig, {"spec": {"renewal": {"strategy": "None"}}})
    await asyncio.sleep(timedelta(minutes=20).total_seconds())
    st = status(kube, "svc")
    print("created:", rig.created_ids(), "retired:", rig.retired, "status token:", st.get("applicationTokenId"))
    print("Ready:", condition(kube, "svc"))
    assert rig.created == [], f"renewal.strategy None, yet tokensync created {rig.created_ids()}"
    assert "token_rot" not in rig.retired, f"renewal.strategy None, yet tokensync retired token_rot: {rig.retired}"


async def test_pointing_at_another_token_while_a_create_answer_is_lost_rotates_and_retires_it(
    kube, cloud, operator, clock, rig,
) -> None:
    cloud.add_token("token_mine", lifetime=timedelta(days=30), application_id="app_rot")
    await _lose_a_create_then(kube, cloud, rig, {"spec": {"applicationTokenId": "token_mine"}})
    await asyncio.sleep(timedelta(minutes=20).total_seconds())
    st = status(kube, "svc")
    print("created:", rig.created_ids(), "retired:", rig.retired, "status:", st.get("applicationTokenId"),
          st.get("retiringTokens"))
    assert st.get("applicationTokenId") == "token_mine", \
        f"the user pointed the spec at token_mine (30 days left); status holds {st.get('applicationTokenId')}"
    assert "token_mine" not in rig.retired, f"token_mine, named by the user, was retired: {rig.retired}"


# --- A spec edit back to a token still in retiringTokens: it becomes current again, yet stays
# scheduled for retirement, and is disabled and deleted while the Secret holds it.

async def test_reverting_the_spec_to_a_retiring_token_retires_the_current_token(kube, cloud, operator, clock) -> None:
    cloud.add_token("token_a", lifetime=timedelta(hours=1))
    cloud.add_token("token_b", lifetime=timedelta(days=30))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_a",
                                           renewal={"strategy": "Rotate", "retireAfter": "30m"}))
    await eventually(is_ready(kube, "svc"))
    await eventually(lambda: status(kube, "svc").get("applicationTokenId") != "token_a", timeout=3600, step=5)
    cloud.set_token_expiration("token_a", clock.now() + timedelta(days=30))  # a person keeps token_a alive
    kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"applicationTokenId": "token_b"}})
    await eventually(lambda: status(kube, "svc").get("applicationTokenId") == "token_b")
    await asyncio.sleep(60)
    kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"applicationTokenId": "token_a"}})  # revert
    await eventually(lambda: (secret_data(kube, "svc") or {}).get("token") == cloud.token_value("token_a"))
    print("after the revert: current", status(kube, "svc").get("applicationTokenId"),
          "retiring", status(kube, "svc").get("retiringTokens"))
    await asyncio.sleep(timedelta(minutes=40).total_seconds())
    live = cloud.state.tokens.get("token_a")
    print("token_a:", live and live.status, "| Ready:", condition(kube, "svc"))
    held = (secret_data(kube, "svc") or {}).get("token")
    assert live is not None and held == live.value and live.status == "enabled", \
        "tokensync retired token_a while it was the current token in the Secret"


# --- the claim on a cloud token goes to the older resource, not to the one that held it first:
# an older resource in another namespace edited to name a working resource's token takes it over.

async def test_an_older_resource_in_another_namespace_takes_over_a_token_by_a_spec_edit(
    kube, cloud, operator, clock,
) -> None:
    cloud.add_token("token_a", lifetime=timedelta(hours=1))
    cloud.add_token("token_b", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.namespace("team-a"))
    kube.create(scenario.namespace("team-b"))
    kube.create(scenario.application_token("a", token_id="token_a", namespace="team-a",
                                           renewal={"strategy": "Rotate", "retireAfter": "1m"}))
    await eventually(is_ready(kube, "a", namespace="team-a"))
    await asyncio.sleep(1)
    kube.create(scenario.application_token("b", token_id="token_b", namespace="team-b"))  # Extend
    await eventually(is_ready(kube, "b", namespace="team-b"))
    value_b = cloud.token_value("token_b")
    await asyncio.sleep(300)
    # team-a (its resource is one second older) points at team-b's token:
    kube.patch(API, "applicationtokens", "team-a", "a", {"spec": {"applicationTokenId": "token_b"}})
    await asyncio.sleep(timedelta(hours=2).total_seconds())
    a, b = condition(kube, "a", namespace="team-a"), condition(kube, "b", namespace="team-b")
    print("A:", a.get("status"), a.get("reason"), a.get("message"))
    print("B:", b.get("status"), b.get("reason"), b.get("message"))
    print("token_b in the cloud:", cloud.state.tokens.get("token_b"))
    assert cloud.state.tokens.get("token_b") is not None, "team-a's resource deleted team-b's token"
    assert (secret_data(kube, "b", namespace="team-b") or {}).get("token") == value_b
    assert b.get("status") == "True", f"team-b's resource, which held token_b first, was refused: {b}"


# --- at the token limit, tokensync deletes the tokens a resource replaced (retiredTokens,
# retiringTokens) without asking whether another resource now holds one: here team-b's Secret.

APP = "app_rot"


async def test_the_token_limit_makes_a_rotation_delete_a_kept_token_another_namespace_uses(
    kube, cloud, operator, clock,
) -> None:
    cloud.add_instance("idaas_demo", [APP])
    cloud.add_token("token_rot", lifetime=timedelta(hours=1), application_id=APP)
    cloud.state.max_tokens_per_application = 3
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.namespace("team-b"))
    kube.create(scenario.application_token("a", token_id="token_rot", applicationId=APP,
                                           renewal={"strategy": "Rotate", "retire": "Keep", "retireAfter": "1m"}))
    await eventually(is_ready(kube, "a"))
    await eventually(lambda: status(kube, "a").get("applicationTokenId") not in (None, "token_rot"),
                     timeout=3600, step=10)
    kept = status(kube, "a")["applicationTokenId"]
    await eventually(lambda: status(kube, "a").get("applicationTokenId") != kept, timeout=3600, step=10)
    await eventually(lambda: any(r.get("applicationTokenId") == kept
                                 for r in status(kube, "a").get("retiredTokens") or []), timeout=600, step=10)
    # retire: Keep left `kept` enabled; team-b starts using it (Extend): nothing refuses that.
    kube.create(scenario.application_token("b", token_id=kept, namespace="team-b", applicationId=APP))
    await eventually(is_ready(kube, "b", namespace="team-b"))
    value = cloud.token_value(kept)
    await asyncio.sleep(timedelta(hours=1).total_seconds())  # a's next rotation meets the limit
    print("quota refusals:", cloud.answers("CreateApplicationToken", "QuotaExceeded.ApplicationToken"),
          "| b:", condition(kube, "b", namespace="team-b"))
    assert cloud.answers("CreateApplicationToken", "QuotaExceeded.ApplicationToken") >= 1
    assert cloud.state.tokens.get(kept) is not None, (
        f"{kept}, held by team-b/b's Secret, was deleted by team-a... demo/a's rotation at the token limit")
    assert (secret_data(kube, "b", namespace="team-b") or {}).get("token") == value


# --- A renewBefore just under the renewal lifetime passes the margin check, and every renewal is
# due again seconds later: a renewal loop held only by min_interval (5 s).

@pytest.mark.parametrize("strategy", ["Extend", "Rotate"])
async def test_renew_before_close_to_the_lifetime_is_refused_not_looped(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, strategy: str
) -> None:
    cloud.add_token("token_l", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_l", refresh={"renewBefore": "59m55s"},
                                           renewal={"strategy": strategy, "lifetime": "1h", "retireAfter": "1s"}))
    await eventually(scenario.has_reason(kube, "svc", "InvalidSpec"))
    await asyncio.sleep(600)
    renewals = cloud.calls("UpdateApplicationTokenExpirationTime") + cloud.calls("CreateApplicationToken")
    assert renewals == 0, f"{strategy}: {renewals} renewals in 10 minutes of a 1h lifetime (renewBefore 59m55s)"
    assert "renewBefore" in condition(kube, "svc")["message"]


# --- status.renewalLifetime, recorded from the first token read, outlives a spec edit to another
# token: the new token is renewed by the old token's lifetime, not by its own (PRODUCT default).

async def test_a_spec_edit_to_a_short_lived_token_extends_it_by_the_old_tokens_lifetime(
    kube, cloud, operator, clock,
) -> None:
    cloud.add_token("token_long", lifetime=timedelta(days=30))
    cloud.add_token("token_short", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_long"))  # Extend, no lifetime
    await eventually(is_ready(kube, "svc"))
    assert status(kube, "svc")["renewalLifetime"] == "720h"
    kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"applicationTokenId": "token_short"}})
    await eventually(lambda: status(kube, "svc").get("applicationTokenId") == "token_short")
    await asyncio.sleep(timedelta(hours=2).total_seconds())
    left = cloud.token("token_short").expiration_time - clock.now()
    print("renewalLifetime:", status(kube, "svc").get("renewalLifetime"), "token_short now expires in", left)
    assert left <= timedelta(hours=1), (
        f"token_short (its own lifetime 1h) was extended to {left} from now: by token_long's lifetime "
        f"(status.renewalLifetime {status(kube, 'svc').get('renewalLifetime')})")
