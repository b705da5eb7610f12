"""A matrix of what users type with the real kubectl (v1.32), run against the emulator (issue 15).

Every case is one kubectl command (after optional set-up commands) against a fresh emulator seeded
with the same small cluster: namespace ``demo``, Secrets ``creds`` (app=web) and ``other`` (app=db),
ConfigMap ``settings`` (app=web), a rolled-out Deployment ``web``, the project's CRDs with a Ready
ApplicationToken ``billing-api``, the test Widget CRD with ``w1`` and a Warning Event.

Each case asserts what the user sees: the exit code, key text of stdout and stderr, and where the
command writes, the stored result. Cases where the emulator answers differently from kube-apiserver
are ``xfail(strict=True)`` with the difference as the reason, so the matrix counts honestly.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tokensync.api.crds import crd_manifests
from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubectlResult, widget

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

ROOT = Path(__file__).resolve().parents[3]
API = scenario.API

Check = Callable[[KubernetesEmulator], bool]
Action = Callable[[KubernetesEmulator], Any]


@dataclass(frozen=True)
class Case:
    """One kubectl command and what a user sees: exit code, text in stdout/stderr, and the stored result."""

    id: str
    args: tuple[str, ...]
    code: int = 0
    out: tuple[str, ...] = ()
    err: tuple[str, ...] = ()
    exact: str | None = None  # the whole stdout
    not_out: tuple[str, ...] = ()
    stdin: str | None = None
    before: tuple[tuple[str, ...], ...] = ()  # kubectl commands run first; each must exit 0
    during: Action | None = None  # done to the emulator once kubectl is watching
    then: Check | None = None  # the stored state afterwards
    editor: str | None = None  # a shell script run as KUBE_EDITOR with the file to edit as $1
    xfail: str | None = None
    timeout: float = 20
    env: dict[str, str] = field(default_factory=dict)


def secret(name: str, labels: dict[str, str], **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "type": "Opaque", "stringData": data}


def seed(kube: KubernetesEmulator) -> None:
    kube.install_crds(crd_manifests().values())
    kube.create(scenario.namespace("demo"))
    kube.create(secret("creds", {"app": "web", "tier": "backend"}, token="abc"))
    kube.create(secret("other", {"app": "db"}, password="pw"))
    kube.create({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "settings", "namespace": "default", "labels": {"app": "web"}},
                 "data": {"a": "1"}})
    web = scenario.deployment("web", namespace="default")
    web["metadata"]["labels"] = {"app": "web"}
    kube.create(web)
    kube.patch_status("apps/v1", "Deployment", "default", "web", {
        "observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
    token = kube.create(scenario.application_token("billing-api", namespace="default"))
    kube.patch_status(API, "ApplicationToken", "default", "billing-api", {
        "secretName": "billing-api", "expirationTime": "2030-01-01T00:00:00Z",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": "token is current",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
    kube.create(widget("w1"))
    kube.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "billing-api.1", "namespace": "default"},
                 "involvedObject": {"apiVersion": API, "kind": "ApplicationToken", "name": "billing-api",
                                    "namespace": "default", "uid": token["metadata"]["uid"]},
                 "type": "Warning", "reason": "RenewalFailed", "message": "not allowed to extend",
                 "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1,
                 "source": {"component": "tokensync"}})


# -- state checks ------------------------------------------------------------------------------------


def stored(kube: KubernetesEmulator, api_version: str, kind: str, name: str,
           namespace: str | None = "default") -> dict[str, Any] | None:
    return kube.get(api_version, kind, namespace, name)


def gone(api_version: str, kind: str, name: str, namespace: str | None = "default") -> Check:
    return lambda kube: stored(kube, api_version, kind, name, namespace) is None


def exists(api_version: str, kind: str, name: str, namespace: str | None = "default") -> Check:
    return lambda kube: stored(kube, api_version, kind, name, namespace) is not None


def has(api_version: str, kind: str, name: str, path: str, value: Any, namespace: str | None = "default") -> Check:
    """The stored object's value at a dotted path (``metadata.labels.env``) equals ``value``."""
    def check(kube: KubernetesEmulator) -> bool:
        node: Any = stored(kube, api_version, kind, name, namespace)
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return value is None
            node = node[part]
        return bool(node == value)
    return check


def cm_data(name: str, data: dict[str, str] | None) -> Check:
    return has("v1", "ConfigMap", name, "data", data)


def secret_value(name: str, key: str, value: str) -> Check:
    def check(kube: KubernetesEmulator) -> bool:
        obj = stored(kube, "v1", "Secret", name) or {}
        return bool(base64.b64decode(obj.get("data", {}).get(key, "")).decode() == value)
    return check


def both(*checks: Check) -> Check:
    return lambda kube: all(check(kube) for check in checks)


# -- manifests ---------------------------------------------------------------------------------------

