"""The README and deploy/README.md show only what tokensync accepts and serves.

Every tokensync object in them must pass its CRD schema and its model, every status example must
use only fields the status has, every chart-values snippet must pass values.schema.json, and the
metric and value tables must name what exists: a doc that invents a field fails here.
docs/ram-policies.md grants each renewal strategy exactly the RAM actions tokensync calls with it
(renewal_policy.RAM_ACTIONS), on least-privilege resources, and those policies are enough.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from tests import scenario
from tests.api.schema_helpers import open_api_schema
from tests.conftest import FAST_FORWARD
from tests.deploy.rendering import CHART_DIR, REPO_ROOT
from tokensync.api import ApplicationTokenSpec, CloudAccessSpec, ClusterCloudAccessSpec, RamApplicationSpec
from tokensync.cloud.errors import AccessDeniedError
from tokensync.controllers.renewal_policy import RAM_ACTIONS
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator

DOCS = [REPO_ROOT / "README.md", REPO_ROOT / "deploy" / "README.md"]
SPEC_MODELS: dict[str, type[BaseModel]] = {
    "ApplicationToken": ApplicationTokenSpec,
    "RamApplication": RamApplicationSpec,
    "CloudAccess": CloudAccessSpec,
    "ClusterCloudAccess": ClusterCloudAccessSpec,
}
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_HEREDOC = re.compile(r"<<'?EOF'?\n(.*?)^EOF$", re.MULTILINE | re.DOTALL)


def yaml_snippets(path: Path) -> list[Any]:
    """The YAML in the file's ```yaml blocks and in the heredocs of its ```sh blocks, document by document."""
    found: list[Any] = []
    for language, body in _FENCE.findall(path.read_text()):
        texts = [body] if language == "yaml" else _HEREDOC.findall(body) if language == "sh" else []
        for text in texts:
            found.extend(document for document in yaml.safe_load_all(text) if document is not None)
    return found


def _strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the known ones (the API server would
    prune them silently, and a doc would then show a field that does nothing)."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if "properties" in strict and "additionalProperties" not in strict:
            strict["additionalProperties"] = False
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def strict_errors(kind: str, obj: dict[str, Any]) -> list[str]:
    schema = _strict(copy.deepcopy(open_api_schema(kind)))
    if "spec" not in obj:
        schema.pop("required", None)  # a status example on its own
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]


