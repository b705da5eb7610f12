"""Every rendered object is valid for the Kubernetes API (its OpenAPI schemas, strict: no unknown fields)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.rendering import CHART_DIR, VALUE_SETS, render_objects

KUBERNETES_VERSION = "1.30.0"
# Kinds from the Prometheus Operator's CRDs: kubernetes-validate has no schema for them.
PROMETHEUS_OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def _validate(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_rendered_objects_are_valid_kubernetes_objects(value_set: str) -> None:
    for obj in render_objects(VALUE_SETS[value_set]):
        if obj["kind"] in PROMETHEUS_OPERATOR_KINDS:
            continue
        try:
            _validate(obj)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_the_validator_does_catch_an_invalid_object() -> None:
    # Guards the test above against a validator that accepts anything.
    deployment = next(obj for obj in render_objects() if obj["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)


def test_prometheus_operator_objects_have_the_shape_their_crds_require() -> None:
    objects = render_objects(VALUE_SETS["everything"])
    monitor = next(obj for obj in objects if obj["kind"] == "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) == {"selector", "namespaceSelector", "endpoints"}
    for endpoint in monitor["spec"]["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
        assert all(isinstance(value, str) and value for value in endpoint.values())
    rule = next(obj for obj in objects if obj["kind"] == "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    for group in rule["spec"]["groups"]:
        assert isinstance(group["name"], str)
        for alert in group["rules"]:
            assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}
            assert isinstance(alert["expr"], str)
            assert all(isinstance(value, str) for value in alert["labels"].values())
            assert all(isinstance(value, str) for value in alert["annotations"].values())


def test_the_charts_crds_are_valid_custom_resource_definitions() -> None:
    paths = sorted((CHART_DIR / "crds").glob("*.yaml"))
    assert paths
    for path in paths:
        crd = yaml.safe_load(path.read_text())
        assert crd["kind"] == "CustomResourceDefinition"
        _validate(crd)