TOKEN = """apiVersion: tokensync.dev/v1alpha1
kind: ApplicationToken
metadata: {name: orders-api, namespace: default}
spec: {instanceId: idaas_demo, applicationId: app_demo, applicationTokenId: token_orders}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default, labels: {app: web}}
data: {a: "1", b: "2"}
"""
NEW_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: fresh, labels: {set: one}}
data: {k: v}
"""
BAD_TOKEN = TOKEN.replace("applicationTokenId: token_orders", "applicationTokenId: token_orders, bogus: 1")
NO_ID_TOKEN = TOKEN.replace(", applicationTokenId: token_orders", "")
EDIT_A = "#!/bin/sh\nsed -i 's/a: \"1\"/a: \"9\"/' \"$1\"\n"
EDIT_NOTHING = "#!/bin/sh\ntrue\n"
EDIT_TOKEN = "#!/bin/sh\nsed -i 's/applicationTokenId: token_demo/applicationTokenId: token_edited/' \"$1\"\n"


def delete_other(kube: KubernetesEmulator) -> None:
    kube.delete("v1", "Secret", "default", "other")


def add_secret(kube: KubernetesEmulator) -> None:
    kube.create(secret("latecomer", {"app": "web"}, k="v"))


def ready_widget(kube: KubernetesEmulator) -> None:
    kube.patch_status("example.com/v1", "Widget", "default", "w1",
                      {"conditions": [{"type": "Ready", "status": "True"}]})


C = Case
CASES: list[Case] = [
    # ---- get: output formats ------------------------------------------------------------------------
    C("get-table", ("get", "secrets"), out=("NAME", "TYPE", "DATA", "AGE", "creds", "Opaque")),
    C("get-wide-deployment", ("get", "deployment", "web", "-o", "wide"),
      out=("CONTAINERS", "IMAGES", "SELECTOR", "example/app:1", "app=web")),
    C("get-json", ("get", "secret", "creds", "-o", "json"), out=('"kind": "Secret"', '"token": "YWJj"')),
    C("get-yaml", ("get", "configmap", "settings", "-o", "yaml"), out=("kind: ConfigMap", 'a: "1"', "uid: ")),
    C("get-name", ("get", "secrets", "-o", "name"), exact="secret/creds\nsecret/other\n"),
    C("get-jsonpath", ("get", "secret", "creds", "-o", "jsonpath={.metadata.labels.app}"), exact="web"),
    C("get-jsonpath-range", ("get", "secrets", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'),
      exact="creds\nother\n"),
    C("get-jsonpath-filter", ("get", "apptoken", "billing-api", "-o",
                              "jsonpath={.status.conditions[?(@.type=='Ready')].status}"), exact="True"),
    C("get-custom-columns", ("get", "secrets", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app"),
      out=("NAME    APP", "creds   web", "other   db")),
    C("get-go-template", ("get", "secret", "creds", "-o", "go-template={{.metadata.name}}/{{.type}}"),
      exact="creds/Opaque"),
    C("get-go-template-list", ("get", "configmaps", "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}"),
      out=("settings ",)),
    C("get-no-headers", ("get", "secrets", "--no-headers"), out=("creds",), not_out=("NAME",)),
    C("get-sort-by-name", ("get", "secrets", "--sort-by=.metadata.name", "-o", "name"),
      exact="secret/creds\nsecret/other\n"),
    C("get-sort-by-status", ("get", "apptoken", "--sort-by=.status.expirationTime"),
      out=("billing-api", "2030-01-01T00:00:00Z")),
    C("get-events-sort", ("get", "events", "--sort-by=.lastTimestamp"),
      out=("RenewalFailed", "applicationtoken/billing-api", "not allowed to extend")),
    # ---- get: selection ----------------------------------------------------------------------------
    C("get-label-eq", ("get", "secrets", "-l", "app=web", "-o", "name"), exact="secret/creds\n"),
    C("get-label-neq", ("get", "secrets", "-l", "app!=web", "-o", "name"), exact="secret/other\n"),
    C("get-label-in", ("get", "secrets,configmaps", "-l", "app in (web,db)", "-o", "name"),
      exact="secret/creds\nsecret/other\nconfigmap/settings\n"),
    C("get-label-notexists", ("get", "secrets", "-l", "!tier", "-o", "name"), exact="secret/other\n"),
    C("get-label-none", ("get", "secrets", "-l", "app=nothing"), err=("No resources found in default namespace.",)),
    C("get-field-name", ("get", "secrets", "--field-selector", "metadata.name=creds", "-o", "name"),
      exact="secret/creds\n"),
    C("get-field-type", ("get", "secrets", "--field-selector", "type=Opaque", "-o", "name"),
      exact="secret/creds\nsecret/other\n"),
    C("get-field-events-reason", ("get", "events", "-A", "--field-selector", "reason=RenewalFailed",
                                  "-o", "custom-columns=OBJECT:.involvedObject.name,MESSAGE:.message"),
      out=("billing-api", "not allowed to extend")),
    C("get-field-unsupported", ("get", "secrets", "--field-selector", "data.token=abc"), code=1,
      err=('field label not supported: data.token',)),
    C("get-all-namespaces", ("get", "secrets", "-A"), out=("NAMESPACE", "default", "creds")),
    C("get-namespace-empty", ("get", "secrets", "-n", "demo"), err=("No resources found in demo namespace.",)),
    C("get-show-labels", ("get", "secrets", "--show-labels"), out=("LABELS", "app=web,tier=backend", "app=db")),
    C("get-label-columns", ("get", "secrets", "-L", "app"), out=("APP", "web", "db")),
    C("get-chunk-size", ("get", "secrets", "--chunk-size=1", "-o", "name"), exact="secret/creds\nsecret/other\n"),
    C("get-multiple-kinds", ("get", "secret/creds", "configmap/settings", "-o", "name"),
      exact="secret/creds\nconfigmap/settings\n"),
    C("get-not-found", ("get", "secret", "missing"), code=1,
      err=('Error from server (NotFound): secrets "missing" not found',)),
    C("get-ignore-not-found", ("get", "secret", "missing", "--ignore-not-found"), exact=""),
    C("get-unknown-kind", ("get", "frobnicators"), code=1,
      err=('the server doesn\'t have a resource type "frobnicators"',)),
    C("get-namespaces", ("get", "ns"), out=("STATUS", "default", "Active", "demo", "kube-system")),
    C("get-custom-resource", ("get", "apptoken"), out=("READY", "TOKEN", "SECRET", "EXPIRES", "billing-api")),
    C("get-category", ("get", "tokensync", "-A"), out=("applicationtoken.tokensync.dev/billing-api",)),
    C("get-short-name", ("get", "wd", "w1", "-o", "jsonpath={.spec.replicas}"), exact="1"),
    C("get-fully-qualified", ("get", "applicationtokens.tokensync.dev", "-o", "name"),
      exact="applicationtoken.tokensync.dev/billing-api\n"),
    C("get-subresource-status", ("get", "apptoken", "billing-api", "--subresource=status", "-o",
                                 "jsonpath={.status.secretName}"), exact="billing-api"),
    C("get-subresource-scale", ("get", "deployment", "web", "--subresource=scale", "-o",
                                "jsonpath={.kind}/{.spec.replicas}"), exact="Scale/1"),
    C("get-deployment-default-replicas", ("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"), exact="1"),
    C("get-raw", ("get", "--raw", "/api/v1/namespaces/default/configmaps/settings"),
      out=('{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings"', '"data":{"a":"1"}'),
      not_out=(", ", '": ')),
    C("get-raw-version", ("get", "--raw", "/version"), out=('"gitVersion"',)),
    C("get-all", ("get", "all"), out=("deployment.apps/web",)),
    C("get-crd", ("get", "crd", "-o", "name"),
      out=("customresourcedefinition.apiextensions.k8s.io/applicationtokens.tokensync.dev",)),
    C("get-watch-timeout", ("get", "secrets", "--watch", "--request-timeout=2s", "-o", "name"),
      during=add_secret, out=("secret/creds", "secret/latecomer")),
    C("get-watch-only", ("get", "secrets", "--watch-only", "--request-timeout=2s", "-o", "name"),
      during=add_secret, exact="secret/latecomer\n"),
    C("get-output-watch-events", ("get", "configmap", "--watch", "--output-watch-events", "--request-timeout=2s"),
      during=lambda kube: kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}),
      out=("EVENT", "NAME", "DATA", "ADDED", "settings", "late")),
    # ---- describe ----------------------------------------------------------------------------------
    C("describe-secret", ("describe", "secret", "creds"),
      out=("Name:         creds", "Namespace:    default", "Type:  Opaque", "token:  3 bytes", "app=web")),
    C("describe-configmap", ("describe", "configmap", "settings"), out=("Name:         settings", "Data\n====", "a:")),
    C("describe-namespace", ("describe", "namespace", "demo"),
      out=("Name:         demo", "Status:       Active", "No resource quota.", "No LimitRange resource.")),
    C("describe-deployment", ("describe", "deployment", "web"),
      out=("Name:                   web", "Selector:               app=web", "Replicas:",
           "Pod Template:", "example/app:1")),
    C("describe-custom-resource", ("describe", "apptoken", "billing-api"),
      out=("Kind:         ApplicationToken", "API Version:  tokensync.dev/v1alpha1", "Application Token Id:",
           "token_demo", "Events:", "RenewalFailed")),
    C("describe-widget", ("describe", "widget", "w1"), out=("Kind:         Widget", "Size:", "small")),
    C("describe-selector", ("describe", "secrets", "-l", "app=web"), out=("Name:         creds",), not_out=("other",)),
    C("describe-not-found", ("describe", "secret", "missing"), code=1,
      err=('Error from server (NotFound): secrets "missing" not found',)),
    # ---- create ------------------------------------------------------------------------------------
    C("create-namespace", ("create", "namespace", "team"), exact="namespace/team created\n",
      then=has("v1", "Namespace", "team", "status.phase", "Active", None)),
    C("create-configmap", ("create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=2"),
      exact="configmap/c created\n", then=cm_data("c", {"a": "1", "b": "2"})),
    C("create-secret-generic", ("create", "secret", "generic", "s", "--from-literal=k=v"),
      exact="secret/s created\n", then=secret_value("s", "k", "v")),
    C("create-secret-docker", ("create", "secret", "docker-registry", "reg", "--docker-server=r.example.com",
                               "--docker-username=u", "--docker-password=p"),
      exact="secret/reg created\n", then=has("v1", "Secret", "reg", "type", "kubernetes.io/dockerconfigjson")),
    C("create-deployment", ("create", "deployment", "d", "--image=nginx", "--replicas=2"),
      exact="deployment.apps/d created\n", then=has("apps/v1", "Deployment", "d", "spec.replicas", 2)),
    C("create-serviceaccount", ("create", "serviceaccount", "robot"), exact="serviceaccount/robot created\n"),
    C("create-role", ("create", "role", "reader", "--verb=get,list", "--resource=secrets"),
      exact="role.rbac.authorization.k8s.io/reader created\n"),
    C("create-rolebinding", ("create", "rolebinding", "rb", "--role=reader", "--serviceaccount=default:robot"),
      exact="rolebinding.rbac.authorization.k8s.io/rb created\n"),
    C("create-clusterrole", ("create", "clusterrole", "cr", "--verb=get", "--resource=applicationtokens"),
      exact="clusterrole.rbac.authorization.k8s.io/cr created\n"),
    C("create-job", ("create", "job", "once", "--image=busybox"), exact="job.batch/once created\n"),
    C("create-cronjob", ("create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *"),
      exact="cronjob.batch/nightly created\n"),
    C("create-service", ("create", "service", "clusterip", "svc", "--tcp=80:8080"), exact="service/svc created\n"),
    C("create-quota", ("create", "quota", "q", "--hard=pods=10"), exact="resourcequota/q created\n"),
    C("create-pdb", ("create", "pdb", "p", "--selector=app=web", "--min-available=1"),
      exact="poddisruptionbudget.policy/p created\n"),
    C("create-priorityclass", ("create", "priorityclass", "high", "--value=1000"),
      exact="priorityclass.scheduling.k8s.io/high created\n"),
    C("create-ingress", ("create", "ingress", "ing", "--rule=example.com/=svc:80"),
      exact="ingress.networking.k8s.io/ing created\n"),
    C("create-file", ("create", "-f", "-"), stdin=TOKEN, exact="applicationtoken.tokensync.dev/orders-api created\n",
      then=has(API, "ApplicationToken", "orders-api", "spec.applicationTokenId", "token_orders")),
    C("create-file-exists", ("create", "-f", "-"), stdin=CONFIGMAP, code=1,
      err=('Error from server (AlreadyExists)', 'configmaps "settings" already exists')),
    C("create-crds-dir", ("create", "-f", str(ROOT / "crds")), code=1,
      err=("AlreadyExists", "applicationtokens.tokensync.dev")),
    C("create-dry-run-client", ("create", "configmap", "x", "--from-literal=a=1", "--dry-run=client", "-o", "yaml"),
      out=("kind: ConfigMap", "name: x"), then=gone("v1", "ConfigMap", "x")),
    C("create-dry-run-server", ("create", "configmap", "x", "--from-literal=a=1", "--dry-run=server"),
      exact="configmap/x created (server dry run)\n", then=gone("v1", "ConfigMap", "x")),
    C("create-invalid-name", ("create", "configmap", "Bad_Name"), code=1,
      err=('error: failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value',)),
    C("create-token", ("create", "token", "robot"), before=(("create", "serviceaccount", "robot"),),
      out=("eyJ",)),
    # ---- apply -------------------------------------------------------------------------------------
    C("apply-create", ("apply", "-f", "-"), stdin=TOKEN, exact="applicationtoken.tokensync.dev/orders-api created\n"),
    C("apply-unchanged", ("apply", "-f", "-"), stdin=TOKEN, before=(("apply", "-f", "-", "@TOKEN"),),
      exact="applicationtoken.tokensync.dev/orders-api unchanged\n"),
    C("apply-configured", ("apply", "-f", "-"), stdin=TOKEN.replace("token_orders", "token_new"),
      before=(("apply", "-f", "-", "@TOKEN"),), exact="applicationtoken.tokensync.dev/orders-api configured\n",
      then=has(API, "ApplicationToken", "orders-api", "spec.applicationTokenId", "token_new")),
    C("apply-without-annotation", ("apply", "-f", "-"), stdin=CONFIGMAP, out=("configmap/settings configured",),
      err=("missing the kubectl.kubernetes.io/last-applied-configuration annotation",),
      then=cm_data("settings", {"a": "1", "b": "2"})),
    C("apply-removes-field", ("apply", "-f", "-"), stdin=CONFIGMAP.replace(', b: "2"', ""),
      before=(("apply", "-f", "-", "@CONFIGMAP"),), exact="configmap/settings configured\n",
      then=cm_data("settings", {"a": "1"})),
    C("apply-server-side", ("apply", "--server-side", "-f", "-"), stdin=TOKEN,
      exact="applicationtoken.tokensync.dev/orders-api serverside-applied\n",
      then=has(API, "ApplicationToken", "orders-api", "spec.applicationTokenId", "token_orders")),
    C("apply-server-side-conflict", ("apply", "--server-side", "--field-manager=other", "-f", "-"),
      stdin=CONFIGMAP.replace('a: "1"', 'a: "2"'), before=(("apply", "--server-side", "-f", "-", "@CONFIGMAP"),),
      code=1, err=("Apply failed with 2 conflicts", 'conflicts with "kubectl":\n- .data.a')),
    C("apply-server-side-force", ("apply", "--server-side", "--force-conflicts", "--field-manager=other", "-f", "-"),
      stdin=CONFIGMAP.replace('a: "1"', 'a: "2"'), before=(("apply", "--server-side", "-f", "-", "@CONFIGMAP"),),
      exact="configmap/settings serverside-applied\n", then=cm_data("settings", {"a": "2", "b": "2"})),
    C("apply-dry-run-server", ("apply", "--dry-run=server", "-f", "-"), stdin=TOKEN,
      exact="applicationtoken.tokensync.dev/orders-api created (server dry run)\n",
      then=gone(API, "ApplicationToken", "orders-api")),
    C("apply-dry-run-client", ("apply", "--dry-run=client", "-f", "-"), stdin=TOKEN,
      exact="applicationtoken.tokensync.dev/orders-api created (dry run)\n",
      then=gone(API, "ApplicationToken", "orders-api")),
    C("apply-server-side-dry-run", ("apply", "--server-side", "--dry-run=server", "-f", "-"), stdin=CONFIGMAP,
      exact="configmap/settings serverside-applied (server dry run)\n", then=cm_data("settings", {"a": "1"})),
    C("apply-unknown-field", ("apply", "-f", "-"), stdin=BAD_TOKEN, code=1, err=('unknown field "spec.bogus"',)),
    C("apply-missing-required", ("apply", "-f", "-"), stdin=NO_ID_TOKEN, code=1,
      err=('The ApplicationToken "orders-api" is invalid: spec: Invalid value: "object": '
           "applicationTokenId is required unless renewal.strategy is Rotate",)),
    C("apply-crds-dir", ("apply", "-f", str(ROOT / "crds")),
      out=("customresourcedefinition.apiextensions.k8s.io/applicationtokens.tokensync.dev configured",)),
    C("apply-prune", ("apply", "--prune", "-l", "set=one", "--prune-allowlist=core/v1/ConfigMap", "-f", "-"),
      stdin=NEW_CONFIGMAP.replace("fresh", "second"), before=(("apply", "-f", "-", "@NEW_CONFIGMAP"),),
      out=("configmap/second created", "configmap/fresh pruned"),
      then=both(gone("v1", "ConfigMap", "fresh"), exists("v1", "ConfigMap", "second"))),
    C("apply-view-last-applied", ("apply", "view-last-applied", "configmap", "fresh"),
      before=(("apply", "-f", "-", "@NEW_CONFIGMAP"),), out=("kind: ConfigMap", "k: v")),
    C("apply-set-last-applied", ("apply", "set-last-applied", "--create-annotation", "-f", "-"),
      stdin=NEW_CONFIGMAP,
      before=(("create", "-f", "-", "@NEW_CONFIGMAP"),), exact="configmap/fresh configured\n"),
    # ---- patch -------------------------------------------------------------------------------------
    C("patch-merge", ("patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"b":"2"}}'),
      exact="configmap/settings patched\n", then=cm_data("settings", {"a": "1", "b": "2"})),
    C("patch-json", ("patch", "configmap", "settings", "--type", "json",
                     "-p", '[{"op":"replace","path":"/data/a","value":"7"}]'),
      exact="configmap/settings patched\n", then=cm_data("settings", {"a": "7"})),
    C("patch-json-test-fails", ("patch", "configmap", "settings", "--type", "json",
                                "-p", '[{"op":"test","path":"/data/a","value":"nope"}]'), code=1,
      err=("The request is invalid: : testing value /data/a failed: test failed",),
      then=cm_data("settings", {"a": "1"})),
    C("patch-strategic", ("patch", "deployment", "web", "-p",
                          '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"example/app:2"}]}}}}'),
      exact="deployment.apps/web patched\n",
      then=lambda kube: [(c["name"], c["image"]) for c in (stored(kube, "apps/v1", "Deployment", "web") or {})
                         ["spec"]["template"]["spec"]["containers"]] == [("app", "example/app:2")]),
    C("create-defaults-containers", ("get", "deployment", "d", "-o", "jsonpath={.spec.template.spec.containers[0]"
                                     ".imagePullPolicy}/{.spec.template.spec.containers[0].terminationMessagePolicy}"
                                     "/{.spec.strategy.type}/{.spec.revisionHistoryLimit}"),
      before=(("create", "deployment", "d", "--image=nginx:1"),), exact="IfNotPresent/File/RollingUpdate/10",
      xfail="container fields are not defaulted (imagePullPolicy, terminationMessagePolicy/Path); "
            "kube-apiserver defaults them on create, so -o yaml and jsonpath show them"),
    C("patch-no-change", ("patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"a":"1"}}'),
      exact="configmap/settings patched (no change)\n"),
    C("patch-custom-resource-merge", ("patch", "apptoken", "billing-api", "--type=merge",
                                      "-p", '{"spec":{"applicationTokenId":"token_x"}}'),
      exact="applicationtoken.tokensync.dev/billing-api patched\n",
      then=has(API, "ApplicationToken", "billing-api", "spec.applicationTokenId", "token_x")),
    C("patch-custom-resource-strategic", ("patch", "apptoken", "billing-api", "-p", '{"spec":{"x":1}}'), code=1,
      err=("error: application/strategic-merge-patch+json is not supported by tokensync.dev/v1alpha1, "
           "Kind=ApplicationToken: the body of the request was in an unknown format",)),
    C("patch-finalizers-json", ("patch", "apptoken", "billing-api", "--type=json",
                                "-p", '[{"op":"add","path":"/metadata/finalizers","value":["a/b"]}]'),
      exact="applicationtoken.tokensync.dev/billing-api patched\n",
      then=has(API, "ApplicationToken", "billing-api", "metadata.finalizers", ["a/b"])),
    C("patch-status-subresource", ("patch", "apptoken", "billing-api", "--subresource=status", "--type=merge",
                                   "-p", '{"status":{"secretName":"elsewhere"}}'),
      exact="applicationtoken.tokensync.dev/billing-api patched\n",
      then=has(API, "ApplicationToken", "billing-api", "status.secretName", "elsewhere")),
    C("patch-dry-run-server", ("patch", "configmap", "settings", "--type=merge", "-p", '{"data":{"a":"5"}}',
                               "--dry-run=server"),
      exact="configmap/settings patched\n", then=cm_data("settings", {"a": "1"})),
    C("patch-invalid", ("patch", "widget", "w1", "--type=merge", "-p", '{"spec":{"size":"huge"}}'), code=1,
      err=('Unsupported value: "huge"',)),
    C("patch-not-found", ("patch", "configmap", "nope", "--type=merge", "-p", "{}"), code=1,
      err=('configmaps "nope" not found',)),
    # ---- edit --------------------------------------------------------------------------------------
    C("edit-configmap", ("edit", "configmap", "settings"), editor=EDIT_A, exact="configmap/settings edited\n",
      then=cm_data("settings", {"a": "9"})),
    C("edit-no-change", ("edit", "configmap", "settings"), editor=EDIT_NOTHING,
      err=("Edit cancelled, no changes made.",)),
    C("edit-custom-resource", ("edit", "apptoken", "billing-api"), editor=EDIT_TOKEN,
      exact="applicationtoken.tokensync.dev/billing-api edited\n",
      then=has(API, "ApplicationToken", "billing-api", "spec.applicationTokenId", "token_edited")),
    # ---- label / annotate --------------------------------------------------------------------------
    C("label-add", ("label", "secret", "creds", "env=prod"), exact="secret/creds labeled\n",
      then=has("v1", "Secret", "creds", "metadata.labels.env", "prod")),
    C("label-no-overwrite", ("label", "secret", "creds", "app=api"), code=1,
      err=("'app' already has a value (web), and --overwrite is false",)),
    C("label-overwrite", ("label", "secret", "creds", "app=api", "--overwrite"), exact="secret/creds labeled\n",
      then=has("v1", "Secret", "creds", "metadata.labels.app", "api")),
    C("label-remove", ("label", "secret", "creds", "tier-"), exact="secret/creds unlabeled\n",
      then=has("v1", "Secret", "creds", "metadata.labels.tier", None)),
    C("label-all", ("label", "secrets", "--all", "team=a"), exact="secret/creds labeled\nsecret/other labeled\n"),
    C("label-selector", ("label", "secrets", "-l", "app=db", "team=b"), exact="secret/other labeled\n"),
    C("label-namespace", ("label", "namespace", "demo", "pod-identity.alibabacloud.com/injection=on"),
      exact="namespace/demo labeled\n"),
    C("label-dry-run-server", ("label", "secret", "creds", "env=prod", "--dry-run=server"),
      exact="secret/creds labeled (server dry run)\n", then=has("v1", "Secret", "creds", "metadata.labels.env", None)),
    C("annotate-custom-resource", ("annotate", "apptoken", "billing-api", "tokensync.dev/force-sync=1", "--overwrite"),
      exact="applicationtoken.tokensync.dev/billing-api annotated\n",
      then=has(API, "ApplicationToken", "billing-api", "metadata.annotations", {"tokensync.dev/force-sync": "1"})),
    C("annotate-remove", ("annotate", "configmap", "settings", "note-"),
      before=(("annotate", "cm", "settings", "note=x"),),
      exact="configmap/settings annotated\n", then=has("v1", "ConfigMap", "settings", "metadata.annotations", None)),
    # ---- delete ------------------------------------------------------------------------------------
    C("delete-one", ("delete", "secret", "other"), exact='secret "other" deleted\n',
      then=gone("v1", "Secret", "other")),
    C("delete-selector", ("delete", "secrets", "-l", "app=web"), exact='secret "creds" deleted\n',
      then=both(gone("v1", "Secret", "creds"), exists("v1", "Secret", "other"))),
    C("delete-all", ("delete", "secrets", "--all"), exact='secret "creds" deleted\nsecret "other" deleted\n',
      then=gone("v1", "Secret", "other")),
    C("delete-dry-run-server", ("delete", "secret", "creds", "--dry-run=server"),
      exact='secret "creds" deleted (server dry run)\n', then=exists("v1", "Secret", "creds")),
    C("delete-dry-run-client", ("delete", "secret", "creds", "--dry-run=client"),
      exact='secret "creds" deleted (dry run)\n', then=exists("v1", "Secret", "creds")),
    C("delete-not-found", ("delete", "secret", "missing"), code=1,
      err=('Error from server (NotFound): secrets "missing" not found',)),
    C("delete-ignore-not-found", ("delete", "secret", "missing", "--ignore-not-found"), exact=""),
    C("delete-file", ("delete", "-f", "-"), stdin=CONFIGMAP, exact='configmap "settings" deleted\n',
      then=gone("v1", "ConfigMap", "settings")),
    C("delete-custom-resource", ("delete", "apptoken", "billing-api"),
      exact='applicationtoken.tokensync.dev "billing-api" deleted\n',
      then=gone(API, "ApplicationToken", "billing-api")),
    C("delete-finalizer-waits", ("delete", "apptoken", "billing-api", "--wait=false"),
      before=(("patch", "apptoken", "billing-api", "--type=merge", "-p", '{"metadata":{"finalizers":["x/y"]}}'),),
      exact='applicationtoken.tokensync.dev "billing-api" deleted\n',
      then=lambda kube: bool((stored(kube, API, "ApplicationToken", "billing-api") or {})
                             .get("metadata", {}).get("deletionTimestamp"))),
    C("delete-namespace", ("delete", "namespace", "demo"), exact='namespace "demo" deleted\n',
      then=gone("v1", "Namespace", "demo", None)),
    # ---- scale / rollout / set ----------------------------------------------------------------------
    C("scale", ("scale", "deployment", "web", "--replicas=3"), exact="deployment.apps/web scaled\n",
      then=has("apps/v1", "Deployment", "web", "spec.replicas", 3)),
    C("scale-precondition", ("scale", "deployment", "web", "--current-replicas=5", "--replicas=3"), code=1,
      err=("Expected replicas to be 5, was 1",)),
    C("scale-custom-resource-without-scale", ("scale", "widget", "w1", "--replicas=2"), code=1,
      err=("Error from server (NotFound)",)),
    C("rollout-status", ("rollout", "status", "deployment", "web", "--timeout=10s"),
      exact='deployment "web" successfully rolled out\n'),
    C("rollout-restart", ("rollout", "restart", "deployment", "web"), exact="deployment.apps/web restarted\n",
      then=lambda kube: "kubectl.kubernetes.io/restartedAt" in (stored(kube, "apps/v1", "Deployment", "web") or {})
      ["spec"]["template"]["metadata"].get("annotations", {})),
    C("rollout-history", ("rollout", "history", "deployment", "web"), out=("No rollout history found.",)),
    C("rollout-pause", ("rollout", "pause", "deployment", "web"), exact="deployment.apps/web paused\n",
      then=has("apps/v1", "Deployment", "web", "spec.paused", True)),
    C("rollout-resume", ("rollout", "resume", "deployment", "web"),
      before=(("rollout", "pause", "deployment", "web"),), exact="deployment.apps/web resumed\n"),
    C("set-image", ("set", "image", "deployment/web", "app=example/app:3"),
      exact="deployment.apps/web image updated\n",
      then=lambda kube: (stored(kube, "apps/v1", "Deployment", "web") or {})
      ["spec"]["template"]["spec"]["containers"][0]["image"] == "example/app:3"),
    C("set-env", ("set", "env", "deployment/web", "MODE=fast"), exact="deployment.apps/web env updated\n"),
    # ---- explain / discovery / version / auth -------------------------------------------------------
    C("explain-custom-resource", ("explain", "applicationtoken"),
      out=("GROUP:      tokensync.dev", "KIND:       ApplicationToken", "VERSION:    v1alpha1", "FIELDS:",
           "spec\t<Object> -required-")),
    C("explain-field", ("explain", "applicationtoken.spec.renewal"), out=("strategy", "lifetime", "Extend", "Rotate")),
    C("explain-builtin", ("explain", "deployment.spec.replicas"), out=("FIELD: replicas <integer>",)),
    C("explain-secret", ("explain", "secret"), out=("KIND:       Secret", "VERSION:    v1", "stringData")),
    C("explain-recursive", ("explain", "widget.spec", "--recursive"), out=("size", "secretName", "replicas")),
    C("explain-unknown-field", ("explain", "applicationtoken.spec.nothing"), code=1,
      err=('field "nothing" does not exist',)),
    C("api-resources", ("api-resources",), out=("applicationtokens", "apptoken", "tokensync.dev/v1alpha1",
                                                  "ApplicationToken", "secrets", "deployments")),
    C("api-resources-group", ("api-resources", "--api-group=tokensync.dev", "-o", "name"),
      out=("applicationtokens.tokensync.dev", "ramapplications.tokensync.dev")),
    C("api-resources-cluster-scoped", ("api-resources", "--namespaced=false", "-o", "name"),
      out=("namespaces", "clustercloudaccesses.tokensync.dev"), not_out=("\nsecrets\n",)),
    C("api-resources-verbs", ("api-resources", "--verbs=list", "-o", "wide"), out=("VERBS", "applicationtokens")),
    C("api-versions", ("api-versions",), out=("tokensync.dev/v1alpha1\n", "apps/v1\n", "v1\n")),
    C("version", ("version",), out=("Client Version: v1.32", "Server Version: v1.")),
    C("version-json", ("version", "-o", "json"), out=('"serverVersion"', '"gitVersion"')),
    C("cluster-info", ("cluster-info",), out=("Kubernetes control plane", "is running at")),
    C("auth-can-i", ("auth", "can-i", "get", "secrets"), exact="yes\n"),
    C("auth-can-i-custom-resource", ("auth", "can-i", "patch", "applicationtokens.tokensync.dev/status"),
      exact="yes\n"),
    C("auth-can-i-list", ("auth", "can-i", "--list"), out=("Resources", "Verbs")),
    C("auth-whoami", ("auth", "whoami"), out=("ATTRIBUTE", "Username")),
    # ---- wait --------------------------------------------------------------------------------------
    C("wait-condition-met", ("wait", "--for=condition=Ready", "apptoken/billing-api", "--timeout=10s"),
      exact="applicationtoken.tokensync.dev/billing-api condition met\n"),
    C("wait-condition-later", ("wait", "--for=condition=Ready", "widget/w1", "--timeout=15s"), during=ready_widget,
      exact="widget.example.com/w1 condition met\n"),
    C("wait-condition-timeout", ("wait", "--for=condition=Ready", "widget/w1", "--timeout=1s"), code=1,
      err=("timed out waiting for the condition on widgets/w1",)),
    C("wait-delete", ("wait", "--for=delete", "secret/other", "--timeout=15s"), during=delete_other,
      exact="secret/other condition met\n"),
    C("wait-jsonpath", ("wait", "--for=jsonpath={.spec.size}=small", "widget/w1", "--timeout=10s"),
      exact="widget.example.com/w1 condition met\n"),
    C("wait-jsonpath-status", ("wait", "--for=jsonpath={.status.secretName}=billing-api", "apptoken", "--all",
                               "--timeout=10s"), exact="applicationtoken.tokensync.dev/billing-api condition met\n"),
    C("wait-create", ("wait", "--for=create", "configmap/settings", "--timeout=10s"),
      exact="configmap/settings condition met\n"),
    C("wait-deployment-available", ("wait", "--for=condition=Available", "deployment/web", "--timeout=10s"),
      exact="deployment.apps/web condition met\n"),
    # ---- diff / replace ----------------------------------------------------------------------------
    C("diff-changed", ("diff", "-f", "-"), stdin=CONFIGMAP, code=1, out=('+  b: "2"',)),
    C("diff-unchanged", ("diff", "-f", "-"), stdin=NEW_CONFIGMAP, before=(("apply", "-f", "-", "@NEW_CONFIGMAP"),),
      exact=""),
    C("diff-new", ("diff", "-f", "-"), stdin=TOKEN, code=1, out=("+  applicationTokenId: token_orders",)),
    C("diff-server-side", ("diff", "--server-side", "-f", "-"), stdin=CONFIGMAP, code=1, out=('+  b: "2"',),
      then=cm_data("settings", {"a": "1"})),
    C("replace", ("replace", "-f", "-"), stdin=CONFIGMAP, exact="configmap/settings replaced\n",
      then=cm_data("settings", {"a": "1", "b": "2"})),
    C("replace-force", ("replace", "--force", "-f", "-"), stdin=CONFIGMAP,
      exact='configmap "settings" deleted\nconfigmap/settings replaced\n',
      then=cm_data("settings", {"a": "1", "b": "2"})),
    C("replace-not-found", ("replace", "-f", "-"), stdin=NEW_CONFIGMAP, code=1,
      err=('configmaps "fresh" not found',)),
    # ---- events ------------------------------------------------------------------------------------
    C("events", ("events",), out=("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE", "RenewalFailed",
                                 "ApplicationToken/billing-api")),
    C("events-for", ("events", "--for", "applicationtoken/billing-api"), out=("not allowed to extend",)),
    C("events-types", ("events", "--types=Normal"), err=("No events found in default namespace.",)),
    C("events-all-namespaces", ("events", "-A", "-o", "json"), out=('"reason": "RenewalFailed"',)),
]

IDS = [case.id for case in CASES]
assert len(set(IDS)) == len(IDS), "duplicate case ids"
STDIN = {"@TOKEN": TOKEN, "@CONFIGMAP": CONFIGMAP, "@NEW_CONFIGMAP": NEW_CONFIGMAP}


async def run_kubectl(env: dict[str, str], args: tuple[str, ...], stdin: str | None = None,
                      timeout: float = 20) -> KubectlResult:
    process = await asyncio.create_subprocess_exec(
        "kubectl", *args, env=env, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode() if stdin is not None else None),
                                            timeout)
    assert process.returncode is not None
    return KubectlResult(process.returncode, stdout.decode(), stderr.decode())


def split_stdin(args: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """A set-up command's trailing ``@NAME`` is the manifest it reads from stdin."""
    if args and args[-1] in STDIN:
        return args[:-1], STDIN[args[-1]]
    return args, None