def custom_resources(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(kind, object) for each tokensync object, and each bare `status:` example under the kind
    shown last before it."""
    result: list[tuple[str, dict[str, Any]]] = []
    last_kind: str | None = None
    for snippet in yaml_snippets(path):
        if not isinstance(snippet, dict):
            continue
        if snippet.get("kind") in SPEC_MODELS:
            last_kind = snippet["kind"]
            result.append((last_kind, snippet))
        elif set(snippet) == {"status"}:
            assert last_kind is not None, f"{path.name}: a status example before any object"
            result.append((last_kind, snippet))
    return result


def test_the_readme_shows_every_kind_and_a_status_for_each_synced_kind() -> None:
    shown = custom_resources(DOCS[0])
    assert {kind for kind, _ in shown} == set(SPEC_MODELS)
    assert {kind for kind, obj in shown if "status" in obj} >= {"ApplicationToken", "RamApplication"}


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_object_in_the_docs_is_accepted_by_its_crd_and_model(path: Path) -> None:
    for kind, obj in custom_resources(path):
        where = f"{path.name}: {kind} {obj.get('metadata', {}).get('name', '(status)')}"
        if "spec" in obj:
            assert obj["apiVersion"] == "tokensync.dev/v1alpha1", where
            SPEC_MODELS[kind].model_validate(obj["spec"])
        assert strict_errors(kind, obj) == [], where


def test_the_strict_check_does_catch_an_invented_field() -> None:
    # Guards the test above: the CRD schema alone would let the API server prune this silently.
    assert strict_errors("ApplicationToken", {"status": {"tokenValue": "x"}})
    assert strict_errors("RamApplication", {"status": {"application": {"clientSecret": "x"}}})
    assert strict_errors("ApplicationToken", {"status": {"secretName": "x"}}) == []


def chart_values_snippets(path: Path) -> list[dict[str, Any]]:
    with helm_python.Chart.load(CHART_DIR) as chart:
        top_level = set(chart.values)
    return [snippet for snippet in yaml_snippets(path)
            if isinstance(snippet, dict) and snippet and set(snippet) <= top_level]


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_chart_values_snippet_in_the_docs_passes_the_values_schema(path: Path) -> None:
    with helm_python.Chart.load(CHART_DIR) as chart:
        for snippet in chart_values_snippets(path):
            chart.validate_schema(chart.merge_values(snippet))


def test_the_readme_shows_chart_values_for_rrsa() -> None:
    assert any("serviceAccount" in snippet for snippet in chart_values_snippets(DOCS[0]))


def test_deploy_readme_documents_every_top_level_chart_value() -> None:
    text = DOCS[1].read_text()
    with helm_python.Chart.load(CHART_DIR) as chart:
        missing = [key for key in chart.values if f"`{key}`" not in text and f"`{key}." not in text]
    assert missing == []


def test_the_readme_metrics_table_is_exactly_what_tokensync_serves() -> None:
    section = DOCS[0].read_text().split("## Metrics and alerts", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(tokensync_[a-z_]+)\{?", section.split("The per-resource", 1)[0]))
    served = set()
    for family in metrics.REGISTRY.collect():
        if family.name.startswith("tokensync_"):
            served.add(f"{family.name}_total" if family.type == "counter" else family.name)
    assert documented == served


# --- docs/ram-policies.md ------------------------------------------------------------------------

RAM_POLICIES = REPO_ROOT / "docs" / "ram-policies.md"
# The token resource of the EIAM API reference; "*" in place of the token ID: all of one application's.
TOKEN_ARN = re.compile(r"^acs:eiam:(?P<region>[a-z0-9-]+|\*):(?P<account>\d+):instance/(?P<instance>idaas_[a-z0-9]+)"
                       r"/application/(?P<application>app_[a-z0-9]+)/applicationtoken/(?P<token>token_[a-z0-9_]+|\*)$")
# No token ID exists yet when these are called: they are granted on the application's tokens.
APPLICATION_WIDE = {"eiam:CreateApplicationToken", "eiam:ListApplicationTokens"}


def ram_policies() -> dict[str, list[dict[str, Any]]]:
    """The JSON policy documents of docs/ram-policies.md, by the first word of the "## " heading above them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for part in re.split(r"^## ", RAM_POLICIES.read_text(), flags=re.MULTILINE)[1:]:
        title, _, body = part.partition("\n")
        policies = [json.loads(text) for language, text in _FENCE.findall(body) if language == "json"]
        if policies:
            found[re.split(r"[\s:(]", title, maxsplit=1)[0]] = policies
    return found


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    assert policy["Version"] == "1", policy
    assert set(policy) == {"Version", "Statement"}, policy
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and set(statement) == {"Effect", "Action", "Resource"}, statement
        assert isinstance(statement["Action"], list) and isinstance(statement["Resource"], list), statement
    return list(policy["Statement"])


def granted(policy: dict[str, Any]) -> list[str]:
    return [action for statement in statements(policy) for action in statement["Action"]]


def test_the_ram_policies_grant_exactly_the_actions_each_renewal_strategy_needs() -> None:
    policies = ram_policies()
    assert set(policies) == {*RAM_ACTIONS, "RamApplication"}
    for strategy, actions in RAM_ACTIONS.items():
        (policy,) = policies[strategy]
        listed = granted(policy)
        assert len(listed) == len(set(listed)), f"{strategy}: an action granted twice: {listed}"
        assert set(listed) == set(actions), f"{strategy}: the doc grants {sorted(listed)}, tokensync needs {actions}"
    (ram_application,) = policies["RamApplication"]
    assert granted(ram_application) == ["ram:GetApplication"]  # IMS's RAM code is ram (the API reference)
    (statement,) = statements(ram_application)
    assert [re.fullmatch(r"acs:ram::\d+:application/[A-Za-z0-9_.-]+", r) is not None
            for r in statement["Resource"]] == [True]


def test_the_ram_policies_are_least_privilege() -> None:
    """One application's tokens at most; a named token wherever the strategy's tokens can be named
    (None, Extend); the application's tokens only where they cannot (Create, List, and Rotate, whose
    later tokens tokensync creates with IDs no one knows in advance)."""
    for strategy in RAM_ACTIONS:
        (policy,) = ram_policies()[strategy]
        applications = set()
        for statement in statements(policy):
            assert all("*" not in action for action in statement["Action"]), statement
            for resource in statement["Resource"]:
                arn = TOKEN_ARN.fullmatch(resource)
                assert arn is not None, f"{strategy}: {resource} is not a token ARN"
                applications.add((arn["account"], arn["instance"], arn["application"]))
                wide = arn["token"] == "*"
                if set(statement["Action"]) & APPLICATION_WIDE:
                    assert wide, f"{strategy}: Create/List are on the application's tokens: {resource}"
                assert wide == (strategy == "Rotate"), f"{strategy}: {resource}"
        assert len(applications) == 1, f"{strategy}: {applications}"


def test_the_ram_policies_doc_quotes_what_tokensync_says_about_a_missing_permission() -> None:
    text = " ".join(RAM_POLICIES.read_text().split())
    for action in sorted({a for actions in RAM_ACTIONS.values() for a in actions}):
        advice = AccessDeniedError(code="Forbidden.RAM", message="denied", ram_action=action).describe_advice()
        assert action in text
        if action == "eiam:UpdateApplicationTokenExpirationTime":
            assert advice in text, advice
    # Where the controller's messages send a user.
    source = (REPO_ROOT / "operator" / "tokensync" / "controllers" / "application_token" / "base.py").read_text()
    assert "docs/ram-policies.md" in source and RAM_POLICIES.exists()
    assert "docs/ram-policies.md" in DOCS[0].read_text()


@FAST_FORWARD
async def test_an_identity_with_only_the_documented_policy_renews_with_each_strategy(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """Each strategy's documented actions, and no others, on an AccessKey of its own: a token is
    extended, or rotated and its predecessor disabled and deleted, with no RenewalFailed. (The cloud
    emulator checks actions, not resource ARNs: the ARNs are the test above.)"""
    scenario.standard_cluster(kube, cloud)
    for strategy, policies in ram_policies().items():
        if strategy not in RAM_ACTIONS:
            continue
        name = strategy.lower()
        cloud.add_access_key(f"key-{name}", f"secret-{name}", allowed_actions=granted(policies[0]))
        kube.create(scenario.access_key_secret(namespace=scenario.NS, name=f"key-{name}", key_id=f"key-{name}",
                                               secret=f"secret-{name}"))
        kube.create(scenario.cloud_access(cloud, name=f"access-{name}", secret_name=f"key-{name}"))
        cloud.add_token(f"token_{name}", lifetime=timedelta(minutes=30))
        kube.create(scenario.application_token(
            name, token_id=f"token_{name}", cloudAccessRef={"kind": "CloudAccess", "name": f"access-{name}"},
            renewal={"strategy": strategy, "retireAfter": "1m"}))
    for name in ("none", "extend", "rotate"):
        await scenario.eventually(scenario.is_ready(kube, name))
    await asyncio.sleep(timedelta(minutes=25).total_seconds())  # past the renewal moment (20 min)

    for name in ("none", "extend", "rotate"):
        reasons = scenario.event_reasons(kube, name)
        assert "RenewalFailed" not in reasons and "SyncFailed" not in reasons, scenario.events(kube, name)
        assert scenario.condition(kube, name)["status"] == "True", scenario.condition(kube, name)
    assert "Extended" in scenario.event_reasons(kube, "extend")
    assert {"Rotated", "Retired"} <= set(scenario.event_reasons(kube, "rotate"))
    assert "token_rotate" not in cloud.state.tokens  # disabled, then deleted
    assert "TokenExpiring" in scenario.event_reasons(kube, "none")
    assert cloud.answers("CreateApplicationToken") >= 1 and cloud.answers("DeleteApplicationToken") >= 1
