"""``kubectl get`` (the machine's v1.32) prints the emulator's server-side tables as it prints kube-apiserver's.

kubectl asks for ``Accept: application/json;as=Table``; with ``--sort-by`` it adds ``includeObject=Object``
and sorts the rows by a JSONPath into each row's object (kubectl pkg/cmd/get/sorter.go, TableSorter).
When no row's object has the field, get.go drops the sorting printer's error unprinted: rows carrying
only metadata made ``kubectl get apptoken --sort-by=.status.expirationTime`` print "No resources found".
"""

from __future__ import annotations

import asyncio
import re
import shutil
from typing import Any

import pytest

from tests import scenario
from tokensync.api.crds import crd_manifests
from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import Kubectl, widget

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

# A CRD with a "date" column on a free-form field, where a bad value can be stored.
GIZMO_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "additionalPrinterColumns": [
                               {"name": "Seen", "type": "date", "jsonPath": ".status.seen"},
                               {"name": "Count", "type": "integer", "jsonPath": ".status.count"}],
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}


def rows(output: str) -> list[list[str]]:
    """kubectl's table as a user reads it: each line cut where the header's columns start (blank cells kept)."""
    lines = [line for line in output.splitlines() if line.strip()]
    starts = [match.start() for match in re.finditer(r"\S+(?: \S+)*", lines[0])]
    return [[line[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)]
            for line in lines]


def install_tokensync_crds(kube: KubernetesEmulator) -> None:
    kube.install_crds(crd_manifests().values())


async def test_sort_by_a_status_field_sorts_custom_resources(kubectl: Kubectl,
                                                             kube_emulator: KubernetesEmulator) -> None:
    install_tokensync_crds(kube_emulator)
    for name, expires in [("b", "2030-06-01T00:00:00Z"), ("a", "2031-06-01T00:00:00Z"), ("c", "2029-06-01T00:00:00Z")]:
        kube_emulator.create(scenario.application_token(name, namespace="default"))
        kube_emulator.patch_status(scenario.API, "ApplicationToken", "default", name, {"expirationTime": expires})
    result = await kubectl("get", "apptoken", "--sort-by=.status.expirationTime")
    assert result.returncode == 0, result.stderr
    assert "No resources found" not in result.stderr
    table = rows(result.stdout)
    assert table[0][:5] == ["NAME", "READY", "TOKEN", "SECRET", "EXPIRES"]
    assert [(row[0], row[4]) for row in table[1:]] == [
        ("c", "2029-06-01T00:00:00Z"), ("b", "2030-06-01T00:00:00Z"), ("a", "2031-06-01T00:00:00Z")]


