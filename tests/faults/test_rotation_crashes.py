"""Crash safety of Rotate, proven on the emulators: the operator is stopped at every step of a
rotation, the create's answer is lost every way it can be, and the user must never notice.

What "never notice" means, checked after every restart and all along (``Rig`` watches every
renewal call the cloud carries out and every request the API server gets):

- the Secret always holds a token the cloud accepts (it exists, is enabled and has not expired);
- every token tokensync created is the resource's current one (``status.applicationTokenId``),
  or is listed in ``status.retiringTokens`` and retired on schedule (``retireAfter`` after the
  rollout restart: deleted or disabled as ``retire`` says); none is left behind untracked;
- exactly one token is created per rotation: a lost answer is recovered by listing, never by a
  second create;
- never more than two enabled tokens of the resource's application at any moment, and never a
  retirement of the token a Secret holds;
- the rollout restart happens once per rotation, after the new value is in the Secret.

How the operator is stopped at a precise point: ``Rig.crash_at`` names a sequence of requests
(cloud actions before or after the cloud carried them out, Kubernetes requests as they arrive).
When the last one is seen, every task the operator runs is cancelled at once, as if its process
died there (a request arriving at that moment is refused, so it is not carried out), and the test
starts a new operator. Without a crash, the same hooks lose an answer (broken body, timeout, a
failed status write) while the operator keeps running.

Time is fast-forwarded (looptime): each test covers an hour or more of a 1 h token rotated at
about 40 min, in about a second of real time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import API, NS, condition, eventually, is_ready, secret_data, status
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.cloud import app as cloud_app
from tokensync.emulators.cloud.context import CallContext
from tokensync.emulators.cloud.errors import ApiError as CloudApiError
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError as KubeApiError
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, running_operator

pytestmark = FAST_FORWARD

INSTANCE, APP = "idaas_demo", "app_rot"  # an application of its own: every token in it is the test's
CREATE, LIST = "CreateApplicationToken", "ListApplicationTokens"
DISABLE, DELETE = "DisableApplicationToken", "DeleteApplicationToken"
RETIRE_AFTER = timedelta(minutes=5)
RETIRE_SLACK = timedelta(minutes=2)  # a retirement retried once (1 min) and the work of a restart
LIFETIME = timedelta(hours=1)  # rotated at about 40 min (a third before expiry, less the jitter)


def status_path(name: str) -> str:
    return f"/apis/{API}/namespaces/{NS}/applicationtokens/{name}/status$"


def secret_path(name: str) -> str:
    return f"/api/v1/namespaces/{NS}/secrets/{name}$"


DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/api$"


# --- the rig: every renewal call and API request seen, crashes where told --------------------------


@dataclasses.dataclass(frozen=True)
class Created:
    token_id: str
    expiration_ms: int
    at: datetime


@dataclasses.dataclass
class Trap:
    steps: list[str]  # regular expressions over events, seen in this order; the last springs the trap
    action: Callable[[], bool]  # True: refuse the request that sprang it (it is not carried out)


class Rig:
    """Records what the cloud carries out, checks the invariants at each change, and springs traps.

    Events: ``cloud <Action> before`` / ``cloud <Action> after`` (around the emulated action, for
    the token actions of Rotate) and ``kube <METHOD> <path>`` (as a request arrives)."""

    def __init__(self, kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock,
                 monkeypatch: pytest.MonkeyPatch, *, max_enabled: int | None = 2) -> None:
        self.kube, self.cloud, self.clock = kube, cloud, clock
        self.max_enabled = max_enabled
        self.created: list[Created] = []
        self.retired: dict[str, list[tuple[str, datetime]]] = {}  # token id -> [(action, when)]
        self.problems: list[str] = []
        self.traps: list[Trap] = []
        self.crashed = asyncio.Event()
        for action in (CREATE, LIST, DISABLE, DELETE):
            original = cloud_app.OPERATIONS[action]
            monkeypatch.setitem(cloud_app.OPERATIONS, action,
                                dataclasses.replace(original, handler=self._cloud_handler(action, original.handler)))
        take = kube.faults.take

        def take_with_traps(method: str, path: str) -> KubeApiError | None:
            if self.event(f"kube {method} {path}"):
                return KubeApiError(503, "ServiceUnavailable", "the operator stopped before this request was made")
            return take(method, path)

        monkeypatch.setattr(kube.faults, "take", take_with_traps)

    # ---- traps ----

    def on(self, *steps: str, do: Callable[[], bool]) -> None:
        self.traps.append(Trap(list(steps), do))

    def crash_at(self, operator: Operator, *steps: str) -> None:
        """Stop ``operator`` dead when ``steps`` have been seen in order."""
        self.crashed.clear()

        def crash() -> bool:
            for task in asyncio.all_tasks():
                if operator.owns(task):
                    task.cancel()
            self.crashed.set()
            return True

        self.on(*steps, do=crash)

    def event(self, event: str) -> bool:
        refuse = False
        for trap in list(self.traps):
            if re.search(trap.steps[0], event):
                trap.steps.pop(0)
                if not trap.steps:
                    self.traps.remove(trap)
                    refuse = trap.action() or refuse
        return refuse

    # ---- the cloud ----

    def _cloud_handler(self, action: str,
                       original: Callable[[CallContext], dict[str, Any]]) -> Callable[[CallContext], dict[str, Any]]:
        def handler(ctx: CallContext) -> dict[str, Any]:
            if self.event(f"cloud {action} before"):
                raise CloudApiError(503, "ServiceUnavailable", "the operator stopped before this call was made")
            token_id = ctx.params.get("ApplicationTokenId", "")
            if action in (DISABLE, DELETE):
                self._check_retirable(action, token_id)
            answer = original(ctx)
            now = self.clock.now()
            if action == CREATE:
                created = answer["ApplicationTokens"]["ApplicationTokenId"]
                self.created.append(Created(created, int(ctx.params["ExpirationTime"]), now))
                self._check_enabled(created)
            elif action in (DISABLE, DELETE):
                self.retired.setdefault(token_id, []).append((action, now))
            self.event(f"cloud {action} after")
            return answer
        return handler

    def _check_enabled(self, created: str) -> None:
        enabled = [t.application_token_id for t in self.cloud.state.application_tokens(INSTANCE, APP)
                   if t.status == "enabled"]
        if self.max_enabled is not None and len(enabled) > self.max_enabled:
            self.problems.append(f"{len(enabled)} enabled tokens once {created} was created: {sorted(enabled)}")

    def _check_retirable(self, action: str, token_id: str) -> None:
        """Never retire a token in use: one a Secret holds or a resource has as current, unless
        that resource is being deleted (its Secret goes with it, or outlives it keeping the token)."""
        token = self.cloud.state.tokens.get(token_id)
        if token is None:
            return
        resources = self.kube.list(API, "applicationtokens", NS)
        deleting = {r["metadata"]["uid"] for r in resources if r["metadata"].get("deletionTimestamp")}
        for secret in self.kube.list("v1", "secrets", NS):
            owners = {o.get("uid") for o in secret["metadata"].get("ownerReferences") or []}
            if owners & deleting:
                continue
            if (secret_data(self.kube, secret["metadata"]["name"]) or {}).get("token") == token.value:
                self.problems.append(f"{action} {token_id} while Secret {secret['metadata']['name']} holds it")
        for resource in resources:
            if resource["metadata"]["uid"] in deleting:
                continue
            if (resource.get("status") or {}).get("applicationTokenId") == token_id:
                self.problems.append(f"{action} {token_id}: it is the current token of {resource['metadata']['name']}")

    # ---- what the cloud holds ----

    def created_ids(self) -> list[str]:
        return [c.token_id for c in self.created]

    def live(self, token_id: str) -> Any:
        return self.cloud.state.tokens.get(token_id)

    def first_retired(self, token_id: str) -> datetime | None:
        moments = [when for _action, when in self.retired.get(token_id, [])]
        return min(moments) if moments else None


@pytest.fixture
def rig(kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock, monkeypatch: pytest.MonkeyPatch) -> Rig:
    return Rig(kube, cloud, clock, monkeypatch)


# --- the cluster ------------------------------------------------------------------------------------


def rotating(name: str = "svc", token_id: str | None = "token_rot", *, retire: str = "Delete",
             retire_after: timedelta = RETIRE_AFTER, target: bool = True, **spec: Any) -> dict[str, Any]:
    renewal = {"strategy": "Rotate", "retire": retire, "retireAfter": f"{int(retire_after.total_seconds())}s"}
    resource = scenario.application_token(name, token_id=token_id or "", applicationId=APP, renewal=renewal, **spec)
    if token_id is None:
        del resource["spec"]["applicationTokenId"]
    if target:
        resource["spec"]["rolloutRestartTargets"] = [{"kind": "Deployment", "name": "api"}]
    return resource


def setup(kube: KubernetesEmulator, cloud: CloudEmulator, *resources: dict[str, Any],
          tokens: tuple[str, ...] = ("token_rot",), default: bool = True) -> None:
    cloud.add_instance(INSTANCE, [APP])
    for token_id in tokens:
        cloud.add_token(token_id, lifetime=LIFETIME, application_id=APP)
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("api"))
    for resource in resources or ((rotating(),) if default else ()):
        kube.create(resource)


@asynccontextmanager
async def an_operator(kubeconfig: Path, clock: LoopClock) -> AsyncIterator[Operator]:
    instance = Operator(load_connection_settings(str(kubeconfig)), clock=clock)
    async with running_operator(instance, settings=operator_settings()):
        yield instance


def restarted_at(kube: KubernetesEmulator) -> datetime | None:
    found = kube.get("apps/v1", "deployments", NS, "api") or {}
    annotations = ((found.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
    return parse_rfc3339(annotations.get("tokensync.dev/restartedAt"))


def restarts(kube: KubernetesEmulator) -> int:
    return kube.write_counts.get(("deployments", "patch"), 0)


def event_count(kube: KubernetesEmulator, name: str, reason: str) -> int:
    return sum(int(e.get("count") or 1) for e in scenario.events(kube, name) if e["reason"] == reason)


def secret_is_valid(kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock, name: str = "svc") -> str:
    """The Secret's token is one the cloud accepts now; its ID."""
    data = secret_data(kube, name)
    assert data is not None, f"Secret {name} is gone"
    live = [t for t in cloud.state.tokens.values() if t.value == data.get("token")]
    assert live, f"Secret {name} holds a token the cloud no longer has"
    token = live[0]
    assert token.status == "enabled", f"Secret {name} holds disabled token {token.application_token_id}"
    assert token.expiration_time is not None and token.expiration_time > clock.now(), \
        f"Secret {name} holds token {token.application_token_id}, expired at {token.expiration_time}"
    return str(token.application_token_id)


