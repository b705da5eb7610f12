"""`helm lint` is clean, and values.schema.json turns bad values into install-time errors."""

from __future__ import annotations

from typing import Any

import helm_python
import pytest

from tests.deploy.rendering import CHART_DIR, VALUE_SETS, render_objects

KUBE_VERSION = "v1.30.0"


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_helm_lint_is_clean_in_strict_mode(value_set: str) -> None:
    report = helm_python.lint(CHART_DIR, VALUE_SETS[value_set], strict=True, kube_version=KUBE_VERSION)
    assert report["errors"] == []
    # Severity 2 is a warning, 3 an error; info-level hints (e.g. "icon is recommended") are fine.
    assert [message for message in report["messages"] if message["severity"] >= 2] == []


def test_helm_lint_reports_values_that_break_the_schema() -> None:
    report = helm_python.lint(CHART_DIR, {"replicaCount": "two"}, kube_version=KUBE_VERSION)
    assert any("replicaCount" in error for error in report["errors"])


@pytest.mark.parametrize(("values", "offending_key"), [
    ({"replicaCount": "two"}, "replicaCount"),
    ({"replicaCount": -1}, "replicaCount"),
    ({"replicasCount": 2}, "replicasCount"),  # a typo is not silently ignored
    ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    ({"image": {"repository": ""}}, "repository"),
    ({"logFormat": "xml"}, "logFormat"),
    ({"verbose": "yes"}, "verbose"),
    ({"watchNamespaces": "team-a"}, "watchNamespaces"),
    ({"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
    ({"watchNamespaces": ["team-a", "team-a"]}, "watchNamespaces"),
    ({"metrics": {"port": 70000}}, "port"),
    ({"updateStrategy": {"type": "BlueGreen"}}, "updateStrategy"),
    ({"rbac": {"accessKeySecretNamespaces": ["Not A Namespace"]}}, "accessKeySecretNamespaces"),
    ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "interval"),
    ({"prometheusRule": {"alerts": {"syncFailing": {"for": "15 minutes"}}}}, "for"),
    # Gone: the alert compares each token with its own renewBefore. A value set that still has it
    # fails at install instead of seeming to tune an alert that no longer reads it.
    ({"prometheusRule": {"alerts": {"tokenExpiringNotRefreshed": {"thresholdSeconds": 600}}}}, "thresholdSeconds"),
    ({"allowNamespacedRrsa": "true"}, "allowNamespacedRrsa"),
    ({"podDisruptionBudget": {"maxUnavailable": "half"}}, "maxUnavailable"),
    ({"serviceAccount": {"annotations": {"pod-identity.alibabacloud.com/role-name": 42}}}, "annotations"),
    ({"serviceAccount": {"create": "true"}}, "create"),
    ({"extraEnv": [{"value": "no name"}]}, "extraEnv"),
    ({"extraArgs": "--verbose"}, "extraArgs"),
    ({"tolerations": {"key": "dedicated"}}, "tolerations"),
    ({"podSecurityContext": {"runAsNonRoot": "true"}}, "runAsNonRoot"),
    ({"terminationGracePeriodSeconds": "30s"}, "terminationGracePeriodSeconds"),
])
def test_bad_values_are_rejected_naming_the_key(values: dict[str, Any], offending_key: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=offending_key):
        render_objects(values)


def test_the_schema_accepts_every_value_in_values_yaml_and_every_test_value_set() -> None:
    with helm_python.Chart.load(CHART_DIR) as chart:
        chart.validate_schema(chart.values)
        for values in VALUE_SETS.values():
            chart.validate_schema(chart.merge_values(values))
