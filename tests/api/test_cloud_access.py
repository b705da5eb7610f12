from typing import Any

import pytest
from pydantic import ValidationError

from tokensync.api.cloud_access import (
    DEFAULT_RRSA_TOKEN_FILE,
    CloudAccessSpec,
    CloudAccessStatus,
    ClusterCloudAccessSpec,
    LabelSelector,
    selector_matches,
)

ACCESS_KEY = {"accessKey": {"secretRef": {"name": "ak", "namespace": "tokensync-system"}}}
RRSA = {"rrsa": {"roleArn": "acs:ram::123:role/r", "oidcProviderArn": "acs:ram::123:oidc-provider/p"}}


def cluster(**changes: Any) -> dict[str, Any]:
    return {"regionId": "cn-hangzhou", "auth": ACCESS_KEY, "namespaceSelector": {}, **changes}


def namespaced(**changes: Any) -> dict[str, Any]:
    return {"regionId": "cn-hangzhou", "auth": {"accessKey": {"secretRef": {"name": "ak"}}}, **changes}


def test_access_key_defaults() -> None:
    ref = ClusterCloudAccessSpec.model_validate(cluster()).auth.access_key
    assert ref is not None
    assert (ref.secret_ref.access_key_id_key, ref.secret_ref.access_key_secret_key) == (
        "accessKeyId",
        "accessKeySecret",
    )
    assert ref.secret_ref.security_token_key == "securityToken"
    assert ref.secret_ref.namespace == "tokensync-system"


def test_rrsa_and_assume_role_defaults() -> None:
    parsed = ClusterCloudAccessSpec.model_validate(cluster(auth=RRSA, assumeRole={"roleArn": "acs:ram::9:role/x"}))
    assert parsed.auth.rrsa is not None
    assert parsed.auth.rrsa.token_file == DEFAULT_RRSA_TOKEN_FILE
    assert parsed.auth.rrsa.session_name == "tokensync"
    assert parsed.assume_role is not None and parsed.assume_role.duration_seconds == 3600


def test_ambient_is_an_empty_object() -> None:
    assert ClusterCloudAccessSpec.model_validate(cluster(auth={"ambient": {}})).auth.ambient is not None


Model = type[CloudAccessSpec] | type[ClusterCloudAccessSpec]


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (ClusterCloudAccessSpec, cluster(auth={**ACCESS_KEY, **RRSA}), "auth"),
        (ClusterCloudAccessSpec, cluster(auth={}), "auth"),
        (ClusterCloudAccessSpec, cluster(auth={"ambient": {}, **RRSA}), "auth"),
        (ClusterCloudAccessSpec, {"regionId": "cn-hangzhou", "auth": ACCESS_KEY}, "namespaceSelector"),
        (ClusterCloudAccessSpec, cluster(regionId="Hangzhou"), "regionId"),
        (ClusterCloudAccessSpec, cluster(endpoints={"eiam": "eiam.aliyuncs.com"}), "endpoints.eiam"),
        (ClusterCloudAccessSpec, cluster(assumeRole={"roleArn": "arn:aws:iam::1:role/x"}), "assumeRole.roleArn"),
        (
            ClusterCloudAccessSpec,
            cluster(assumeRole={"roleArn": "acs:ram::1:role/x", "durationSeconds": 600}),
            "assumeRole.durationSeconds",
        ),
        (
            ClusterCloudAccessSpec,
            cluster(namespaceSelector={"matchExpressions": [{"key": "a", "operator": "In"}]}),
            "namespaceSelector.matchExpressions.0",
        ),
        (
            ClusterCloudAccessSpec,
            cluster(namespaceSelector={"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}),
            "namespaceSelector.matchExpressions.0.operator",
        ),
        (
            ClusterCloudAccessSpec,
            cluster(auth={"accessKey": {"secretRef": {"name": "ak"}}}),
            "auth.accessKey.secretRef.namespace",
        ),
        (CloudAccessSpec, namespaced(auth={"ambient": {}}), "auth.ambient"),
        (
            CloudAccessSpec,
            namespaced(auth={"accessKey": {"secretRef": {"name": "ak", "namespace": "other"}}}),
            "auth.accessKey.secretRef.namespace",
        ),
        (CloudAccessSpec, namespaced(namespaceSelector={}), "namespaceSelector"),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field(model: Model, body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    locations = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert any(loc == field or loc.startswith(field + ".") for loc in locations), locations


def test_exactly_one_auth_message_names_the_methods() -> None:
    with pytest.raises(ValidationError, match="exactly one of accessKey, rrsa, ambient"):
        ClusterCloudAccessSpec.model_validate(cluster(auth={**ACCESS_KEY, **RRSA}))
    with pytest.raises(ValidationError, match="accessKey"):
        CloudAccessSpec.model_validate(namespaced(auth={}))


def test_a_namespaced_cloud_access_never_chooses_the_operators_token_file_nor_where_it_goes() -> None:
    """rrsa signs in with the operator's own OIDC token: a namespace may name the role (whether
    the operator allows that at all is its --allow-namespaced-rrsa), but not the token file, nor
    the STS endpoint the token is sent to; ambient (the operator's whole chain) is cluster-only."""
    parsed = CloudAccessSpec.model_validate(namespaced(auth=RRSA))
    assert parsed.auth.rrsa is not None and parsed.auth.rrsa.session_name == "tokensync"
    with pytest.raises(ValidationError, match="tokenFile"):
        CloudAccessSpec.model_validate(namespaced(auth={"rrsa": {**RRSA["rrsa"], "tokenFile": "/etc/passwd"}}))
    with pytest.raises(ValidationError, match="cannot set endpoints"):
        CloudAccessSpec.model_validate(namespaced(auth=RRSA, endpoints={"sts": "https://sts.example.com"}))
    with pytest.raises(ValidationError, match="ambient"):
        CloudAccessSpec.model_validate(namespaced(auth={"ambient": {}}))
    with pytest.raises(ValidationError, match="exactly one of accessKey, rrsa"):
        CloudAccessSpec.model_validate(namespaced(auth={**RRSA, "accessKey": {"secretRef": {"name": "ak"}}}))


NS = {"kubernetes.io/metadata.name": "billing", "team": "payments", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        (None, NS, False),
        ({}, NS, True),
        ({}, {}, True),
        ({"matchLabels": {"team": "payments"}}, NS, True),
        ({"matchLabels": {"team": "payments", "env": "dev"}}, NS, False),
        ({"matchLabels": {"team": "payments"}}, {}, False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]}, NS, True),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, NS, False),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, NS, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, NS, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, NS, False),
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, NS, True),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, NS, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, NS, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, NS, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, NS, False),
        (
            {
                "matchLabels": {"team": "payments"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}],
            },
            NS,
            False,
        ),
    ],
)
def test_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str], matches: bool) -> None:
    parsed = None if selector is None else LabelSelector.model_validate(selector)
    assert selector_matches(parsed, labels) is matches


def test_status_round_trip() -> None:
    body = {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Verified",
                "message": "",
                "lastTransitionTime": "2026-03-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
        "identity": {"accountId": "1234567890123456", "arn": "acs:ram::1234567890123456:root"},
    }
    assert CloudAccessStatus.model_validate(body).model_dump(mode="json", by_alias=True, exclude_none=True) == body