def retiring_ids(kube: KubernetesEmulator, name: str = "svc") -> list[str]:
    return [str(e["applicationTokenId"]) for e in status(kube, name).get("retiringTokens") or []]


def untracked(kube: KubernetesEmulator, rig: Rig, names: tuple[str, ...] = ("svc",)) -> list[str]:
    """Tokens tokensync created that still work but that no resource holds or retires."""
    tracked: set[str] = set()
    for name in names:
        tracked.add(str(status(kube, name).get("applicationTokenId")))
        tracked.update(retiring_ids(kube, name))
    return [t for t in rig.created_ids()
            if t not in tracked and rig.live(t) is not None and rig.live(t).status == "enabled"]


async def watch(kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock, duration: timedelta, *,
                names: tuple[str, ...] = ("svc",), step: float = 30.0, ready: bool = True) -> set[str]:
    """Every ``step`` for ``duration``: each Secret holds a valid token (and Ready is True); the IDs seen."""
    seen: set[str] = set()
    end = clock.now() + duration
    while clock.now() < end:
        await asyncio.sleep(step)
        for name in names:
            seen.add(secret_is_valid(kube, cloud, clock, name))
            if ready:
                ready_now = condition(kube, name)
                assert ready_now.get("status") == "True", f"{name} is not Ready: {ready_now}"
    return seen


def rotated(kube: KubernetesEmulator, cloud: CloudEmulator, name: str = "svc",
            original: str = "token_rot") -> Callable[[], bool]:
    """The rotation is finished: a new current token, in the Secret, Ready."""
    def check() -> bool:
        current = status(kube, name).get("applicationTokenId")
        if not current or current == original or current not in cloud.state.tokens:
            return False
        return bool((secret_data(kube, name) or {}).get("token") == cloud.state.tokens[current].value
                    and is_ready(kube, name)() and not status(kube, name).get("pendingRotation"))
    return check


