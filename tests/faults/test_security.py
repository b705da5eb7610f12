"""Security: every attempt to use what a namespace may not use is refused, and no secret is ever shown.

One cluster of two tenants. ``team-a`` may use the ClusterCloudAccess ``restricted`` (its
namespaceSelector matches only team-a's label; its AccessKey Secret lives in tokensync-system)
and its own CloudAccess ``team-a-access`` (an AccessKey with an STS security token in a Secret of
team-a). ``team-b`` has a CloudAccess of its own and tries everything else:

- a CloudAccess of another namespace (by name, and with a ``namespace`` field the API does not have);
- a ClusterCloudAccess whose selector excludes it (and what happens when team-a loses the selector);
- an AccessKey ``secretRef`` pointing into another namespace (a namespaced CloudAccess has no
  such field; only a ClusterCloudAccess names a Secret's namespace, the cluster admin's choice),
  and a target Secret in another namespace;
- a target Secret or ConfigMap that exists and is not tokensync's (the AccessKey Secret itself);
- Secret templates trying to leave the Jinja sandbox.

Each attempt ends Ready=False with the documented reason and a message that says what to fix, no
Secret or ConfigMap is written for it (a good one that exists is kept unchanged), and no cloud call
is made for it with credentials the namespace may not use (``signed_calls`` records who signed
every ObtainApplicationToken and GetApplication the cloud emulator authenticated).

Every test ends by scanning everything a user can read (DEBUG logs, all Events, every tokensync
object with its status, the Prometheus text) for every secret in play: the AccessKey secrets, the
STS key secret and security token, and every application token value, those tokensync created
(and maybe retired since) included (``no_secret_anywhere``). Not only whole values: any piece of
8 characters of one is a leak (a truncated repr, an error quoting part of a value, a prefix "for
debugging"), unless that piece is also part of a public identifier (an AccessKey ID, a token ID).
The canaries are random, so a piece of one never appears anywhere by chance.

Renewal adds its own Events (Extended, Rotated, Retired, RenewalFailed) and status fields
(applicationTokenId, lastRenewalTime, retiringTokens, pendingRotation): a Rotate and an Extend
resource, a refused create, a lost create answer and a retirement are scanned the same way.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.scenario import API, SYSTEM_NS, condition, eventually, has_reason, is_ready, secret_data, status
from tokensync.api.cloud_access import DEFAULT_RRSA_TOKEN_FILE
from tokensync.clock import LoopClock
from tokensync.controllers.templates import MAX_TEMPLATE_OUTPUT, TemplateError, render_templates
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.cloud import app as cloud_app
from tokensync.emulators.cloud.context import CallContext
from tokensync.emulators.cloud.state import StsCredential
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD

TEAM_A, TEAM_B = "team-a", "team-b"
TENANT_LABEL = "tokensync.dev/tenant"
ACCOUNT = "1234567890123456"  # the emulator's demo account

# Canaries: random values that must never be seen, whole or in part, but in the Secrets holding them.
CLUSTER_AK_ID, CLUSTER_AK_SECRET = "LTAIclusterCanaryKey", "at9br038A-51w5HcevrjDygKQYoeb2Ap"
TEAM_B_AK_ID, TEAM_B_AK_SECRET = "LTAIteamBCanaryKey", "lkZXV_z3xSpx4g7ZkoC9AWYReRCSOO7C"
STS_AK_ID, STS_AK_SECRET = "STS.teamACanaryKey", "UsymLWSbuJUF57TMAZ8CNbG1v4RKCtnd"
STS_TOKEN = "CAIS1JsHE35DagiC-BC-epnb2Tv1Rc8nJh18"
TOKENS = {  # application token id -> canary value
    "token_a_cluster": "SATDxBqCa0Y2lnnZSxBtg3nMyzLyQ209_qp",
    "token_a_local": "SATIAEfQhNpRYeywUY44Ep_flCl5_XK5BYU",
    "token_a_probe": "SATtiTh1_njMqK3mk7JVggNvq_FGLhinLxj",
    "token_b_steal": "SATQqXR17X-Rq6IQRy_M6itlFjbA2UKxloy",
    "token_b_own": "SATrFJjPAfU_UZ35Pdgk_WM6ZayRShWztNp",
}
RENEWED_TOKENS = {  # tokens tokensync renews (1 h lifetime)
    "token_a_rotate": "SATrlkn-PvXH4G_luE4S0gKEVh0G6SnFSZs",
    "token_a_extend": "SATp-xqmK_okfSbiMG64Bn4uT86sZwW0Lg9",
}
TEAM_B_TOKEN_IDS = {"token_b_steal"}  # what team-b may only reach through accesses it may not use

SECRET_KEYS = ("token", "accessKeySecret", "securityToken")
RENDERED_KEYS = ("k",)  # what the templates below write: secret as a whole (a template's own text is not)
PIECE = 8  # any run of this many characters of a secret is a leak

OBTAIN, GET_APPLICATION, ASSUME_ROLE_WITH_OIDC = "ObtainApplicationToken", "GetApplication", "AssumeRoleWithOIDC"
CREATE = "CreateApplicationToken"

# Every token value the cloud emulator handed out in this test (a retired token leaves the cloud's
# state, but its value must stay out of sight all the same).
CREATED_VALUES: list[str] = []


@pytest.fixture(autouse=True)
def created_values(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    CREATED_VALUES.clear()
    original = cloud_app.OPERATIONS[CREATE]

    def handler(ctx: CallContext) -> dict[str, Any]:
        answer = original.handler(ctx)
        CREATED_VALUES.append(answer["ApplicationTokens"]["ApplicationToken"])
        return answer

    monkeypatch.setitem(cloud_app.OPERATIONS, CREATE, dataclasses.replace(original, handler=handler))
    return CREATED_VALUES


# --- who signed what ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SignedCall:
    action: str
    access_key_id: str | None  # None for anonymous calls (AssumeRoleWithOIDC)
    target: str  # ApplicationTokenId, AppId or the OIDC token sent


@pytest.fixture
def signed_calls(monkeypatch: pytest.MonkeyPatch) -> list[SignedCall]:
    """Every authenticated ObtainApplicationToken / GetApplication / AssumeRoleWithOIDC, with its signer."""
    recorded: list[SignedCall] = []
    targets = {OBTAIN: "ApplicationTokenId", GET_APPLICATION: "AppId", ASSUME_ROLE_WITH_OIDC: "OIDCToken"}
    for action, parameter in targets.items():
        original = cloud_app.OPERATIONS[action]

        def handler(ctx: CallContext, *, _action: str = action, _parameter: str = parameter,
                    _original: Callable[[CallContext], dict[str, Any]] = original.handler) -> dict[str, Any]:
            signer = ctx.principal.access_key_id if ctx.principal is not None else None
            recorded.append(SignedCall(_action, signer, ctx.params.get(_parameter, "")))
            return _original(ctx)

        monkeypatch.setitem(cloud_app.OPERATIONS, action, dataclasses.replace(original, handler=handler))
    return recorded


# --- the two tenants ------------------------------------------------------------------------------


def secret(namespace: str, name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "stringData": data}


def tenant_cloud_access(cloud: CloudEmulator, name: str, namespace: str, secret_name: str) -> dict[str, Any]:
    return scenario.cloud_access(cloud, name=name, namespace=namespace, secret_name=secret_name)


def restricted_access(cloud: CloudEmulator, selector: dict[str, Any]) -> dict[str, Any]:
    return scenario.cluster_cloud_access(cloud, name="restricted", selector=selector, secret_name="restricted-ak")


def a_token(name: str, token_id: str, namespace: str, ref: dict[str, Any] | None, **spec: Any) -> dict[str, Any]:
    if ref is not None:
        spec["cloudAccessRef"] = ref
    return scenario.application_token(name, token_id=token_id, namespace=namespace, **spec)


RESTRICTED = {"kind": "ClusterCloudAccess", "name": "restricted"}
TEAM_A_ACCESS = {"kind": "CloudAccess", "name": "team-a-access"}
TEAM_B_ACCESS = {"kind": "CloudAccess", "name": "team-b-access"}


async def two_tenants(kube: KubernetesEmulator, cloud: CloudEmulator, clock: LoopClock) -> None:
    """The cluster, the cloud's keys and tokens, and team-a's two good ApplicationTokens, Ready."""
    for token_id, value in TOKENS.items():
        cloud.add_token(token_id, lifetime=timedelta(days=1), value=value)
    cloud.add_access_key(CLUSTER_AK_ID, CLUSTER_AK_SECRET)
    cloud.add_access_key(TEAM_B_AK_ID, TEAM_B_AK_SECRET)
    cloud.state.sts_credentials[STS_AK_ID] = StsCredential(
        access_key_id=STS_AK_ID, access_key_secret=STS_AK_SECRET, security_token=STS_TOKEN,
        expiration=clock.now() + timedelta(days=30), account_id=ACCOUNT,
        arn=f"acs:ram::{ACCOUNT}:assumed-role/tokensync-demo/team-a", role_id="300000000000000001",
        session_name="team-a",
    )

    kube.create(scenario.namespace(SYSTEM_NS))
    kube.create(scenario.namespace(TEAM_A, {TENANT_LABEL: "a"}))
    kube.create(scenario.namespace(TEAM_B, {TENANT_LABEL: "b"}))
    kube.create(secret(SYSTEM_NS, "restricted-ak",
                       {"accessKeyId": CLUSTER_AK_ID, "accessKeySecret": CLUSTER_AK_SECRET}))
    kube.create(restricted_access(cloud, {"matchLabels": {TENANT_LABEL: "a"}}))
    kube.create(secret(TEAM_A, "team-a-ak", {"accessKeyId": STS_AK_ID, "accessKeySecret": STS_AK_SECRET,
                                             "securityToken": STS_TOKEN}))
    kube.create(tenant_cloud_access(cloud, "team-a-access", TEAM_A, "team-a-ak"))
    kube.create(secret(TEAM_B, "team-b-ak", {"accessKeyId": TEAM_B_AK_ID, "accessKeySecret": TEAM_B_AK_SECRET}))
    kube.create(tenant_cloud_access(cloud, "team-b-access", TEAM_B, "team-b-ak"))

    kube.create(a_token("via-cluster", "token_a_cluster", TEAM_A, RESTRICTED))
    kube.create(a_token("via-local", "token_a_local", TEAM_A, TEAM_A_ACCESS))
    for name in ("via-cluster", "via-local"):
        await eventually(is_ready(kube, name, namespace=TEAM_A))
    # The canaries are in play: team-a's Secrets hold the tokens its credentials (STS ones too) read.
    assert (secret_data(kube, "via-cluster", TEAM_A) or {}).get("token") == TOKENS["token_a_cluster"]
    assert (secret_data(kube, "via-local", TEAM_A) or {}).get("token") == TOKENS["token_a_local"]
    await eventually(is_ready(kube, "restricted", "clustercloudaccesses", None))
    await eventually(is_ready(kube, "team-a-access", "cloudaccesses", TEAM_A))
    await eventually(is_ready(kube, "team-b-access", "cloudaccesses", TEAM_B))


# --- what users can read --------------------------------------------------------------------------


def secrets_in_play(kube: KubernetesEmulator, cloud: CloudEmulator) -> set[str]:
    """Every secret value: AccessKey secrets, STS key secrets and tokens (ours and any the emulator
    issued), every application token the cloud holds or ever created, and every value written to a Secret."""
    values = {CLUSTER_AK_SECRET, TEAM_B_AK_SECRET, STS_AK_SECRET, STS_TOKEN, scenario.AK_SECRET, *TOKENS.values(),
              *RENEWED_TOKENS.values(), *CREATED_VALUES}
    values |= {key.access_key_secret for key in cloud.state.access_keys.values()}
    for credential in cloud.state.sts_credentials.values():
        values |= {credential.access_key_secret, credential.security_token}
    values |= {token.value for token in cloud.state.tokens.values()}
    for item in kube.list("v1", "secrets"):  # AccessKey IDs, token types and expiry times are not secret
        data = item.get("data") or {}
        values |= {base64.b64decode(data[k]).decode() for k in SECRET_KEYS if k in data}
    return {v for v in values if v}


def public_identifiers(kube: KubernetesEmulator, cloud: CloudEmulator) -> set[str]:
    """Names shown by design that a secret may share a piece with (the demo key's ID and secret do)."""
    names = {CLUSTER_AK_ID, TEAM_B_AK_ID, STS_AK_ID, scenario.AK_ID, *cloud.state.access_keys,
             *cloud.state.sts_credentials, *cloud.state.tokens}
    for item in kube.list("v1", "secrets"):
        data = item.get("data") or {}
        if "accessKeyId" in data:
            names.add(base64.b64decode(data["accessKeyId"]).decode())
    return names


def pieces(value: str) -> set[str]:
    return {value[i:i + PIECE] for i in range(len(value) - PIECE + 1)} if len(value) >= PIECE else {value}


def leaked_pieces(secrets: set[str], public: set[str], text: str) -> dict[str, str]:
    """The pieces of ``secrets`` (``PIECE`` characters, or a whole shorter value) found in ``text``,
    each with the secret it is from; pieces of public identifiers do not count. One pass over the
    text, looking each window up in a set: the scanned text is megabytes of DEBUG logs."""
    wanted: dict[str, str] = {}
    for secret in secrets:
        for piece in pieces(secret):
            wanted.setdefault(piece, secret)
    for name in public:
        for piece in pieces(name):
            wanted.pop(piece, None)
    found: dict[str, str] = {}
    short = {piece for piece in wanted if len(piece) < PIECE}
    found.update({piece: wanted[piece] for piece in short if piece in text})
    for i in range(len(text) - PIECE + 1):
        piece = text[i:i + PIECE]
        if piece in wanted:
            found[piece] = wanted[piece]
    return found


def everything_a_user_can_read(kube: KubernetesEmulator, caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([
        caplog.text,
        repr(kube.list("v1", "events")),
        *(repr(kube.list(API, plural)) for plural in
          ("applicationtokens", "ramapplications", "cloudaccesses", "clustercloudaccesses")),
        repr(kube.list("v1", "configmaps")),
        metrics.render().decode(),
    ])


def no_secret_anywhere(kube: KubernetesEmulator, cloud: CloudEmulator, caplog: pytest.LogCaptureFixture,
                       *also: str) -> None:
    """No piece of any secret in what users can read (``also``: earlier snapshots of it)."""
    everything = "\n".join([everything_a_user_can_read(kube, caplog), *also])
    assert caplog.records, "no logs were captured: the scan would prove nothing"
    for item in kube.list("v1", "secrets"):
        data = item.get("data") or {}
        rendered = [base64.b64decode(data[k]).decode() for k in RENDERED_KEYS if k in data]
        assert not [v for v in rendered if v and v in everything], f"a rendered value of {item['metadata']['name']}"
    secrets = secrets_in_play(kube, cloud)
    assert set(CREATED_VALUES) <= secrets
    leaked = leaked_pieces(secrets, public_identifiers(kube, cloud), everything)
    where = {piece: everything[max(0, everything.find(piece) - 40):everything.find(piece) + 48].replace(
        secret, "<SECRET>").replace(piece, "<PIECE>") for piece, secret in leaked.items()}
    assert not leaked, f"pieces of secret values visible to users (in context): {where}"


def refused(kube: KubernetesEmulator, name: str, reason: str, *, plural: str = "applicationtokens",
            namespace: str = TEAM_B) -> str:
    """The resource says Ready=False with ``reason``, wrote nothing, and shows a Warning Event; its message."""
    ready = condition(kube, name, plural, namespace)
    assert ready["status"] == "False" and ready["reason"] == reason, ready
    if plural == "applicationtokens":
        assert kube.get("v1", "secrets", namespace, name) is None
        assert "secretName" not in status(kube, name, plural, namespace)
    else:
        assert kube.get("v1", "configmaps", namespace, name) is None
        assert "application" not in status(kube, name, plural, namespace)
    warnings = [e for e in scenario.events(kube, name, namespace) if e["type"] == "Warning"]
    assert warnings and reason in warnings[-1]["message"]
    return str(ready["message"])


def team_b_reached_the_cloud(calls: list[SignedCall]) -> list[SignedCall]:
    """Calls for what team-b tried to reach through accesses it may not use, any GetApplication (no
    RamApplication here may make one), and calls for team-b signed with team-a's or the cluster's key."""
    return [c for c in calls if c.target in TEAM_B_TOKEN_IDS or c.action == GET_APPLICATION
            or (c.access_key_id in (CLUSTER_AK_ID, STS_AK_ID) and c.target.startswith("token_b_"))]


# --- the attempts ---------------------------------------------------------------------------------


async def test_a_cloud_access_of_another_namespace_cannot_be_used(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    before = len(signed_calls)

    # cloudAccessRef has no namespace: kubectl (strict field validation) refuses one outright...
    across = a_token("explicit", "token_b_steal", TEAM_B, {**TEAM_A_ACCESS, "namespace": TEAM_A})
    with pytest.raises(ApiError) as caught:
        kube.create(across, strict=True)
    assert caught.value.code == 400 and 'unknown field "spec.cloudAccessRef.namespace"' in caught.value.message
    # ...and a plain POST prunes it: the name is looked up in team-b, where it does not exist.
    created = kube.create(across)
    assert created["spec"]["cloudAccessRef"] == TEAM_A_ACCESS
    kube.create(a_token("by-name", "token_b_steal", TEAM_B, TEAM_A_ACCESS))
    kube.create(scenario.ram_application("ram-by-name", namespace=TEAM_B, cloudAccessRef=TEAM_A_ACCESS))
    for name, plural in [("explicit", "applicationtokens"), ("by-name", "applicationtokens"),
                         ("ram-by-name", "ramapplications")]:
        await eventually(has_reason(kube, name, "CloudAccessNotFound", plural, TEAM_B))
        message = refused(kube, name, "CloudAccessNotFound", plural=plural)
        assert "CloudAccess 'team-a-access' not found in namespace 'team-b'" in message
        assert "next attempt" in message

    assert team_b_reached_the_cloud(signed_calls[before:]) == []
    assert cloud.calls(GET_APPLICATION) == 0
    no_secret_anywhere(kube, cloud, caplog)


async def test_a_cluster_cloud_access_serves_only_the_namespaces_its_selector_matches(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    kube.create(scenario.namespace("unlabelled"))
    before = len(signed_calls)

    # A ClusterCloudAccess without a namespaceSelector cannot exist (it would be ambiguous).
    with pytest.raises(ApiError) as caught:
        kube.create(scenario.cluster_cloud_access(cloud, name="open-by-accident", secret_name="restricted-ak"))
    assert caught.value.code == 422 and "spec.namespaceSelector: Required value" in caught.value.message

    kube.create(a_token("steal", "token_b_steal", TEAM_B, RESTRICTED))
    kube.create(scenario.ram_application("ram-steal", namespace=TEAM_B, cloudAccessRef=RESTRICTED))
    kube.create(a_token("steal", "token_b_steal", "unlabelled", RESTRICTED))
    kube.create(a_token("no-default", "token_b_steal", TEAM_B, None))  # no ClusterCloudAccess "default" here
    for name, plural, namespace in [("steal", "applicationtokens", TEAM_B), ("ram-steal", "ramapplications", TEAM_B),
                                    ("steal", "applicationtokens", "unlabelled")]:
        await eventually(has_reason(kube, name, "CloudAccessForbidden", plural, namespace))
        message = refused(kube, name, "CloudAccessForbidden", plural=plural, namespace=namespace)
        assert f"ClusterCloudAccess 'restricted' does not allow namespace '{namespace}'" in message
        assert "namespaceSelector" in message and "ask the cluster admin" in message
    await eventually(has_reason(kube, "no-default", "CloudAccessNotFound", namespace=TEAM_B))
    assert "no cloudAccessRef given" in refused(kube, "no-default", "CloudAccessNotFound")

    # Failed attempts back off; in an hour none of them gets a single call through.
    await asyncio.sleep(3600)
    assert status(kube, "steal", namespace=TEAM_B)["failedAttempts"] >= 3
    assert team_b_reached_the_cloud(signed_calls[before:]) == []
    assert cloud.calls(GET_APPLICATION) == 0

    # The admin narrows the selector: team-a loses the access at once (not at its next planned
    # read), makes no further call with its key, and keeps its last Secret (as for any failure).
    good = secret_data(kube, "via-cluster", TEAM_A)
    obtained = [c for c in signed_calls if c.access_key_id == CLUSTER_AK_ID]
    assert obtained  # team-a's read went through the cluster key: the recorder sees it
    kube.apply(restricted_access(cloud, {"matchLabels": {TENANT_LABEL: "nobody"}}))
    await eventually(has_reason(kube, "via-cluster", "CloudAccessForbidden", namespace=TEAM_A), timeout=10)
    await asyncio.sleep(2 * 3600)
    assert [c for c in signed_calls if c.access_key_id == CLUSTER_AK_ID] == obtained
    assert secret_data(kube, "via-cluster", TEAM_A) == good
    assert condition(kube, "via-cluster", namespace=TEAM_A)["reason"] == "CloudAccessForbidden"
    # A person must act: kstatus (Flux's health checks) reads Stalled as failed, not in progress.
    stalled = condition(kube, "via-cluster", namespace=TEAM_A, condition_type="Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "CloudAccessForbidden")
    assert condition(kube, "via-local", namespace=TEAM_A)["status"] == "True"  # its own access is untouched
    assert condition(kube, "via-local", namespace=TEAM_A, condition_type="Stalled") == {}
    no_secret_anywhere(kube, cloud, caplog)


async def test_a_secret_ref_cannot_cross_namespaces(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    before = len(signed_calls)

    # A ClusterCloudAccess names its Secret's namespace: the cluster admin's choice, kept as written.
    stored = kube.get(API, "clustercloudaccesses", None, "restricted") or {}
    assert stored["spec"]["auth"]["accessKey"]["secretRef"] == {
        "name": "restricted-ak", "namespace": SYSTEM_NS, "accessKeyIdKey": "accessKeyId",
        "accessKeySecretKey": "accessKeySecret", "securityTokenKey": "securityToken"}

    # A namespaced CloudAccess has no secretRef.namespace: strict validation refuses it, a plain
    # POST prunes it, and the Secret is then looked up in team-b, where there is none.
    stolen = tenant_cloud_access(cloud, "stolen-ak", TEAM_B, "team-a-ak")
    stolen["spec"]["auth"]["accessKey"]["secretRef"]["namespace"] = TEAM_A
    with pytest.raises(ApiError) as caught:
        kube.create(stolen, strict=True)
    assert caught.value.code == 400
    assert 'unknown field "spec.auth.accessKey.secretRef.namespace"' in caught.value.message
    assert "namespace" not in kube.create(stolen)["spec"]["auth"]["accessKey"]["secretRef"]
    # Nor can it borrow the operator's own identity (ambient is ClusterCloudAccess only).
    ambient = tenant_cloud_access(cloud, "ambient", TEAM_B, "team-b-ak")
    ambient["spec"]["auth"] = {"ambient": {}}
    with pytest.raises(ApiError) as caught:
        kube.create(ambient, strict=True)
    assert caught.value.code == 400 and 'unknown field "spec.auth.ambient"' in caught.value.message
    with pytest.raises(ApiError) as caught:
        kube.create(ambient)
    assert caught.value.code == 422 and "set exactly one of accessKey, rrsa" in caught.value.message

    kube.create(a_token("steal", "token_b_steal", TEAM_B, {"kind": "CloudAccess", "name": "stolen-ak"}))
    await eventually(has_reason(kube, "stolen-ak", "InvalidCredentials", "cloudaccesses", TEAM_B))
    assert "Secret team-b/team-a-ak with the AccessKey was not found" in condition(
        kube, "stolen-ak", "cloudaccesses", TEAM_B)["message"]
    assert not status(kube, "stolen-ak", "cloudaccesses", TEAM_B).get("identity")
    await eventually(has_reason(kube, "steal", "InvalidCredentials", namespace=TEAM_B))
    assert "Secret team-b/team-a-ak with the AccessKey was not found" in refused(kube, "steal", "InvalidCredentials")

    # The target Secret has no namespace either: pruned, so team-b writes only into team-b.
    team_a_secret = kube.get("v1", "secrets", TEAM_A, "via-cluster")
    across = a_token("write-across", "token_b_own", TEAM_B, TEAM_B_ACCESS,
                     secret={"name": "via-cluster", "namespace": TEAM_A})
    with pytest.raises(ApiError) as caught:
        kube.create(across, strict=True)
    assert caught.value.code == 400 and 'unknown field "spec.secret.namespace"' in caught.value.message
    kube.create(across)
    await eventually(is_ready(kube, "write-across", namespace=TEAM_B))
    assert (secret_data(kube, "via-cluster", TEAM_B) or {}).get("token") == TOKENS["token_b_own"]
    assert kube.get("v1", "secrets", TEAM_A, "via-cluster") == team_a_secret

    assert team_b_reached_the_cloud(signed_calls[before:]) == []
    # team-b's own read was signed with team-b's own key, nothing else.
    assert {c.access_key_id for c in signed_calls[before:]} == {TEAM_B_AK_ID}
    no_secret_anywhere(kube, cloud, caplog)


async def test_a_secret_or_config_map_tokensync_did_not_create_is_never_overwritten(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-settings", "namespace": TEAM_A},
                 "data": {"feature": "on"}})
    untouched = {(kind, name): kube.get("v1", kind, TEAM_A, name) for kind, name in
                 [("secrets", "team-a-ak"), ("secrets", "via-local"), ("configmaps", "app-settings")]}

    # The AccessKey Secret itself, another ApplicationToken's Secret, someone's ConfigMap.
    kube.create(a_token("grab-ak", "token_a_probe", TEAM_A, TEAM_A_ACCESS, secret={"name": "team-a-ak"}))
    kube.create(a_token("grab-other", "token_a_probe", TEAM_A, TEAM_A_ACCESS, secret={"name": "via-local"}))
    kube.create(scenario.ram_application("grab-config", namespace=TEAM_A, cloudAccessRef=TEAM_A_ACCESS,
                                         configMap={"name": "app-settings"}))
    for name, plural, target in [("grab-ak", "applicationtokens", "Secret 'team-a-ak'"),
                                 ("grab-other", "applicationtokens", "Secret 'via-local'"),
                                 ("grab-config", "ramapplications", "ConfigMap 'app-settings'")]:
        await eventually(has_reason(kube, name, "SecretConflict", plural, TEAM_A))
        message = refused(kube, name, "SecretConflict", plural=plural, namespace=TEAM_A)
        if name == "grab-other":  # another live resource writes it: named, as the one to talk to
            assert f"{target} is written by ApplicationToken {TEAM_A}/via-local" in message
            assert "point this one at another name" in message
        else:
            assert f"{target} already exists and was not created by" in message
            assert ("delete it, or choose another spec.configMap.name" if plural == "ramapplications" else
                    "delete it, choose another secret name, or set creationPolicy: Merge") in message
        assert "SecretConflict" in scenario.event_reasons(kube, name, TEAM_A)

    await asyncio.sleep(3600)  # retries back off and never write
    for (kind, name), before in untouched.items():
        assert kube.get("v1", kind, TEAM_A, name) == before, f"{kind}/{name} was changed"
    assert condition(kube, "team-a-access", "cloudaccesses", TEAM_A)["status"] == "True"  # its key still works
    assert condition(kube, "via-local", namespace=TEAM_A)["status"] == "True"
    conflicts = [c for c in signed_calls if c.target == "token_a_probe"]
    assert conflicts and len(conflicts) <= 2 * 12  # read with team-a's own key, then backoff: no quota burn
    assert {c.access_key_id for c in conflicts} == {STS_AK_ID}
    no_secret_anywhere(kube, cloud, caplog)


async def test_renewals_show_no_piece_of_any_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Extend (through the STS credentials) and Rotate (through the cluster key): a create refused
    for a missing permission (RenewalFailed), a create whose answer is lost (found again by
    listing), the rotation, the rollout of the new value and the retirement of the old token. Every
    Event, every status seen along the way (pendingRotation and retiringTokens are transient) and
    the logs and metrics hold no piece of any token, key secret or security token."""
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    for token_id, value in RENEWED_TOKENS.items():
        cloud.add_token(token_id, lifetime=timedelta(hours=1), value=value)
    key = cloud.state.access_keys[CLUSTER_AK_ID]
    key.allowed_actions = ["eiam:ObtainApplicationToken", "eiam:ListApplicationTokens",
                           "eiam:DisableApplicationToken", "eiam:DeleteApplicationToken"]  # not yet Create
    snapshots: list[str] = []

    def snapshot() -> None:
        seen = repr(kube.list(API, "applicationtokens", TEAM_A))
        if not snapshots or snapshots[-1] != seen:
            snapshots.append(seen)

    for action in (CREATE, "ListApplicationTokens"):  # statuses as they are while a rotation is pending
        original = cloud_app.OPERATIONS[action]

        def handler(ctx: CallContext, _original: Callable[[CallContext], dict[str, Any]] = original.handler,
                    ) -> dict[str, Any]:
            snapshot()
            return _original(ctx)

        monkeypatch.setitem(cloud_app.OPERATIONS, action, dataclasses.replace(original, handler=handler))
    kube.create(a_token("rotating", "token_a_rotate", TEAM_A, RESTRICTED,
                        renewal={"strategy": "Rotate", "retireAfter": "1m"}))
    kube.create(a_token("extending", "token_a_extend", TEAM_A, TEAM_A_ACCESS))
    for name in ("rotating", "extending"):
        await eventually(is_ready(kube, name, namespace=TEAM_A))

    async def watch(minutes: int) -> None:
        for _ in range(minutes * 6):
            await asyncio.sleep(10)
            snapshot()

    await watch(45)  # past both renewal moments: Extend succeeds, Rotate is refused
    assert "RenewalFailed" in scenario.event_reasons(kube, "rotating", TEAM_A)
    assert "eiam:CreateApplicationToken" in condition(kube, "rotating", namespace=TEAM_A)["message"]
    key.allowed_actions = ["*"]  # the admin grants it; the next create's answer is lost on the way
    cloud.inject_fault(action=CREATE, body="truncated", times=1)
    await watch(20)
    current = status(kube, "rotating", namespace=TEAM_A)["applicationTokenId"]
    assert current != "token_a_rotate" and "token_a_rotate" not in cloud.state.tokens  # rotated, retired
    assert (secret_data(kube, "rotating", TEAM_A) or {}).get("token") == cloud.token_value(current)
    assert len(CREATED_VALUES) == 1
    reasons = scenario.event_reasons(kube, "rotating", TEAM_A) + scenario.event_reasons(kube, "extending", TEAM_A)
    assert {"Extended", "Rotated", "Retired", "RenewalFailed"} <= set(reasons), reasons
    assert any("pendingRotation" in seen for seen in snapshots) and any("retireAt" in seen for seen in snapshots)
    assert status(kube, "extending", namespace=TEAM_A).get("lastRenewalTime")
    no_secret_anywhere(kube, cloud, caplog, *snapshots)


SANDBOX_ESCAPES = {
    # resource name: template trying to reach Python, the filesystem or the environment
    "mro": "{{ token.__class__.__mro__[1].__subclasses__() }}",
    "format": "{{ '{0.__class__.__init__.__globals__}'.format(token) }}",
    "attr-filter": "{{ token | attr('__class__') }}",
    "context": "{{ self._TemplateReference__context }}",
    "include": "{% include '/etc/passwd' %}",
    "import": "{% import '/proc/self/environ' as env %}{{ env }}",
    "globals": "{{ cycler.__init__.__globals__.os.environ }}",
    "flask-config": "{{ config.items() }}",
    "popen": "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "mutate": "{% set d = {} %}{{ d.update({'a': token}) }}",
    "echo-token": "{{ {}[token] }}",  # an error whose text would hold the token: redacted
}
WHY_REFUSED = {
    "mro": "not allowed in the sandbox", "format": "not allowed in the sandbox",
    "attr-filter": "No filter named 'attr'", "context": "not allowed in the sandbox",
    "include": "include is not available", "import": "import is not available", "globals": "not allowed in the sandbox",
    "flask-config": "'config' is undefined", "popen": "'lipsum' is undefined",
    "mutate": "not allowed in the sandbox", "echo-token": "<value>",
}


async def test_a_template_cannot_escape_the_sandbox(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await two_tenants(kube, cloud, clock)
    for name, template in SANDBOX_ESCAPES.items():
        kube.create(a_token(name, "token_a_probe", TEAM_A, TEAM_A_ACCESS, secret={"template": {"k": template}}))
    # A good Secret turned bad by an edit keeps its last content.
    good = secret_data(kube, "via-local", TEAM_A)
    kube.patch(API, "applicationtokens", TEAM_A, "via-local",
               {"spec": {"secret": {"template": {"k": SANDBOX_ESCAPES["mro"]}}}})

    for name in SANDBOX_ESCAPES:
        await eventually(has_reason(kube, name, "InvalidSpec", namespace=TEAM_A))
        message = refused(kube, name, "InvalidSpec", namespace=TEAM_A)
        assert "secret.template['k']" in message and WHY_REFUSED[name] in message, message
        assert "fix the spec to retry" in message
    await eventually(has_reason(kube, "via-local", "InvalidSpec", namespace=TEAM_A))
    assert "the last Secret is kept" in condition(kube, "via-local", namespace=TEAM_A)["message"]

    reads = len(signed_calls)
    await asyncio.sleep(3 * 3600)  # an invalid spec is not retried until it changes
    assert secret_data(kube, "via-local", TEAM_A) == good
    assert [c for c in signed_calls[reads:] if c.target == "token_a_probe"] == []
    no_secret_anywhere(kube, cloud, caplog)


def test_a_template_cannot_exhaust_the_operators_memory() -> None:
    values = {"token": TOKENS["token_a_probe"], "tokenType": "bearer_token", "expiresAt": "2026-11-22T12:00:00Z"}
    template = "{{ token * 500000 }}"  # ~17 MB here; `* 10**9` is tens of GB and kills the operator
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError, match=r"too large|larger than"):
            render_templates({"k": template}, values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_TEMPLATE_OUTPUT, f"rendering a refused template took {peak / 2**20:.0f} MiB"


async def test_a_namespaced_cloud_access_cannot_send_the_operators_files_anywhere(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    signed_calls: list[SignedCall], caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Stands for /var/run/secrets/kubernetes.io/serviceaccount/token or the operator's RRSA token.
    operator_file = tmp_path / "operator-service-account-token"
    operator_file.write_text("OPERATOR-SA-TOKEN-CANARY-1f0e9d8c7b6a\n")
    kube.create(scenario.namespace(TEAM_B, {TENANT_LABEL: "b"}))
    access = tenant_cloud_access(cloud, "exfiltrate", TEAM_B, "unused")  # endpoints: a URL team-b chose
    access["spec"]["auth"] = {"rrsa": {"roleArn": f"acs:ram::{ACCOUNT}:role/tokensync-demo",
                                       "oidcProviderArn": f"acs:ram::{ACCOUNT}:oidc-provider/ack-rrsa-demo",
                                       "tokenFile": str(operator_file)}}
    # The token file is the operator's to choose, never a namespace's; nor where the operator's
    # OIDC token and the role's credentials are sent.
    with pytest.raises(ApiError) as caught:
        kube.create(access)
    assert caught.value.code == 422 and "cannot choose the token file" in caught.value.message
    access["spec"]["auth"]["rrsa"]["tokenFile"] = DEFAULT_RRSA_TOKEN_FILE  # ACK's default: accepted ...
    with pytest.raises(ApiError) as caught:
        kube.create(access)
    assert caught.value.code == 422 and "cannot set endpoints" in caught.value.message  # ... endpoints not
    # What is left (the region's endpoints, the operator's token file) still signs in as the
    # operator: refused unless the operator runs with --allow-namespaced-rrsa (this one does not).
    del access["spec"]["endpoints"], access["spec"]["auth"]["rrsa"]["tokenFile"]
    kube.create(access)
    kube.create(a_token("steal", "token_b_steal", TEAM_B, {"kind": "CloudAccess", "name": "exfiltrate"}))
    await eventually(has_reason(kube, "steal", "CloudAccessForbidden", namespace=TEAM_B))
    assert "--allow-namespaced-rrsa" in condition(kube, "steal", namespace=TEAM_B)["message"]
    await eventually(has_reason(kube, "exfiltrate", "CloudAccessForbidden", "cloudaccesses", TEAM_B))
    assert [c for c in signed_calls if c.action == ASSUME_ROLE_WITH_OIDC] == []
    assert "OPERATOR-SA-TOKEN-CANARY" not in caplog.text
