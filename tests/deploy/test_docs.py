"""The README and deploy/README.md show only what tokensync accepts and serves.

Every tokensync object in them must pass its CRD schema and its model, every status example must
use only fields the status has, every chart-values snippet must pass values.schema.json, and the
metric and value tables must name what exists: a doc that invents a field fails here.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from tests.api.schema_helpers import open_api_schema
from tests.deploy.rendering import CHART_DIR, REPO_ROOT
from tokensync.api import ApplicationTokenSpec, CloudAccessSpec, ClusterCloudAccessSpec, RamApplicationSpec
from tokensync.runtime import metrics

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