def check_one_rotation(kube: KubernetesEmulator, cloud: CloudEmulator, rig: Rig, *, retire: str = "Delete",
                       original: str = "token_rot") -> None:
    """After one rotation and its retirement: one token made, current, in the Secret; the replaced
    one retired as ``retire`` says, on schedule; the workload restarted once; nothing untracked."""
    assert not rig.problems, rig.problems
    assert len(rig.created) == 1, f"{len(rig.created)} tokens created for one rotation: {rig.created_ids()}"
    current = rig.created[0].token_id
    st = status(kube, "svc")
    assert st.get("applicationTokenId") == current
    assert (secret_data(kube, "svc") or {}).get("token") == cloud.state.tokens[current].value
    assert not st.get("pendingRotation") and not st.get("retiringTokens"), st
    assert untracked(kube, rig) == []
    replaced = rig.live(original)
    if retire == "Delete":
        assert replaced is None, f"the replaced token {original} was not deleted"
    elif retire == "Disable":
        assert replaced is not None and replaced.status == "disabled", f"the replaced token {original} is not disabled"
    # The workload was restarted once, after the new token was made; the old token retired
    # retireAfter later (not before: the old pods may still use it), and not much later.
    assert restarts(kube) == 1, f"{restarts(kube)} rollout restarts for one rotation"
    restarted = restarted_at(kube)
    assert restarted is not None and restarted >= rig.created[0].at.replace(microsecond=0)
    retired = rig.first_retired(original)
    assert retired is not None, f"{original} was never retired"
    assert restarted + RETIRE_AFTER <= retired <= restarted + RETIRE_AFTER + RETIRE_SLACK, (restarted, retired)
    reasons = scenario.event_reasons(kube, "svc")
    assert "Rotated" in reasons and "Retired" in reasons, reasons
    assert condition(kube, "svc")["status"] == "True"


# --- the operator stopped at every step of a rotation ------------------------------------------------

STATUS, SECRET = status_path("svc"), secret_path("svc")
AFTER_CREATE = f"cloud {CREATE} after"
CRASH_POINTS: dict[str, tuple[str, ...]] = {
    # id: the requests seen in order; the operator dies as the last one arrives (or, for "cloud ...
    # after", right after the cloud carried it out, before the operator reads the answer)
    "before-the-create": (f"cloud {CREATE} before",),
    "after-the-create-before-its-answer": (AFTER_CREATE,),
    "before-recording-the-created-token": (AFTER_CREATE, f"kube PATCH {STATUS}"),
    "before-the-secret-write": (AFTER_CREATE, f"kube PATCH {SECRET}"),
    "after-the-secret-write": (AFTER_CREATE, f"kube PATCH {SECRET}", f"kube PATCH {STATUS}"),
    "before-the-rollout-restart": (AFTER_CREATE, f"kube PATCH {DEPLOYMENT_PATH}"),
    "after-the-rollout-restart": (f"kube PATCH {DEPLOYMENT_PATH}", f"kube PATCH {STATUS}"),
    "before-scheduling-the-retirement": (f"kube PATCH {DEPLOYMENT_PATH}", f"kube PATCH {STATUS}",
                                         f"kube PATCH {STATUS}"),
    "before-the-retirement": (f"cloud {DISABLE} before",),
    "between-disable-and-delete": (f"cloud {DELETE} before",),
    "after-the-retirement": (f"cloud {DELETE} after",),
    "after-the-disable": (f"cloud {DISABLE} after",),  # with retire: Disable, the last cloud call
}
CRASH_CASES = [(point, "Delete") for point in CRASH_POINTS if point != "after-the-disable"] + [
    ("before-the-retirement", "Disable"), ("after-the-disable", "Disable"), ("before-the-create", "Disable"),
]


@pytest.mark.parametrize(("point", "retire"), CRASH_CASES, ids=[f"{p}-{r}" for p, r in CRASH_CASES])
async def test_an_operator_stopped_at_any_step_of_a_rotation_finishes_it_once(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig,
    point: str, retire: str,
) -> None:
    setup(kube, cloud, rotating(retire=retire))
    async with an_operator(kubeconfig, clock) as first:
        await eventually(is_ready(kube, "svc"))
        assert secret_is_valid(kube, cloud, clock) == "token_rot"
        rig.crash_at(first, *CRASH_POINTS[point])
        await asyncio.wait_for(rig.crashed.wait(), timeout=2 * 3600)  # the rotation comes at about 40 min
    assert secret_is_valid(kube, cloud, clock)  # still a working token while the operator is down
    async with an_operator(kubeconfig, clock):
        await eventually(rotated(kube, cloud), timeout=120)
        # Nothing it made is untracked once it is back (the replaced token is retiring or retired).
        assert untracked(kube, rig) == []
        assert set(retiring_ids(kube)) <= {"token_rot"}
        await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    check_one_rotation(kube, cloud, rig, retire=retire)


async def test_an_operator_stopped_after_creating_the_first_token_adopts_it(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig,
) -> None:
    """Rotate without applicationTokenId: tokensync creates the first token; a stop right after
    that create leaves it to be found by listing, not made again."""
    setup(kube, cloud, tokens=(), default=False)
    async with an_operator(kubeconfig, clock) as first:
        rig.crash_at(first, AFTER_CREATE)
        kube.create(rotating(token_id=None, target=False))
        await asyncio.wait_for(rig.crashed.wait(), timeout=60)
    assert status(kube, "svc").get("pendingRotation"), "the create was not recorded as pending before it was sent"
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "svc"))
        await watch(kube, cloud, clock, timedelta(minutes=10))
    assert not rig.problems, rig.problems
    assert len(rig.created) == 1, rig.created_ids()
    assert status(kube, "svc")["applicationTokenId"] == rig.created[0].token_id
    assert secret_is_valid(kube, cloud, clock) == rig.created[0].token_id
    assert not status(kube, "svc").get("pendingRotation")


