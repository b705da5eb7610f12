"""Every example: valid against its CRD and model; those the sandbox cannot run, run here."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests import scenario
from tests.api.schema_helpers import schema_errors
from tests.conftest import FAST_FORWARD
from tests.scenario import eventually
from tokensync.api import ApplicationTokenSpec, CloudAccessSpec, ClusterCloudAccessSpec, RamApplicationSpec
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.cloud.state import OidcProvider, Role
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime.operator import Operator
from tokensync.sandbox import point_at_emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC_MODELS: dict[str, type[BaseModel]] = {
    "ApplicationToken": ApplicationTokenSpec,
    "RamApplication": RamApplicationSpec,
    "CloudAccess": CloudAccessSpec,
    "ClusterCloudAccess": ClusterCloudAccessSpec,
}
FILES = sorted(EXAMPLES.rglob("*.yaml"))


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_examples_cover_every_kind_and_the_readme_lists_every_file() -> None:
    kinds = {d["kind"] for path in FILES for d in documents(path)}
    assert set(SPEC_MODELS) <= kinds
    readme = (EXAMPLES / "README.md").read_text()
    for path in FILES:
        assert f"`{path.relative_to(EXAMPLES)}`" in readme


def test_sandbox_examples_are_numbered_and_namespace_comes_first() -> None:
    top = sorted(EXAMPLES.glob("*.yaml"))
    assert all(path.name[:2].isdigit() for path in top)
    first = documents(top[0])[0]
    assert (first["kind"], first["metadata"]["name"]) == ("Namespace", "demo")


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_validates_against_crd_schema_and_model(path: Path) -> None:
    for document in documents(path):
        kind = document["kind"]
        if kind not in SPEC_MODELS:
            continue
        assert document["apiVersion"] == "tokensync.dev/v1alpha1"
        assert schema_errors(kind, document) == []
        SPEC_MODELS[kind].model_validate(document["spec"])
        if kind in ("ApplicationToken", "RamApplication", "CloudAccess") and "not-in-sandbox" not in str(path):
            assert document["metadata"]["namespace"] == "demo"


# --- examples/not-in-sandbox, applied against both emulators with the operator running ---------
# They need what the sandbox has not: an OIDC token file (RRSA) or the operator's own identity
# (ambient). Here the cloud emulator is given the role and OIDC provider they name, the endpoints
# point at it as in the sandbox, and a Ready access shows the assumed role as its identity.

def not_in_sandbox(name: str, cloud: CloudEmulator) -> dict[str, Any]:
    (document,) = documents(EXAMPLES / "not-in-sandbox" / name)
    return point_at_emulator(document, cloud.url)


def oidc_token(issuer: str, cloud: CloudEmulator) -> str:
    """A projected ServiceAccount token as ACK mounts it for RRSA (the emulator checks iss, aud, exp)."""
    claims = {"iss": issuer, "aud": "sts.aliyuncs.com", "sub": "system:serviceaccount:tokensync:tokensync",
              "exp": int((cloud.clock.now() + timedelta(hours=12)).timestamp())}

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@FAST_FORWARD
async def test_rrsa_example_signs_in_as_its_role_for_the_namespaces_it_selects(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, tmp_path: Path
) -> None:
    access = not_in_sandbox("cluster-cloud-access-rrsa.yaml", cloud)
    rrsa = access["spec"]["auth"]["rrsa"]
    issuer = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c0123456789abcdef"
    cloud.state.oidc_providers[rrsa["oidcProviderArn"]] = OidcProvider(arn=rrsa["oidcProviderArn"], issuer=issuer)
    cloud.state.roles[rrsa["roleArn"]] = Role(arn=rrsa["roleArn"])
    # Substituted: the default token path (/var/run/secrets/ack.alibabacloud.com/...) is ACK's mount.
    token_file = tmp_path / "rrsa-token"
    token_file.write_text(oidc_token(issuer, cloud))
    rrsa["tokenFile"] = str(token_file)
    for name in ("billing", "demo"):
        kube.create(scenario.namespace(name))
        kube.create(scenario.application_token(namespace=name, cloudAccessRef={"kind": "ClusterCloudAccess",
                                                                                "name": "rrsa"}))
    kube.create(access)

    await eventually(scenario.is_ready(kube, "rrsa", "clustercloudaccesses", None))
    identity = scenario.status(kube, "rrsa", "clustercloudaccesses", None)["identity"]
    assert identity == {"accountId": "1234567890123456",
                        "arn": "acs:ram::1234567890123456:assumed-role/tokensync-operator/tokensync"}
    assert cloud.answers("AssumeRoleWithOIDC") >= 1
    # The role's credentials read the token for a selected namespace; the others may not use it.
    await eventually(scenario.is_ready(kube, "billing-api", namespace="billing"))
    assert scenario.secret_data(kube, "billing-api", namespace="billing")
    await eventually(scenario.has_reason(kube, "billing-api", "CloudAccessForbidden", namespace="demo"))


@FAST_FORWARD
async def test_ambient_assume_role_example_signs_in_as_the_assumed_role(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operator's own identity: the environment variables of the SDKs' default chain.
    for variable in ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
                     "ALIBABA_CLOUD_SECURITY_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", scenario.AK_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", scenario.AK_SECRET)
    access = not_in_sandbox("cluster-cloud-access-ambient-assume-role.yaml", cloud)
    assume = access["spec"]["assumeRole"]
    # Substituted: the emulator has no cross-account trust policies, so the role lives in the
    # account of the operator's identity (the demo account) instead of 6543210987654321.
    assume["roleArn"] = assume["roleArn"].replace("6543210987654321", "1234567890123456")
    cloud.state.roles[assume["roleArn"]] = Role(arn=assume["roleArn"])
    kube.create(scenario.namespace(scenario.NS))
    kube.create(scenario.application_token(cloudAccessRef={"kind": "ClusterCloudAccess", "name": "prod-account"}))
    kube.create(access)

    await eventually(scenario.is_ready(kube, "prod-account", "clustercloudaccesses", None))
    identity = scenario.status(kube, "prod-account", "clustercloudaccesses", None)["identity"]
    assert identity == {"accountId": "1234567890123456",
                        "arn": "acs:ram::1234567890123456:assumed-role/idaas-token-reader/tokensync"}
    assert cloud.answers("AssumeRole") >= 1
    await eventually(scenario.is_ready(kube, "billing-api"))  # namespaceSelector {}: every namespace
    assert scenario.secret_data(kube, "billing-api")
