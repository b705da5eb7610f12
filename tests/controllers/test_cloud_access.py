"""CloudAccess and ClusterCloudAccess: who the credentials are, and what happens when they change."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import NS, condition, eventually, has_reason, is_ready, status
from tokensync.clock import LoopClock
from tokensync.cloud.client import HttpPool
from tokensync.controllers.access_resolver import UNWATCHED_READ_TTL, AccessProblem, AccessResolver, NamespacedRrsa
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.cloud.state import DEMO_OIDC_ISSUER, DEMO_OIDC_PROVIDER_ARN, DEMO_ROLE_ARN
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.kube.config import load_connection_settings
from tokensync.kube.resources import Resource
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator, running_operator

pytestmark = FAST_FORWARD


async def test_status_shows_the_identity_behind_the_credentials(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.access_key_secret(namespace=NS))
    kube.create(scenario.cloud_access(cloud))
    await eventually(is_ready(kube, "default", "clustercloudaccesses", None))
    await eventually(is_ready(kube, "idaas", "cloudaccesses"))
    identity = status(kube, "default", "clustercloudaccesses", None)["identity"]
    assert identity["accountId"] == "1234567890123456"
    assert identity["arn"].startswith("acs:ram::1234567890123456:")
    assert status(kube, "idaas", "cloudaccesses")["identity"] == identity


async def test_a_deleted_access_leaves_no_metric_behind(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.access_key_secret(namespace=NS))
    kube.create(scenario.cloud_access(cloud, name="short-lived"))
    await eventually(is_ready(kube, "short-lived", "cloudaccesses"))
    series = f'tokensync_resource_ready{{kind="CloudAccess",name="short-lived",namespace="{NS}"}} 1.0'
    assert series in metrics.render().decode()
    kube.delete(scenario.API, "cloudaccesses", NS, "short-lived")
    await eventually(lambda: 'name="short-lived"' not in metrics.render().decode())


async def test_bad_credentials_show_on_the_access_and_a_fix_reaches_its_users(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    kube.create(scenario.namespace(scenario.SYSTEM_NS))
    kube.create(scenario.namespace(NS))
    kube.create(scenario.access_key_secret(secret="not-the-secret"))
    kube.create(scenario.cluster_cloud_access(cloud, selector={}))
    kube.create(scenario.application_token())
    await eventually(has_reason(kube, "default", "InvalidCredentials", "clustercloudaccesses", None))
    await eventually(has_reason(kube, "billing-api", "InvalidCredentials"))
    assert "SignatureDoesNotMatch" in condition(kube, "billing-api")["message"]

    # Fixing the Secret re-evaluates the access and wakes the token at once, not at its next backoff.
    kube.apply(scenario.access_key_secret())
    await eventually(is_ready(kube, "default", "clustercloudaccesses", None), timeout=5)
    await eventually(is_ready(kube, "billing-api"), timeout=5)


async def test_a_missing_access_secret_or_access_is_reported(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    kube.create(scenario.namespace(scenario.SYSTEM_NS))
    kube.create(scenario.namespace(NS))
    kube.create(scenario.cluster_cloud_access(cloud, selector={}, secret_name="absent"))
    kube.create(scenario.application_token())
    kube.create(scenario.application_token("no-access", cloudAccessRef={"kind": "CloudAccess", "name": "nope"}))
    await eventually(has_reason(kube, "default", "InvalidCredentials", "clustercloudaccesses", None))
    assert "absent" in condition(kube, "default", "clustercloudaccesses", None)["message"]
    await eventually(has_reason(kube, "no-access", "CloudAccessNotFound"))
    assert "'nope'" in condition(kube, "no-access")["message"]


async def test_a_namespaced_access_cannot_read_a_secret_elsewhere(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """secretRef of a namespaced CloudAccess has no namespace field: kubectl (strict field
    validation) refuses one, and a plain POST prunes it, as a real API server does."""
    scenario.standard_cluster(kube, cloud)
    access = scenario.cloud_access(cloud)
    access["spec"]["auth"]["accessKey"]["secretRef"]["namespace"] = scenario.SYSTEM_NS
    with pytest.raises(ApiError, match="namespace"):
        kube.create(access, strict=True)
    created = kube.create(access)
    assert "namespace" not in created["spec"]["auth"]["accessKey"]["secretRef"]
    # The Secret is looked up in the access's own namespace, where there is none.
    kube.create(scenario.application_token(cloudAccessRef={"kind": "CloudAccess", "name": "idaas"}))
    await eventually(has_reason(kube, "billing-api", "InvalidCredentials"))
    assert f"{NS}/tokensync-ak" in condition(kube, "billing-api")["message"]


async def test_a_watch_that_lists_again_does_not_re_read_every_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """After 410 Gone the watches list everything again, the AccessKey Secret included: that is
    not a change of credentials, and the tokens of a working access are not read again."""
    scenario.standard_cluster(kube, cloud)
    names = [f"app-{i}" for i in range(10)]
    for name in names:
        kube.create(scenario.application_token(name))
    await eventually(lambda: all(is_ready(kube, name)() for name in names))
    reads = cloud.calls("ObtainApplicationToken")
    for _ in range(3):
        kube.expire_watch_history()
        kube.close_watches()
        await asyncio.sleep(120)
    assert cloud.calls("ObtainApplicationToken") == reads

    # A real change of the Secret still reaches every token that uses it.
    kube.apply(scenario.access_key_secret())
    kube.patch("v1", "secrets", scenario.SYSTEM_NS, "tokensync-ak", {"metadata": {"labels": {"rotated": "yes"}}})
    await eventually(lambda: cloud.calls("ObtainApplicationToken") >= reads + len(names), timeout=60)


async def test_watching_some_namespaces_still_notices_a_rotated_access_key(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
) -> None:
    # `tokensync run -n demo`: no watch covers tokensync-system, where the ClusterCloudAccess's
    # AccessKey Secret lives, so no event says it was rotated. The operator must not keep using
    # what it read first: a platform team rotates the key and disables the old one.
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    connection = load_connection_settings(str(kubeconfig))
    async with running_operator(Operator(connection, clock=clock), namespaces=[NS],
                                settings=operator_settings()):
        await eventually(is_ready(kube, "billing-api"))
        cloud.add_access_key("LTAIrotated0000000000001", "the-rotated-secret")
        kube.apply(scenario.access_key_secret(key_id="LTAIrotated0000000000001", secret="the-rotated-secret"))
        cloud.add_access_key(scenario.AK_ID, scenario.AK_SECRET, enabled=False)
        kube.patch(scenario.API, "applicationtokens", NS, "billing-api",
                   {"metadata": {"annotations": {"tokensync.dev/force-sync": "after-rotation"}}})
        # The first read may still use the old key and fail; the Secret is read again within
        # UNWATCHED_READ_TTL, and the retry after that uses the new key.
        await eventually(lambda: status(kube, "billing-api").get("lastForceSync") == "after-rotation"
                         and condition(kube, "billing-api")["status"] == "True",
                         timeout=UNWATCHED_READ_TTL.total_seconds() + 120)


async def test_a_cloud_access_created_after_its_token_serves_it_at_once(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    # GitOps applies in any order: the token first, its access minutes later.
    kube.create(scenario.namespace(scenario.SYSTEM_NS))
    kube.create(scenario.namespace(NS))
    kube.create(scenario.access_key_secret())
    kube.create(scenario.application_token())
    await eventually(has_reason(kube, "billing-api", "CloudAccessNotFound"))
    await asyncio.sleep(20 * 60)  # long enough for its backoff to have grown to many minutes
    kube.create(scenario.cluster_cloud_access(cloud, selector={}))
    await eventually(is_ready(kube, "billing-api"), timeout=5)


async def test_a_region_without_eiam_is_a_clear_spec_problem_and_ram_applications_still_work(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    # EIAM is in seven regions only; eiam.us-west-1.aliyuncs.com does not exist. IMS is central.
    kube.create(scenario.namespace(scenario.SYSTEM_NS))
    kube.create(scenario.namespace(NS))
    kube.create(scenario.access_key_secret())
    access = scenario.cluster_cloud_access(cloud, selector={})
    access["spec"]["regionId"] = "us-west-1"
    access["spec"]["endpoints"] = {"ims": cloud.url, "sts": cloud.url}
    kube.create(access)
    kube.create(scenario.application_token())
    kube.create(scenario.ram_application())

    await eventually(has_reason(kube, "default", "InvalidSpec", "clustercloudaccesses", None))
    ready = condition(kube, "default", "clustercloudaccesses", None)
    assert ready["status"] == "False"
    for words in ("us-west-1", "cn-hangzhou", "cn-beijing", "cn-hongkong", "ap-northeast-2", "ap-southeast-1",
                  "ap-southeast-5", "eu-central-1", "endpoints.eiam", "RamApplication"):
        assert words in ready["message"], words
    # The credentials were still checked, and work.
    assert status(kube, "default", "clustercloudaccesses", None)["identity"]["accountId"] == "1234567890123456"

    await eventually(has_reason(kube, "billing-api", "InvalidSpec"))
    token_message = condition(kube, "billing-api")["message"]
    assert "us-west-1" in token_message and "endpoints.eiam" in token_message and "eu-central-1" in token_message
    await eventually(is_ready(kube, "portal", "ramapplications"))
    assert cloud.calls("ObtainApplicationToken") == 0  # nothing was sent to a host that does not exist

    # Naming the EIAM endpoint (a VPC endpoint, here the emulator) fixes both.
    kube.patch(scenario.API, "clustercloudaccesses", None, "default",
               {"spec": {"endpoints": {"eiam": cloud.url, "ims": cloud.url, "sts": cloud.url}}})
    await eventually(is_ready(kube, "default", "clustercloudaccesses", None), timeout=5)
    await eventually(is_ready(kube, "billing-api"), timeout=60)


class _StoredObjects:
    """Just enough of KubeClient for the access resolver: objects by (plural, namespace, name)."""

    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.objects = objects

    async def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource.plural, namespace or "", name))


@pytest.mark.parametrize(("region", "eiam", "problem"), [
    ("us-west-1", None, True),
    ("us-west-1", "https://eiam-vpc.example.internal", False),
    ("ap-southeast-5", None, False),
])
async def test_the_resolver_refuses_eiam_users_of_a_region_without_eiam(
    region: str, eiam: str | None, problem: bool
) -> None:
    secret = {"metadata": {"name": "ak", "namespace": "ops", "resourceVersion": "1"},
              "data": {"accessKeyId": base64.b64encode(b"id").decode(),
                       "accessKeySecret": base64.b64encode(b"secret").decode()}}
    spec: dict[str, Any] = {"regionId": region, "namespaceSelector": {},
                            "auth": {"accessKey": {"secretRef": {"name": "ak", "namespace": "ops"}}}}
    if eiam:
        spec["endpoints"] = {"eiam": eiam}
    kube = _StoredObjects({
        ("clustercloudaccesses", "", "default"): {"metadata": {"name": "default", "generation": 1}, "spec": spec},
        ("namespaces", "", NS): {"metadata": {"name": NS}},
        ("secrets", "ops", "ak"): secret,
    })
    pool = HttpPool()
    resolver = AccessResolver(kube, pool, LoopClock(datetime(2026, 1, 1, tzinfo=UTC)))  # type: ignore[arg-type]
    try:
        # RamApplication (no service named): always served, IMS is central.
        resolved = await resolver.resolve(NS, None, dependent=("RamApplication", (NS, "portal")))
        assert resolved.client.endpoints.ims == "https://ims.aliyuncs.com"
        assert (resolved.eiam_problem is not None) is problem
        if problem:
            with pytest.raises(AccessProblem) as caught:
                await resolver.resolve(NS, None, dependent=("ApplicationToken", (NS, "t")), service="eiam")
            assert caught.value.reason == "InvalidSpec"
            assert caught.value.message.startswith("ClusterCloudAccess 'default': IDaaS EIAM has no endpoint in "
                                                   f"region {region}")
            assert "endpoints.eiam" in caught.value.message and "cn-hangzhou" in caught.value.message
        else:
            served = await resolver.resolve(NS, None, dependent=("ApplicationToken", (NS, "t")), service="eiam")
            assert served.client.endpoints.eiam == (eiam or f"https://eiam.{region}.aliyuncs.com")
    finally:
        await pool.aclose()


def oidc_token(cloud: CloudEmulator) -> str:
    """A projected ServiceAccount token as ACK's RRSA mounts it (the emulator checks iss, aud, exp)."""
    claims = {"iss": DEMO_OIDC_ISSUER, "aud": "sts.aliyuncs.com", "sub": "system:serviceaccount:tokensync:tokensync",
              "exp": int((cloud.clock.now() + timedelta(hours=12)).timestamp())}

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