# Found by the 1,000-token soak: a create whose answer was lost, found by listing only after the
# operator had been down longer than the new token's lifetime, was adopted although expired; the
# resource then reported TokenExpired and waited a full backoff step (30 min) to rotate.
@pytest.mark.parametrize("expired_read", ["ok", "error"])
async def test_a_lost_create_found_only_after_it_expired_is_deleted_and_made_again(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig, expired_read: str,
) -> None:
    setup(kube, cloud)
    cloud.state.expired_token_read = expired_read  # type: ignore[assignment]
    async with an_operator(kubeconfig, clock) as first:
        await eventually(is_ready(kube, "svc"))
        rig.crash_at(first, AFTER_CREATE)
        await asyncio.wait_for(rig.crashed.wait(), timeout=2 * 3600)
    lost = rig.created[0].token_id
    await asyncio.sleep((LIFETIME + timedelta(minutes=5)).total_seconds())  # down longer than its lifetime
    async with an_operator(kubeconfig, clock):
        await eventually(lambda: status(kube, "svc").get("applicationTokenId") not in (None, "token_rot", lost)
                         and is_ready(kube, "svc")(), timeout=120)
        assert secret_is_valid(kube, cloud, clock) not in ("token_rot", lost)
        await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    assert not rig.problems, rig.problems
    assert len(rig.created) == 2, rig.created_ids()
    assert rig.live(lost) is None, f"the expired token {lost} of the lost create was left behind"
    assert untracked(kube, rig) == []
    assert "TokenExpired" not in scenario.event_reasons(kube, "svc")[-3:]


# Found by review: that expired token was deleted whatever retire said, and a refused Delete (a
# policy granting Disable only, as retire: Disable needs) then stopped every later rotation.
async def test_a_lost_create_found_expired_is_retired_as_the_spec_says_and_never_blocks_the_rotation(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig,
) -> None:
    rig.max_enabled = None
    setup(kube, cloud, rotating(retire="Disable"))
    async with an_operator(kubeconfig, clock) as first:
        await eventually(is_ready(kube, "svc"))
        rig.crash_at(first, AFTER_CREATE)
        await asyncio.wait_for(rig.crashed.wait(), timeout=2 * 3600)
    lost = rig.created[0].token_id
    await asyncio.sleep((LIFETIME + timedelta(minutes=5)).total_seconds())
    cloud.inject_fault(action=DELETE, status=403, code="Forbidden.RAM", message="not authorized")
    async with an_operator(kubeconfig, clock):
        await eventually(lambda: status(kube, "svc").get("applicationTokenId") not in (None, "token_rot", lost)
                         and is_ready(kube, "svc")(), timeout=120)
        await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    assert cloud.calls(DELETE) == 0, "retire: Disable never deletes"
    assert rig.live(lost) is not None and rig.live(lost).status == "disabled"


# Found by review: one refused Disable before a rotation left that token out of every later
# pre-rotation pass (and out of the token-limit cleanup) until its own retireAt, a day later.
@pytest.mark.parametrize("limit", [None, 2])
async def test_one_refused_retirement_before_a_rotation_is_retried_soon(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch, limit: int | None,
) -> None:
    rig = Rig(kube, cloud, clock, monkeypatch, max_enabled=None)
    if limit:
        cloud.state.max_tokens_per_application = limit
    setup(kube, cloud, rotating(retire="Delete", retire_after=timedelta(hours=24), target=False))
    await eventually(is_ready(kube, "svc"))
    cloud.inject_fault(action=DISABLE, status=503, code="ServiceUnavailable", message="try later", times=1)
    await watch(kube, cloud, clock, timedelta(hours=3), step=60)
    assert "RenewalFailed" not in scenario.event_reasons(kube, "svc")
    enabled = [t for t in [*rig.created_ids(), "token_rot"] if rig.live(t) is not None
               and rig.live(t).status == "enabled"]
    assert len(enabled) <= 2, f"{enabled} are enabled three hours and four rotations later"
    assert rig.live("token_rot") is None, "the token whose Disable failed once was never retired"


# --- the create's answer lost while the operator runs on --------------------------------------------

LOST_ANSWERS = {
    # id: how the create happens in the cloud while its answer never reaches the status
    "broken-body": "the answer's body is cut in half",
    "timed-out": "the cloud carries it out 11 s later, after the client's 10 s timeout",
    "status-write-fails": "the answer is read, but the status write recording it fails",
}


@pytest.mark.parametrize("how", list(LOST_ANSWERS))
async def test_a_lost_create_answer_is_recovered_by_listing_not_by_a_second_create(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig, how: str,
) -> None:
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    if how == "broken-body":
        cloud.inject_fault(action=CREATE, body="truncated", times=1)
    elif how == "timed-out":
        cloud.inject_fault(action=CREATE, latency_ms=11_000, times=1)
    else:
        def fail_the_next_status_write() -> bool:
            kube.inject_fault("PATCH", STATUS, status=500, times=1)
            return False

        rig.on(AFTER_CREATE, do=fail_the_next_status_write)
    # Ready stays True all along: the old token is valid until the new one is in the Secret.
    await watch(kube, cloud, clock, timedelta(minutes=45), step=10)
    assert rotated(kube, cloud)()
    assert cloud.calls(LIST) >= 1, "the lost answer was not looked for"
    if how != "status-write-fails":
        assert "RenewalFailed" in scenario.event_reasons(kube, "svc")
    await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    check_one_rotation(kube, cloud, rig)


