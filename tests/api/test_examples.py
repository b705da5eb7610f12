from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.api.schema_helpers import schema_errors
from tokensync.api import ApplicationTokenSpec, CloudAccessSpec, ClusterCloudAccessSpec, RamApplicationSpec

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