async def test_a_namespaced_rrsa_access_works_only_where_the_operator_allows_it(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock, tmp_path: Path,
) -> None:
    token_file = tmp_path / "rrsa-token"
    token_file.write_text(oidc_token(cloud))
    kube.create(scenario.namespace(NS))
    access = scenario.cloud_access(cloud, name="team-role")
    access["spec"]["auth"] = {"rrsa": {"roleArn": DEMO_ROLE_ARN, "oidcProviderArn": DEMO_OIDC_PROVIDER_ARN}}
    del access["spec"]["endpoints"]  # a namespace may not choose where the operator's token goes
    kube.create(access)
    kube.create(scenario.application_token(cloudAccessRef={"kind": "CloudAccess", "name": "team-role"}))
    connection = load_connection_settings(str(kubeconfig))

    # Off by default, as cert-manager refuses ambient credentials to namespaced Issuers.
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(has_reason(kube, "team-role", "CloudAccessForbidden", "cloudaccesses"))
        await eventually(has_reason(kube, "billing-api", "CloudAccessForbidden"))
    assert "--allow-namespaced-rrsa" in condition(kube, "team-role", "cloudaccesses")["message"]
    assert cloud.calls("AssumeRoleWithOIDC") == 0

    # Allowed: the operator's token file and STS endpoint (here the emulator's), the namespace's role.
    allowed = NamespacedRrsa(token_file=str(token_file), endpoints=scenario.endpoints(cloud))
    async with running_operator(Operator(connection, clock=clock, namespaced_rrsa=allowed),
                                settings=operator_settings()):
        await eventually(is_ready(kube, "team-role", "cloudaccesses"))
        kube.patch(scenario.API, "applicationtokens", NS, "billing-api",
                   {"metadata": {"annotations": {"tokensync.dev/force-sync": "allowed"}}})
        await eventually(is_ready(kube, "billing-api"))
    assert ":assumed-role/tokensync-demo/" in status(kube, "team-role", "cloudaccesses")["identity"]["arn"]
    assert cloud.calls("AssumeRoleWithOIDC") >= 1