async def test_a_create_carried_out_after_the_next_attempt_is_not_left_behind(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """The gateway holds the create for a minute: the client times out at 10 s. tokensync waits
    (token_renewal: CREATE_SETTLE) for the token to be listed before creating another, and keeps
    looking for it afterwards: a token made by that create must never be left untracked."""
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    cloud.inject_fault(action=CREATE, latency_ms=60_000, times=1)
    await watch(kube, cloud, clock, timedelta(hours=1), step=10)
    assert rotated(kube, cloud)()
    assert untracked(kube, rig) == [], (
        f"tokens created but tracked by nothing: {untracked(kube, rig)} (created: {rig.created_ids()}; {rig.problems})")
    assert not rig.problems, rig.problems


# --- the token limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("retire", [
    "Keep",
    "Disable",  # tokens it disabled still count: it remembers them (status.retiredTokens) and deletes them
])
async def test_at_the_token_limit_replaced_tokens_are_retired_and_the_create_retried(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch, retire: str,
) -> None:
    """The application holds at most 4 tokens, one of them someone else's. Rotating every ~40 min
    fills it; a refused create retires the tokens this resource replaced and is tried again, and
    the resource stays Ready with a valid token all along. The other token is never touched."""
    rig = Rig(kube, cloud, clock, monkeypatch, max_enabled=None)  # Keep leaves replaced tokens enabled
    cloud.state.max_tokens_per_application = 4
    cloud.add_token("token_other", lifetime=timedelta(days=365), application_id=APP)
    setup(kube, cloud, rotating(retire=retire, retire_after=timedelta(hours=24) if retire == "Keep" else RETIRE_AFTER,
                                target=False))
    await eventually(is_ready(kube, "svc"))
    seen = await watch(kube, cloud, clock, timedelta(hours=4), step=60)
    assert cloud.answers(CREATE, "QuotaExceeded.ApplicationToken") >= 1, "the limit was never reached"
    assert len(seen) >= 5, f"rotations stopped: the Secret held only {sorted(seen)}"
    assert "RenewalFailed" not in scenario.event_reasons(kube, "svc")
    other = cloud.state.tokens.get("token_other")
    assert other is not None and other.status == "enabled", "a token this resource did not replace was retired"
    assert not rig.problems, rig.problems


async def test_a_limit_filled_by_other_tokens_keeps_ready_and_rotates_once_a_slot_frees(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """Nothing of its own to retire: the refusal is reported (RenewalFailed, Ready's message),
    retried with backoff while the token is valid, and the rotation happens once a slot frees."""
    cloud.state.max_tokens_per_application = 2
    cloud.add_token("token_other", lifetime=timedelta(days=365), application_id=APP)
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    await watch(kube, cloud, clock, timedelta(minutes=45), step=30)  # Ready stays True while the token is valid
    refusals = cloud.answers(CREATE, "QuotaExceeded.ApplicationToken")
    assert 1 <= refusals <= 10, f"{refusals} refused creates in a few minutes: not backing off"
    assert "token limit" in condition(kube, "svc")["message"]
    assert "RenewalFailed" in scenario.event_reasons(kube, "svc")
    assert rig.live("token_other").status == "enabled"
    cloud.delete_token("token_other")  # a person frees a slot
    await watch(kube, cloud, clock, timedelta(minutes=5), step=10)
    assert rotated(kube, cloud)()
    await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    check_one_rotation(kube, cloud, rig)


# --- what happens meanwhile: an edit, a force-sync, a watch that re-lists -----------------------------

TEMPLATE = {"token": "{{ token }}", "authorization": "Bearer {{ token }}"}


def interference(kube: KubernetesEmulator, what: str) -> Callable[[], bool]:
    def act() -> bool:
        if what == "force-sync":
            kube.patch(API, "applicationtokens", NS, "svc",
                       {"metadata": {"annotations": {"tokensync.dev/force-sync": "mid-rotation"}}})
        elif what == "spec-edit":
            kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"secret": {"template": TEMPLATE}}})
        else:
            if what == "watch-410-gone":
                kube.expire_watch_history()
            kube.close_watches()
        return False
    return act


# A spec edit after the create once went unapplied until the next planned read: the rotation's
# status write answered with the new generation, so its watch event looked like old news.
MEANWHILE = [
    pytest.param(moment, what, id=f"{what}-{moment}")
    for moment in ("after-the-create", "before-the-secret-write")
    for what in ("force-sync", "spec-edit", "watch-closed", "watch-410-gone")
]


@pytest.mark.parametrize(("moment", "what"), MEANWHILE)
async def test_an_event_during_a_rotation_neither_repeats_nor_loses_it(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
    what: str, moment: str,
) -> None:
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    steps = (AFTER_CREATE,) if moment == "after-the-create" else (AFTER_CREATE, f"kube PATCH {SECRET}")
    rig.on(*steps, do=interference(kube, what))
    await watch(kube, cloud, clock, timedelta(minutes=45), step=10)
    assert rotated(kube, cloud)()
    await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK + timedelta(minutes=3))
    check_one_rotation(kube, cloud, rig)
    obj = kube.get(API, "applicationtokens", NS, "svc") or {}
    assert status(kube, "svc")["observedGeneration"] == obj["metadata"]["generation"]
    if what == "force-sync":
        assert status(kube, "svc")["lastForceSync"] == "mid-rotation"
    if what == "spec-edit":
        value = cloud.state.tokens[rig.created[0].token_id].value
        assert secret_data(kube, "svc") == {"token": value, "authorization": f"Bearer {value}"}, \
            "the template edited during the rotation was never applied"


# --- two resources of one application rotating in the same second ---------------------------------