async def until_watching(kube: KubernetesEmulator, task: asyncio.Task[KubectlResult]) -> None:
    seen = len(kube.requests)
    while not any("watch=" in path for _, path in kube.requests[seen:]):
        if task.done():
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
    for case in CASES])
async def test_kubectl_matrix(case: Case, kube_emulator: KubernetesEmulator, tmp_path: Path) -> None:
    seed(kube_emulator)
    kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path), **case.env}
    if case.editor is not None:
        editor = tmp_path / "editor.sh"
        editor.write_text(case.editor)
        editor.chmod(0o755)
        env["KUBE_EDITOR"] = str(editor)
    for step in case.before:
        args, stdin = split_stdin(step)
        prepared = await run_kubectl(env, args, stdin)
        assert prepared.returncode == 0, (step, prepared.stderr)
    task = asyncio.create_task(run_kubectl(env, case.args, case.stdin, case.timeout))
    if case.during is not None:
        await until_watching(kube_emulator, task)
        assert not task.done(), (await task)
        case.during(kube_emulator)
    result = await task
    where = f"$ kubectl {' '.join(case.args)}\n--- rc {result.returncode}\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == case.code, where
    if case.exact is not None:
        assert result.stdout == case.exact, where
    for text in case.out:
        assert text in result.stdout, where
    for text in case.not_out:
        assert text not in result.stdout, where
    for text in case.err:
        assert text in result.stderr, where
    if case.then is not None:
        assert case.then(kube_emulator), where + "\n--- stored state differs"


def test_the_matrix_is_at_least_a_hundred_cases() -> None:
    assert len(CASES) >= 100
    assert sum(case.xfail is not None for case in CASES) < len(CASES) // 10
