"""What `helm install` of the chart creates, for the default values and for each option."""

from __future__ import annotations

import re
from typing import Any

import helm_python
import pytest

from tests.deploy.rendering import (
    RELEASE_NAMESPACE,
    VALUE_SETS,
    find,
    only,
    operator_container,
    render_manifests,
    render_objects,
)
from tokensync.cli import _parser as cli_parser
from tokensync.runtime import metrics

# Not joined with Ready: a failing renewal keeps Ready True while the token is valid.
EXPIRING_EXPR = 'time() > tokensync_token_renewal_deadline_timestamp_seconds'


def _kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(obj["kind"] for obj in objects)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry for entry in container["env"]}


def _pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = only(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def test_default_values_install_the_operator_with_its_service_account_rbac_and_metrics_service() -> None:
    objects = render_objects()
    assert _kinds(objects) == sorted([
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment",
    ])
    deployment = only(objects, "Deployment", "tokensync")
    assert deployment["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    container = operator_container(objects)
    assert container["image"] == "ghcr.io/tokensync/tokensync:0.1.0"  # tag defaults to the appVersion
    assert container["args"] == [
        "run", "--all-namespaces", "--metrics-port=8080", "--health-port=8081", "--log-format=json",
    ]
    assert _pod_spec(objects)["serviceAccountName"] == "tokensync"


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_the_container_arguments_are_accepted_by_tokensync_run(value_set: str) -> None:
    # The image's ENTRYPOINT is `tokensync`, so args are what its command line parses.
    args = cli_parser().parse_args(operator_container(render_objects(VALUE_SETS[value_set]))["args"])
    assert args.command == "run"
    watch = VALUE_SETS[value_set].get("watchNamespaces", [])
    assert args.namespaces == watch
    assert args.all_namespaces == (not watch)


def test_the_pod_knows_its_name_and_namespace_for_leader_election() -> None:
    env = _env(operator_container(render_objects()))
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_probes_and_metrics_use_the_ports_the_operator_serves() -> None:
    objects = render_objects()
    container = operator_container(objects)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    service = only(objects, "Service", "tokensync-metrics")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["spec"]["selector"] == only(objects, "Deployment")["spec"]["selector"]["matchLabels"]


def test_default_resources_request_little_and_cap_memory() -> None:
    assert operator_container(render_objects())["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"},
    }


def test_customised_image_logging_env_args_ports_and_pod_metadata() -> None:
    values = VALUE_SETS["customised"]
    objects = render_objects(values)
    container = operator_container(objects)
    assert container["image"] == "registry.example.com/tokensync:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert container["args"] == [
        "run", "--all-namespaces", "--metrics-port=9090", "--health-port=9091", "--log-format=text", "--verbose",
    ]
    assert _env(container)["ALIBABA_CLOUD_REGION_ID"] == {"name": "ALIBABA_CLOUD_REGION_ID", "value": "cn-hangzhou"}
    assert {port["name"]: port["containerPort"] for port in container["ports"]} == {"metrics": 9090, "health": 9091}
    assert container["resources"] == values["resources"]
    pod = only(objects, "Deployment")["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"example.com/team": "platform"}
    assert pod["metadata"]["labels"]["example.com/tier"] == "infra"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert pod["spec"]["terminationGracePeriodSeconds"] == 60
    assert only(objects, "Service")["spec"]["ports"][0]["port"] == 9090


def test_allow_namespaced_rrsa_value_passes_the_flag_and_is_off_by_default() -> None:
    default_args = operator_container(render_objects())["args"]
    assert "--allow-namespaced-rrsa" not in default_args
    assert cli_parser().parse_args(default_args).allow_namespaced_rrsa is False
    args = operator_container(render_objects(VALUE_SETS["namespaced-rrsa"]))["args"]
    assert args.count("--allow-namespaced-rrsa") == 1
    assert cli_parser().parse_args(args).allow_namespaced_rrsa is True


def test_verbose_value_adds_the_verbose_flag() -> None:
    assert "--verbose" in operator_container(render_objects({"verbose": True}))["args"]
    assert "--verbose" not in operator_container(render_objects())["args"]


def test_watch_namespaces_pass_each_namespace_and_grant_namespaced_roles_there_only() -> None:
    objects = render_objects(VALUE_SETS["watch-namespaces"])
    assert operator_container(objects)["args"][:3] == ["run", "--namespace=team-a", "--namespace=team-b"]
    roles = {(role["metadata"]["namespace"], role["metadata"]["name"]) for role in find(objects, "Role")}
    assert roles == {
        ("team-a", "tokensync"), ("team-b", "tokensync"),
        ("default", "tokensync-cluster-events"), (RELEASE_NAMESPACE, "tokensync-leader-election"),
    }
    bindings = {(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in find(objects, "RoleBinding")}
    assert bindings == roles
    for binding in find(objects, "RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "tokensync", "namespace": RELEASE_NAMESPACE}]
    # The ClusterRole keeps only the cluster-scoped kinds.
    cluster_resources = {
        resource for rule in only(objects, "ClusterRole")["rules"] for resource in rule["resources"]
    }
    assert cluster_resources == {"clustercloudaccesses", "clustercloudaccesses/status", "namespaces"}


def test_service_monitor_scrapes_the_metrics_service_with_the_given_labels() -> None:
    objects = render_objects(VALUE_SETS["service-monitor"])
    monitor = only(objects, "ServiceMonitor", "tokensync")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s",
                                             "scrapeTimeout": "10s"}]
    service = only(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [RELEASE_NAMESPACE]}
    assert not find(render_objects(), "ServiceMonitor")


def test_service_monitor_without_the_metrics_service_fails_with_a_clear_message() -> None:
    with pytest.raises(helm_python.HelmRenderError, match=r"metrics\.service\.enabled"):
        render_objects({"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}})


def test_metrics_service_can_be_switched_off() -> None:
    assert not find(render_objects(VALUE_SETS["metrics-off"]), "Service")


def test_prometheus_rule_alerts_on_tokens_not_refreshed_and_on_sync_failing() -> None:
    objects = render_objects(VALUE_SETS["prometheus-rule"])
    rule = only(objects, "PrometheusRule", "tokensync")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = {alert["alert"]: alert for group in rule["spec"]["groups"] for alert in group["rules"]}
    assert set(alerts) == {"TokenExpiringNotRefreshed", "SyncFailing"}
    expiring = alerts["TokenExpiringNotRefreshed"]
    # Each token against its own renewBefore (the deadline is ExpirationTime - renewBefore), not
    # one fixed threshold that fires all the time for short tokens and late for long renewBefore.
    assert expiring["expr"] == EXPIRING_EXPR
    assert expiring["for"] == "5m"
    failing = alerts["SyncFailing"]
    assert failing["expr"] == "tokensync_resource_ready == 0"
    assert failing["for"] == "15m"
    # Prometheus fills in the labels at alert time: Helm must have left its templates alone.
    assert "{{ $labels.namespace }}/{{ $labels.name }}" in expiring["annotations"]["summary"]
    assert "{{ $labels.namespace }} {{ $labels.name }}" in expiring["annotations"]["description"]
    assert not find(render_objects(), "PrometheusRule")


def _exported_metric_names() -> set[str]:
    """Every series name tokensync's /metrics can serve (counters as their *_total samples)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_every_metric_an_alert_reads_is_one_tokensync_exports() -> None:
    # A renamed metric would leave its alert silently reading nothing.
    rule = only(render_objects(VALUE_SETS["prometheus-rule"]), "PrometheusRule")
    read = {name for alert in rule["spec"]["groups"][0]["rules"]
            for name in re.findall(r"\btokensync_[a-z_]+", alert["expr"])}
    assert read == {"tokensync_token_renewal_deadline_timestamp_seconds", "tokensync_resource_ready"}
    assert read <= _exported_metric_names()


def test_prometheus_rule_alerts_are_configurable() -> None:
    objects = render_objects({"prometheusRule": {"enabled": True, "alerts": {
        "tokenExpiringNotRefreshed": {"for": "10m", "severity": "critical"},
        "syncFailing": {"enabled": False},
    }}})
    rules = only(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == ["TokenExpiringNotRefreshed"]
    assert rules[0]["expr"] == EXPIRING_EXPR
    assert rules[0]["for"] == "10m"
    assert rules[0]["labels"] == {"severity": "critical"}
    only_failing = render_objects({"prometheusRule": {"enabled": True, "alerts": {
        "tokenExpiringNotRefreshed": {"enabled": False},
    }}})
    assert [rule["alert"] for rule in only(only_failing, "PrometheusRule")["spec"]["groups"][0]["rules"]] == [
        "SyncFailing"
    ]


@pytest.mark.parametrize(("value_set", "budget"), [
    ("pdb-min-available", {"minAvailable": 1}),
    ("pdb-max-unavailable", {"maxUnavailable": "50%"}),
])
def test_pod_disruption_budget_selects_the_operator_pods(value_set: str, budget: dict[str, Any]) -> None:
    objects = render_objects(VALUE_SETS[value_set])
    pdb = only(objects, "PodDisruptionBudget", "tokensync")
    selector = pdb["spec"].pop("selector")
    assert pdb["spec"] == budget
    assert selector == only(objects, "Deployment")["spec"]["selector"]
    assert not find(render_objects(), "PodDisruptionBudget")


def test_rrsa_labels_and_annotations_go_on_the_service_account() -> None:
    account = only(render_objects(VALUE_SETS["rrsa"]), "ServiceAccount", "tokensync")
    assert account["metadata"]["labels"]["pod-identity.alibabacloud.com/injection"] == "on"
    assert account["metadata"]["annotations"] == {"pod-identity.alibabacloud.com/role-name": "tokensync-role"}


def test_an_existing_service_account_is_used_and_bound_but_not_created() -> None:
    objects = render_objects(VALUE_SETS["existing-service-account"])
    assert not find(objects, "ServiceAccount")
    assert _pod_spec(objects)["serviceAccountName"] == "platform-tokensync"
    for binding in find(objects, "ClusterRoleBinding") + find(objects, "RoleBinding"):
        assert binding["subjects"][0]["name"] == "platform-tokensync"


def test_scheduling_options_reach_the_pod() -> None:
    values = VALUE_SETS["scheduling"]
    pod = _pod_spec(render_objects(values))
    for key in ("priorityClassName", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        assert pod[key] == values[key], key
    default_pod = _pod_spec(render_objects())
    for key in ("priorityClassName", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        assert key not in default_pod


def test_two_replicas_render_with_the_same_leader_election_setup() -> None:
    objects = render_objects(VALUE_SETS["replicas-2"])
    assert only(objects, "Deployment")["spec"]["replicas"] == 2
    assert _env(operator_container(objects)).keys() >= {"POD_NAME", "POD_NAMESPACE"}
    only(objects, "Role", "tokensync-leader-election")


def test_updates_stop_the_old_pod_first_so_the_new_one_can_take_the_lease() -> None:
    strategy = only(render_objects(), "Deployment")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    recreate = only(render_objects({"updateStrategy": {"type": "Recreate"}}), "Deployment")["spec"]["strategy"]
    assert recreate == {"type": "Recreate"}


def test_names_follow_the_release_name() -> None:
    documents = render_manifests.render_chart({}, release="platform", namespace="ops")
    names = {(document.obj["kind"], document.obj["metadata"]["name"]) for document in documents}
    assert ("Deployment", "platform-tokensync") in names
    assert ("ClusterRole", "platform-tokensync") in names
    assert all(document.obj["metadata"].get("namespace", "ops") == "ops" for document in documents)


def test_objects_are_in_install_order() -> None:
    kinds = [obj["kind"] for obj in render_objects(VALUE_SETS["everything"])]
    assert kinds.index("ServiceAccount") < kinds.index("ClusterRole") < kinds.index("Deployment")
    assert kinds.index("PodDisruptionBudget") < kinds.index("Deployment")
    assert kinds[-2:] == ["PrometheusRule", "ServiceMonitor"]