@pytest.mark.parametrize("how", ["answers-lost", "answers-lost-and-operator-stopped"])
async def test_two_resources_rotating_in_the_same_second_each_recover_their_own_create(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    """Two Rotate resources on one application, different tokens, both renewed at the same
    moment (the operator was down past both renewal moments), and both creates' answers lost.
    Each finds its own token by the ExpirationTime it sent (same second: only the tag differs)."""
    rig = Rig(kube, cloud, clock, monkeypatch, max_enabled=4)  # two per resource
    setup(kube, cloud, rotating("a", "token_a", target=False), rotating("b", "token_b", target=False),
          tokens=("token_a", "token_b"))
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "a"))
        await eventually(is_ready(kube, "b"))
    await asyncio.sleep(50 * 60)  # both are past their renewal moment (at most 40 min), not expired
    # The next operator starts mid-second, so both renewals (a few ms apart) fall in one second.
    await asyncio.sleep(1.5 - clock.now().microsecond / 1e6)
    pending: dict[str, int] = {}

    def remember_pending() -> bool:
        for name in ("a", "b"):
            sent = status(kube, name).get("pendingRotation") or {}
            if "expirationTime" in sent:
                pending.setdefault(name, int(sent["expirationTime"]))
        return False

    rig.on(f"cloud {CREATE} before", do=remember_pending)
    rig.on(f"cloud {CREATE} before", f"cloud {CREATE} before", do=remember_pending)
    if how == "answers-lost":
        cloud.inject_fault(action=CREATE, body="truncated", times=2)
    else:
        cloud.inject_fault(action=CREATE, body="truncated", times=1)
        async with an_operator(kubeconfig, clock) as second:
            rig.crash_at(second, AFTER_CREATE, AFTER_CREATE)
            await asyncio.wait_for(rig.crashed.wait(), timeout=60)
        assert all(status(kube, n).get("pendingRotation") for n in ("a", "b")), "both creates must be unrecorded"
    async with an_operator(kubeconfig, clock):
        await watch(kube, cloud, clock, timedelta(minutes=5), names=("a", "b"), step=5)
        assert not rig.problems, rig.problems
        assert len(rig.created) == 2, f"{len(rig.created)} tokens created for two rotations: {rig.created_ids()}"
        seconds = {c.expiration_ms // 1000 for c in rig.created}
        assert len(seconds) == 1, f"the two rotations were not in the same second: {rig.created}"
        assert set(pending) == {"a", "b"}
        by_expiration = {c.expiration_ms: c.token_id for c in rig.created}
        for name in ("a", "b"):
            current = status(kube, name).get("applicationTokenId")
            assert current == by_expiration[pending[name]], f"{name} adopted a token it did not create"
            assert secret_is_valid(kube, cloud, clock, name) == current
            assert rotated(kube, cloud, name, f"token_{name}")()
        assert untracked(kube, rig, ("a", "b")) == []
        await watch(kube, cloud, clock, RETIRE_AFTER + RETIRE_SLACK, names=("a", "b"))
    assert not rig.problems, rig.problems
    assert rig.live("token_a") is None and rig.live("token_b") is None, "the replaced tokens were not retired"


# --- the resource deleted: what it made is retired before it goes -----------------------------------

RESOURCE_PATH = f"/apis/{API}/namespaces/{NS}/applicationtokens/svc$"
FINALIZER = "tokensync.dev/cleanup"


def resource(kube: KubernetesEmulator, name: str = "svc") -> dict[str, Any] | None:
    return kube.get(API, "applicationtokens", NS, name)


def gone(kube: KubernetesEmulator, name: str = "svc") -> Callable[[], bool]:
    return lambda: resource(kube, name) is None


def warnings(kube: KubernetesEmulator, name: str = "svc") -> list[str]:
    return [e["message"] for e in scenario.events(kube, name) if e["type"] == "Warning"]


async def rotate_once(kube: KubernetesEmulator, cloud: CloudEmulator) -> str:
    """Wait for the first rotation (about 40 min); the new current token's ID."""
    await eventually(rotated(kube, cloud), timeout=2 * 3600, step=10)
    return str(status(kube, "svc")["applicationTokenId"])


@pytest.mark.parametrize("retire", ["Delete", "Disable"])
async def test_deleting_a_rotating_resource_retires_every_token_it_made_or_replaced(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig, retire: str,
) -> None:
    """ESO's PushSecret deletes what it pushed; tokensync retires what it made. The token it
    rotated to and the one still in its retireAfter grace are both retired, as ``retire`` says,
    before the resource goes; the Secret goes with it (ownerReference)."""
    setup(kube, cloud, rotating(retire=retire, retire_after=timedelta(minutes=30), target=False))
    await eventually(is_ready(kube, "svc"))
    assert FINALIZER in resource(kube)["metadata"]["finalizers"]  # type: ignore[index]
    current = await rotate_once(kube, cloud)
    assert retiring_ids(kube) == ["token_rot"]  # still in its grace
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=60)
    for token_id in (current, "token_rot"):
        live = rig.live(token_id)
        assert (live.status if live else None) == ("disabled" if retire == "Disable" else None), token_id
    assert secret_data(kube, "svc") is None
    assert not rig.problems, rig.problems
    assert len(rig.created) == 1


async def test_a_retained_secret_keeps_its_token_and_the_replaced_one_is_retired(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    setup(kube, cloud, rotating(target=False, retire_after=timedelta(minutes=30),
                                secret={"deletionPolicy": "Retain"}))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=60)
    assert secret_is_valid(kube, cloud, clock) == current  # the Secret outlives it, with a working token
    assert rig.live("token_rot") is None
    assert not rig.problems, rig.problems


async def test_an_extending_resource_carries_no_finalizer_and_goes_at_once(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
) -> None:
    setup(kube, cloud, default=False)
    kube.create(scenario.application_token("svc", token_id="token_rot", applicationId=APP))
    await eventually(is_ready(kube, "svc"))
    assert not resource(kube)["metadata"].get("finalizers")  # type: ignore[index]
    assert kube.delete(API, "applicationtokens", NS, "svc")
    assert enabled(cloud, "token_rot")


def enabled(cloud: CloudEmulator, token_id: str) -> bool:
    token = cloud.state.tokens.get(token_id)
    return token is not None and token.status == "enabled"


async def test_a_token_another_resource_holds_is_not_retired_with_the_deleted_one(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """Two resources pointing at one token: the second names the token the first rotated to
    (refused while the first rotates it). Deleting the first leaves that token to the second."""
    setup(kube, cloud, rotating(target=False))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    kube.create(scenario.application_token("reader", token_id=current, applicationId=APP))
    await eventually(scenario.has_reason(kube, "reader", "InvalidSpec"))
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=60)
    assert enabled(cloud, current)
    await eventually(is_ready(kube, "reader"), timeout=600, step=5)
    assert secret_is_valid(kube, cloud, clock, "reader") == current


