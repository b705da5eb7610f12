from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.api.schema_helpers import crd_for, open_api_schema, schema_errors, schema_nodes
from tokensync.api.crds import check, crd_manifests, default_directory, main, render, write

REPOSITORY = Path(__file__).resolve().parents[2]
KINDS = ["ApplicationToken", "RamApplication", "CloudAccess", "ClusterCloudAccess"]


def test_committed_crds_match_the_models() -> None:
    """Fails when a model changed without `python -m tokensync.api.crds` being run."""
    assert default_directory() == REPOSITORY / "crds"
    assert check(REPOSITORY / "crds") == []


def test_check_reports_stale_missing_and_extra_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    stale = tmp_path / "ramapplications.tokensync.dev.yaml"
    stale.write_text(stale.read_text().replace("ramapp", "rapp"))
    (tmp_path / "applicationtokens.tokensync.dev.yaml").unlink()
    (tmp_path / "old.tokensync.dev.yaml").write_text("{}")
    assert main(["--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "applicationtokens.tokensync.dev.yaml: missing" in err
    assert "ramapplications.tokensync.dev.yaml: differs" in err and "-    - rapp" in err
    assert "old.tokensync.dev.yaml: not generated" in err


def test_written_yaml_loads_back_to_the_manifests(tmp_path: Path) -> None:
    for path in write(tmp_path):
        assert yaml.safe_load(path.read_text()) == crd_manifests()[path.name]
        assert render(crd_manifests()[path.name]) == path.read_text()


def test_names_scope_and_categories() -> None:
    names = {m["spec"]["names"]["kind"]: m for m in crd_manifests().values()}
    assert set(names) == set(KINDS)
    assert names["ApplicationToken"]["spec"]["names"]["shortNames"] == ["apptoken"]
    assert names["RamApplication"]["spec"]["names"]["shortNames"] == ["ramapp"]
    assert names["ClusterCloudAccess"]["spec"]["scope"] == "Cluster"
    for manifest in names.values():
        assert manifest["spec"]["names"]["categories"] == ["tokensync"]
        assert manifest["spec"]["group"] == "tokensync.dev"
        (version,) = manifest["spec"]["versions"]
        assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    def columns(kind: str) -> dict[str, str]:
        return {c["name"]: c["jsonPath"] for c in crd_for(kind)["spec"]["versions"][0]["additionalPrinterColumns"]}

    assert list(columns("ApplicationToken")) == [
        "Ready",
        "Token",
        "Secret",
        "Expires",
        "Next Refresh",
        "Last Sync",
        "Age",
    ]
    assert columns("ApplicationToken")["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns("ApplicationToken")["Expires"] == ".status.expirationTime"
    assert list(columns("RamApplication")) == ["Ready", "InSync", "App Name", "App Type", "Last Sync", "Age"]
    assert columns("RamApplication")["App Name"] == ".status.application.appName"
    for kind in ("CloudAccess", "ClusterCloudAccess"):
        assert list(columns(kind)) == ["Ready", "Region", "Account", "Age"]
        assert columns(kind)["Account"] == ".status.identity.accountId"


# Keywords a structural schema node may carry (what apiextensions.k8s.io/v1 JSONSchemaProps accepts here).
ALLOWED_KEYWORDS = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "pattern",
    "minLength",
    "maxProperties",
    "maxLength",
    "minimum",
    "maximum",
    "default",
    "format",
    "not",
    "oneOf",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_node_is_structural_and_explained(kind: str) -> None:
    for path, node in schema_nodes(open_api_schema(kind)):
        assert node.get("type") in {"object", "array", "string", "integer", "boolean"}, path
        assert len(node.get("description", "")) >= 10, f"{kind}{path} has no description for kubectl explain"
        assert set(node) <= ALLOWED_KEYWORDS, f"{kind}{path}: {set(node) - ALLOWED_KEYWORDS}"
        assert not ("properties" in node and "additionalProperties" in node), path
        for branch in [*node.get("oneOf", []), node.get("not", {})]:
            assert set(branch) <= {"required"}, f"{kind}{path}: value validations only inside oneOf/not"


def test_namespaced_cloud_access_has_no_secret_namespace_nor_token_file_nor_ambient_nor_selector() -> None:
    spec = open_api_schema("CloudAccess")["properties"]["spec"]["properties"]
    assert "namespace" not in spec["auth"]["properties"]["accessKey"]["properties"]["secretRef"]["properties"]
    assert set(spec["auth"]["properties"]) == {"accessKey", "rrsa"}  # no ambient: the operator's whole chain
    token_file = spec["auth"]["properties"]["rrsa"]["properties"]["tokenFile"]  # only ACK's default path
    assert token_file["x-kubernetes-validations"][0]["rule"].endswith("rrsa-tokens/token'")
    assert "namespaceSelector" not in spec
    cluster = open_api_schema("ClusterCloudAccess")["properties"]["spec"]
    assert "namespaceSelector" in cluster["required"]
    assert (
        "namespace" in cluster["properties"]["auth"]["properties"]["accessKey"]["properties"]["secretRef"]["required"]
    )


def test_cross_field_rules_are_cel_validations() -> None:
    spec = open_api_schema("ApplicationToken")["properties"]["spec"]["properties"]
    rules = [r["rule"] for r in spec["refresh"]["x-kubernetes-validations"]]
    assert rules == ["!(has(self.renewBefore) && has(self.renewBeforePercentage))"]
    auth = open_api_schema("ClusterCloudAccess")["properties"]["spec"]["properties"]["auth"]
    assert "== 1" in auth["x-kubernetes-validations"][0]["rule"]
    assert "ambient" in auth["x-kubernetes-validations"][0]["rule"]


def token(spec: dict[str, Any]) -> dict[str, Any]:
    base = {"instanceId": "idaas_demo", "applicationId": "app_demo", "applicationTokenId": "token_demo"}
    return {
        "apiVersion": "tokensync.dev/v1alpha1",
        "kind": "ApplicationToken",
        "metadata": {"name": "t", "namespace": "demo"},
        "spec": {**base, **spec},
    }


def access(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "tokensync.dev/v1alpha1", "kind": kind, "metadata": {"name": "a"}, "spec": spec}


AK = {"accessKey": {"secretRef": {"name": "ak", "namespace": "ns"}}}
RRSA = {"rrsa": {"roleArn": "acs:ram::1:role/r", "oidcProviderArn": "acs:ram::1:oidc-provider/p"}}


@pytest.mark.parametrize(
    ("kind", "obj", "where"),
    [
        ("ApplicationToken", {**token({}), "spec": {"instanceId": "idaas_demo"}}, "spec"),
        ("ApplicationToken", token({"instanceId": "demo"}), "spec.instanceId"),
        ("ApplicationToken", token({"refresh": {"renewBefore": "10m", "renewBeforePercentage": 5}}), "spec.refresh"),
        ("ApplicationToken", token({"refresh": {"renewBefore": "10 min"}}), "spec.refresh.renewBefore"),
        ("ApplicationToken", token({"refresh": {"recheckInterval": "-1h"}}), "spec.refresh.recheckInterval"),
        ("ApplicationToken", token({"refresh": {"renewBeforePercentage": 100}}), "spec.refresh.renewBeforePercentage"),
        ("ApplicationToken", token({"secret": {"creationPolicy": "Adopt"}}), "spec.secret.creationPolicy"),
        ("RamApplication", {**token({}), "kind": "RamApplication", "spec": {"appId": 12}}, "spec.appId"),
        (
            "ClusterCloudAccess",
            access("ClusterCloudAccess", {"regionId": "cn-hangzhou", "auth": {**AK, **RRSA}, "namespaceSelector": {}}),
            "spec.auth",
        ),
        (
            "ClusterCloudAccess",
            access("ClusterCloudAccess", {"regionId": "cn-hangzhou", "auth": {}, "namespaceSelector": {}}),
            "spec.auth",
        ),
        ("ClusterCloudAccess", access("ClusterCloudAccess", {"regionId": "cn-hangzhou", "auth": AK}), "spec"),
        (
            "CloudAccess",
            access(
                "CloudAccess",
                {
                    "regionId": "cn-hangzhou",
                    "auth": {"accessKey": {"secretRef": {"name": "ak"}}},
                    "assumeRole": {"roleArn": "acs:ram::1:role/x", "durationSeconds": 60},
                },
            ),
            "spec.assumeRole.durationSeconds",
        ),
    ],
)
def test_schema_rejects_what_json_schema_can_express(kind: str, obj: dict[str, Any], where: str) -> None:
    errors = schema_errors(kind, obj)
    assert any(e.startswith(f"{where}:") for e in errors), errors


def _rules(node: dict[str, Any], path: str = "") -> list[tuple[str, str]]:
    return [(p, r["rule"]) for p, n in schema_nodes(node, path) for r in n.get("x-kubernetes-validations", [])]


CEL_CASES = [
    ("ApplicationToken", ".spec.refresh", {"renewBefore": "10m"}, True),
    ("ApplicationToken", ".spec.refresh", {"renewBeforePercentage": 20}, True),
    ("ApplicationToken", ".spec.refresh", {}, True),
    ("ApplicationToken", ".spec.refresh", {"renewBefore": "10m", "renewBeforePercentage": 20}, False),
    ("ApplicationToken", ".spec", {"applicationTokenId": "token_a"}, True),
    ("ApplicationToken", ".spec", {"renewal": {"strategy": "Rotate"}}, True),
    ("ApplicationToken", ".spec", {"renewal": {"strategy": "Extend"}}, False),
    ("ApplicationToken", ".spec", {}, False),
    ("ApplicationToken", ".spec.secret.type", "Opaque", True),
    ("ApplicationToken", ".spec.secret.type", "kubernetes.io/service-account-token", False),
    ("ClusterCloudAccess", ".spec.auth", {"ambient": {}}, True),
    ("ClusterCloudAccess", ".spec.auth", {"ambient": {}, "rrsa": {"roleArn": "r"}}, False),
    ("ClusterCloudAccess", ".spec.auth", {}, False),
    ("CloudAccess", ".spec.auth", {"rrsa": {"roleArn": "r"}}, True),
    ("CloudAccess", ".spec.auth", {"rrsa": {"roleArn": "r"}, "accessKey": {}}, False),
    ("CloudAccess", ".spec", {"auth": {"rrsa": {}}}, True),
    ("CloudAccess", ".spec", {"auth": {"rrsa": {}}, "endpoints": {"eiam": "https://e.example"}}, False),
    ("CloudAccess", ".spec", {"auth": {"accessKey": {}}, "endpoints": {"sts": "https://s.example"}}, True),
]


@pytest.mark.parametrize(("kind", "where", "value", "allowed"), CEL_CASES)
def test_cel_rules_compile_and_decide(kind: str, where: str, value: dict[str, Any], allowed: bool) -> None:
    celpy = pytest.importorskip("celpy")
    from celpy.adapter import json_to_cel

    rules = [rule for path, rule in _rules(open_api_schema(kind)) if path == where]
    assert rules, f"no CEL rule at {kind}{where}"
    env = celpy.Environment()
    results = [bool(env.program(env.compile(rule)).evaluate({"self": json_to_cel(value)})) for rule in rules]
    assert all(results) is allowed


@pytest.mark.parametrize("kind", KINDS)
def test_every_cel_rule_compiles(kind: str) -> None:
    celpy = pytest.importorskip("celpy")
    env = celpy.Environment()
    for path, rule in _rules(open_api_schema(kind)):
        assert env.compile(rule) is not None, f"{kind}{path}: {rule}"