async def test_get_one_custom_resource_shows_exactly_its_declared_columns(kubectl: Kubectl,
                                                                          kube_emulator: KubernetesEmulator) -> None:
    install_tokensync_crds(kube_emulator)
    kube_emulator.create(scenario.ram_application("portal", namespace="default"))
    kube_emulator.patch_status(scenario.API, "RamApplication", "default", "portal", {
        "application": {"appName": "Portal", "appType": "WebApp"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
    kube_emulator.create(widget("w1"))
    portal, w1 = await kubectl("get", "ramapp", "portal"), await kubectl("get", "widget", "w1")
    assert portal.returncode == 0, portal.stderr
    assert rows(portal.stdout)[0] == ["NAME", "READY", "INSYNC", "APP NAME", "APP TYPE", "LAST SYNC", "AGE"]
    assert rows(portal.stdout)[1][:6] == ["portal", "True", "", "Portal", "WebApp", ""]
    assert w1.returncode == 0, w1.stderr
    assert rows(w1.stdout) == [["NAME", "SIZE", "READY"], ["w1", "small", ""]]  # declares no Age: gets none


async def test_a_bad_date_cell_prints_invalid_and_the_list_succeeds(kubectl: Kubectl,
                                                                     kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.install_crds([GIZMO_CRD])
    statuses: dict[str, dict[str, Any]] = {"bad": {"seen": "last tuesday", "count": "many"},
                                           "fine": {"seen": "", "count": 3}}
    for name, status in statuses.items():
        kube_emulator.create({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": name}})
        kube_emulator.patch_status("example.com/v1", "Gizmo", "default", name, status)
    result = await kubectl("get", "gizmos")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [["NAME", "SEEN", "COUNT"], ["bad", "<invalid>", ""], ["fine", "<unknown>", "3"]]


async def test_builtin_kinds_print_the_real_columns(kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                          "stringData": {"token": "t", "user": "u"}})
    kube_emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                          "data": {"a": "1"}})
    kube_emulator.create(scenario.deployment("web", namespace="default"))
    kube_emulator.patch_status("apps/v1", "Deployment", "default", "web",
                               {"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1})
    result = await kubectl("get", "secret,configmap,namespace,deployment")
    assert result.returncode == 0, result.stderr
    tables = [rows(block) for block in result.stdout.split("\n\n")]  # one table per kind, a blank line apart
    assert [table[0] for table in tables] == [["NAME", "TYPE", "DATA", "AGE"], ["NAME", "DATA", "AGE"],
                                              ["NAME", "STATUS", "AGE"],
                                              ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]], result.stdout
    assert tables[0][1][:3] == ["secret/creds", "Opaque", "2"]
    assert tables[1][1][:2] == ["configmap/settings", "1"]
    assert tables[2][1][:2] == ["namespace/default", "Active"]
    assert tables[3][1][:4] == ["deployment.apps/web", "1/1", "1", "1"]
    wide = await kubectl("get", "deployment", "web", "-o", "wide")
    assert rows(wide.stdout)[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows(wide.stdout)[1][-3:] == ["app", "example/app:1", "app=web"]


async def test_events_and_crds_print_the_real_columns(kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    for name, message, seen in [("a.1", "token expired", "2026-01-02T00:00:00Z"),
                                ("b.1", "token refreshed", "2026-01-01T00:00:00Z")]:
        kube_emulator.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                              "involvedObject": {"kind": "ApplicationToken", "name": "billing", "namespace": "default"},
                              "type": "Warning", "reason": "Failed", "message": message,
                              "firstTimestamp": seen, "lastTimestamp": seen})
    events = await kubectl("get", "events", "--sort-by=.lastTimestamp")  # the usual way to read events
    assert events.returncode == 0, events.stderr
    assert [row[1:] for row in rows(events.stdout)] == [
        ["TYPE", "REASON", "OBJECT", "MESSAGE"],
        ["Warning", "Failed", "applicationtoken/billing", "token refreshed"],
        ["Warning", "Failed", "applicationtoken/billing", "token expired"]]
    assert rows(events.stdout)[0][0] == "LAST SEEN"
    crds = await kubectl("get", "crd")
    assert crds.returncode == 0, crds.stderr
    assert rows(crds.stdout)[0] == ["NAME", "CREATED AT"]
    name, created_at = rows(crds.stdout)[1]
    assert name == "widgets.example.com" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created_at)


async def until_watching(kube: KubernetesEmulator, task: asyncio.Task[Any]) -> None:
    while not task.done() and not any("watch=" in path for _, path in kube.requests):
        await asyncio.sleep(0.02)


async def test_get_watch_prints_one_header_and_every_row_with_the_columns(kubectl: Kubectl,
                                                                          kube_emulator: KubernetesEmulator) -> None:
    """``kubectl get -w`` asks for tables on the watch too: each event a one-row Table, the column definitions
    on the first only. Plain objects made kubectl print a second header, NAME AGE, and rows without columns."""
    install_tokensync_crds(kube_emulator)
    kube_emulator.create(scenario.application_token("a", namespace="default"))
    watching = asyncio.create_task(kubectl("get", "apptoken", "-w", "--request-timeout=3s"))
    await until_watching(kube_emulator, watching)
    kube_emulator.create(scenario.application_token("b", namespace="default"))
    kube_emulator.patch_status(scenario.API, "ApplicationToken", "default", "b",
                               {"secretName": "b-secret", "expirationTime": "2030-01-01T00:00:00Z"})
    kube_emulator.delete(scenario.API, "ApplicationToken", "default", "a")
    result = await watching
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0] == ["NAME", "READY", "TOKEN", "SECRET", "EXPIRES", "NEXT", "REFRESH", "LAST", "SYNC", "AGE"]
    assert [line[0] for line in lines[1:]] == ["a", "b", "b", "a"], result.stdout  # no second header
    assert lines[3][1:3] == ["b-secret", "2030-01-01T00:00:00Z"]  # the SECRET and EXPIRES cells of the watch row