async def test_a_deletion_waits_while_the_cloud_refuses_then_finishes(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    setup(kube, cloud, rotating(target=False))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    cloud.inject_fault(action=DISABLE, status=503, code="ServiceUnavailable", message="down")
    kube.delete(API, "applicationtokens", NS, "svc")
    await asyncio.sleep(20 * 60)
    held = resource(kube)
    assert held is not None and held["metadata"].get("deletionTimestamp"), "the deletion did not wait"
    assert enabled(cloud, current)
    told = [m for m in warnings(kube) if "could not retire the tokens" in m]
    assert told and FINALIZER in told[-1] and current in told[-1], warnings(kube)
    # 1, 2, 4, 8 min apart: five attempts in 20 min, each tried 3 times by the client (a 503).
    attempts = cloud.calls(DISABLE)
    assert attempts <= 18, f"{attempts} Disable calls in 20 min: the retries do not back off"
    cloud.clear_faults()
    await eventually(gone(kube), timeout=3600, step=10)
    assert rig.live(current) is None
    assert not rig.problems, rig.problems


async def test_a_deletion_whose_cloud_access_is_gone_names_the_tokens_left(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """A namespace being deleted takes its cloud access along: waiting cannot help, and must not
    hold the namespace's deletion forever. The tokens left are named (IDs only)."""
    setup(kube, cloud, rotating(target=False))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    kube.delete(API, "clustercloudaccesses", None, "default")
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=60)
    told = [m for m in warnings(kube) if "left in IDaaS" in m]
    assert told and current in told[0], warnings(kube)


DELETION_CRASH_POINTS: dict[str, tuple[str, ...]] = {
    "before-the-first-retirement": (f"cloud {DISABLE} before",),
    "between-disable-and-delete": (f"cloud {DISABLE} after",),
    "after-the-last-retirement": (f"cloud {DELETE} after", f"cloud {DELETE} after"),
    "before-the-finalizer-is-removed": (f"cloud {DELETE} after", f"cloud {DELETE} after",
                                        f"kube PATCH {RESOURCE_PATH}"),
}


@pytest.mark.parametrize("point", list(DELETION_CRASH_POINTS))
async def test_an_operator_stopped_while_a_deletion_retires_tokens_finishes_it(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig, point: str,
) -> None:
    setup(kube, cloud, rotating(target=False, retire_after=timedelta(minutes=30)))
    async with an_operator(kubeconfig, clock) as first:
        await eventually(is_ready(kube, "svc"))
        current = await rotate_once(kube, cloud)
        rig.crash_at(first, *DELETION_CRASH_POINTS[point])
        kube.delete(API, "applicationtokens", NS, "svc")
        await asyncio.wait_for(rig.crashed.wait(), timeout=60)
    assert resource(kube) is not None, "the resource went before its tokens were retired"
    async with an_operator(kubeconfig, clock):
        await eventually(gone(kube), timeout=300)
    assert rig.live(current) is None and rig.live("token_rot") is None
    assert not rig.problems, rig.problems


async def test_an_operator_down_when_the_resource_is_deleted_retires_its_tokens_on_return(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig,
) -> None:
    setup(kube, cloud, rotating(target=False))
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "svc"))
        current = await rotate_once(kube, cloud)
    kube.delete(API, "applicationtokens", NS, "svc")
    await asyncio.sleep(60)
    assert resource(kube) is not None
    async with an_operator(kubeconfig, clock):
        await eventually(gone(kube), timeout=300)
    assert rig.live(current) is None and rig.live("token_rot") is None


async def test_a_deletion_during_a_create_whose_answer_is_lost_deletes_its_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """The resource is deleted while its create is held by the gateway past the client's timeout:
    the token that create makes later never reached a Secret, and must not outlive the resource."""
    setup(kube, cloud, rotating(target=False))
    await eventually(is_ready(kube, "svc"))
    cloud.inject_fault(action=CREATE, latency_ms=60_000, times=1)
    await eventually(lambda: bool(status(kube, "svc").get("pendingRotation")), timeout=2 * 3600, step=1)
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=600, step=5)
    assert len(rig.created) == 1, rig.created_ids()
    assert rig.live(rig.created[0].token_id) is None, "the token of the lost create outlived the resource"
    assert not rig.problems, rig.problems


@pytest.mark.parametrize("access", ["cluster", "in-the-namespace"])
async def test_a_namespace_deletion_retires_what_it_can_and_is_never_stuck(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig, access: str,
) -> None:
    """The namespace goes Terminating and everything in it is deleted at once. Through a
    ClusterCloudAccess the tokens are retired before the namespace goes; through a CloudAccess in
    that namespace (deleted with it) they cannot be, and the namespace must still go."""
    spec: dict[str, Any] = {}
    if access == "in-the-namespace":
        spec["cloudAccessRef"] = {"kind": "CloudAccess", "name": "idaas"}
    setup(kube, cloud, rotating(target=False, **spec))
    if access == "in-the-namespace":
        kube.create(scenario.access_key_secret(namespace=NS))
        kube.create(scenario.cloud_access(cloud))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    kube.delete("v1", "namespaces", None, NS)
    await eventually(lambda: kube.get("v1", "namespaces", None, NS) is None, timeout=300)
    if access == "cluster":
        assert rig.live(current) is None and rig.live("token_rot") is None
    assert not rig.problems, rig.problems


# Found by review: what the deletion keeps is decided from the Secret as it is, a spec the operator
# refuses still lets it retire, a passing access problem waits, and a refused reader neither keeps a
# replaced token alive nor loses the token it waits for.


async def test_a_spec_the_operator_refuses_still_lets_the_deletion_retire_what_it_made(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    setup(kube, cloud, rotating(target=False, retire_after=timedelta(minutes=30)))
    await eventually(is_ready(kube, "svc"))
    current = await rotate_once(kube, cloud)
    kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"renewal": {"lifetime": "0s"}}})  # the CRD lets it by
    await eventually(scenario.has_reason(kube, "svc", "InvalidSpec"), timeout=60)
    kube.delete(API, "applicationtokens", NS, "svc")
    await eventually(gone(kube), timeout=600, step=5)
    assert [t for t in (current, "token_rot") if enabled(cloud, t)] == []


@pytest.mark.parametrize("edit", ["retain-to-delete", "delete-to-retain", "secret-deleted-too"])
async def test_the_token_kept_at_deletion_is_the_one_a_surviving_secret_really_holds(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig, edit: str,
) -> None:
    """The spec's deletionPolicy may have changed since the Secret was written (the operator was
    down), or the Secret may go with the resource: what the Secret is now decides."""
    retain = edit in ("retain-to-delete", "secret-deleted-too")
    setup(kube, cloud, rotating(target=False, secret={"deletionPolicy": "Retain"} if retain else {}))
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "svc"))
        current = await rotate_once(kube, cloud)
    if edit != "secret-deleted-too":
        policy = "Delete" if retain else "Retain"
        kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"secret": {"deletionPolicy": policy}}})
    else:
        kube.delete("v1", "secrets", NS, "svc")
    kube.delete(API, "applicationtokens", NS, "svc")
    async with an_operator(kubeconfig, clock):
        await eventually(gone(kube), timeout=600, step=5)
        await asyncio.sleep(5)
    if secret_data(kube, "svc") is None:
        assert not enabled(cloud, current), "the token of a Secret that went with the resource was kept"
    else:
        assert secret_is_valid(kube, cloud, clock) == current  # a surviving Secret keeps a working token
    assert not rig.problems, rig.problems


async def test_a_passing_access_problem_holds_the_deletion_until_it_clears(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig,
) -> None:
    """The AccessKey Secret is missing for 30 s (an admin re-creating it): the deletion waits."""
    setup(kube, cloud, rotating(target=False, retire_after=timedelta(minutes=30)))
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "svc"))
        current = await rotate_once(kube, cloud)
        kube.delete("v1", "secrets", scenario.SYSTEM_NS, "tokensync-ak")
        kube.delete(API, "applicationtokens", NS, "svc")
        await asyncio.sleep(30)
        assert resource(kube) is not None
        kube.create(scenario.access_key_secret())
        await eventually(gone(kube), timeout=3600, step=10)
    assert [t for t in (current, "token_rot") if enabled(cloud, t)] == []


async def test_a_refused_reader_elsewhere_does_not_keep_a_replaced_token_alive(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, rig: Rig,
) -> None:
    """Another namespace's resource names the token a rotating one holds (and is refused for it).
    The rotation revokes that token on schedule: a name in someone else's spec is no claim on it."""
    setup(kube, cloud, rotating(target=False))
    kube.create(scenario.namespace("other"))
    await eventually(is_ready(kube, "svc"))
    await asyncio.sleep(1)  # a later creationTimestamp: the older resource keeps a token neither has synced
    kube.create(scenario.application_token("intruder", token_id="token_rot", namespace="other", applicationId=APP))
    await eventually(scenario.has_reason(kube, "intruder", "InvalidSpec", namespace="other"))
    await rotate_once(kube, cloud)
    await asyncio.sleep(20 * 60)  # retireAfter is 5 min
    assert rig.live("token_rot") is None
    assert not rig.problems, rig.problems


@pytest.mark.parametrize("order", ["deleted-first", "reader-first"])
async def test_a_token_a_refused_reader_waits_for_is_handed_over_at_deletion_after_a_restart(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, rig: Rig, order: str,
) -> None:
    """The reader waits for the token the rotating resource holds; that resource is deleted while
    the operator is down. Whatever order the restarted watch lists them in, the token is left to
    the reader (the names sort one way or the other)."""
    name, reader = ("a", "z") if order == "deleted-first" else ("svc", "b")
    setup(kube, cloud, rotating(name, target=False), default=False)
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, name))
        await eventually(lambda: status(kube, name).get("applicationTokenId") not in (None, "token_rot"),
                         timeout=2 * 3600, step=10)
        current = str(status(kube, name)["applicationTokenId"])
        kube.create(scenario.application_token(reader, token_id=current, applicationId=APP))
        await eventually(scenario.has_reason(kube, reader, "InvalidSpec"))
    kube.delete(API, "applicationtokens", NS, name)
    async with an_operator(kubeconfig, clock):
        await eventually(lambda: resource(kube, name) is None, timeout=300)
        await eventually(is_ready(kube, reader), timeout=3600, step=5)
    assert enabled(cloud, current)


@pytest.mark.parametrize("expired_read", ["ok", "error"])
async def test_after_a_stop_longer_than_a_lifetime_at_most_two_tokens_are_enabled(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch, expired_read: str,
) -> None:
    """Found by review: with the current token expired, the retirements before a create had no
    time at all (a quarter of nothing), were cancelled unsent, and a third token was enabled."""
    rig = Rig(kube, cloud, clock, monkeypatch, max_enabled=2)
    cloud.state.expired_token_read = expired_read  # type: ignore[assignment]
    setup(kube, cloud, rotating(retire="Delete", retire_after=timedelta(hours=24), target=False))
    async with an_operator(kubeconfig, clock):
        await eventually(is_ready(kube, "svc"))
        await eventually(lambda: status(kube, "svc").get("applicationTokenId") not in (None, "token_rot")
                         and (status(kube, "svc").get("retiringTokens") or [{}])[0].get("retireAt") is not None,
                         timeout=2 * 3600, step=10)
    first = status(kube, "svc")["applicationTokenId"]
    await asyncio.sleep((LIFETIME + timedelta(minutes=5)).total_seconds())  # first has expired
    async with an_operator(kubeconfig, clock):
        await eventually(lambda: status(kube, "svc").get("applicationTokenId") not in (None, "token_rot", first)
                         and is_ready(kube, "svc")(), timeout=600, step=1)
        secret_is_valid(kube, cloud, clock)
    assert not rig.problems, rig.problems


async def test_at_the_token_limit_the_new_token_lives_its_full_lifetime_from_its_create(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by review: after the limit's refusal, the slow retirements that make room were taken
    out of the new token's lifetime (its ExpirationTime was worked out before them)."""
    rig = Rig(kube, cloud, clock, monkeypatch, max_enabled=None)
    cloud.state.max_tokens_per_application = 2
    setup(kube, cloud, rotating(retire="Delete", retire_after=timedelta(hours=24), target=False))
    await eventually(is_ready(kube, "svc"))
    await eventually(lambda: len(rig.created) == 1, timeout=2 * 3600, step=10)  # first rotation: room enough
    # The next pre-create retirement is refused once (the limit is then hit); the retirements at
    # the limit answer slowly but within the client's 10 s timeout.
    cloud.inject_fault(action=DISABLE, status=503, code="ServiceUnavailable", message="try later", times=1)
    cloud.inject_fault(action=DISABLE, latency_ms=9_000)
    cloud.inject_fault(action=DELETE, latency_ms=9_000)
    try:
        await eventually(lambda: len(rig.created) == 2, timeout=2 * 3600, step=5)
    finally:
        cloud.clear_faults()
        await asyncio.sleep(30)
    assert cloud.answers(CREATE, "QuotaExceeded.ApplicationToken") >= 1, "the limit was never hit"
    made = rig.created[1]
    token = cloud.state.tokens[made.token_id]
    assert token.expiration_time is not None and token.create_time is not None
    lived = token.expiration_time - token.create_time
    assert lived >= LIFETIME - timedelta(seconds=1), f"the token made at the limit lives {lived}, not {LIFETIME}"
