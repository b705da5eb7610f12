"""The watch-list protocol (sendInitialEvents=true) and its option checks, as kube-apiserver 1.32 answers."""

from __future__ import annotations

from typing import Any

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}


async def test_initial_events_then_the_end_bookmark_then_changes(kube_emulator: KubernetesEmulator,
                                                                 kube_api: KubeApi) -> None:
    for name in ("a", "b"):
        kube_emulator.create(_configmap(name))

    def ended(events: list[dict[str, Any]]) -> bool:
        if len(events) == 3:
            kube_emulator.create(_configmap("c"))
        return len(events) == 4

    events = await kube_api.watch(CONFIGMAPS, until=ended, sendInitialEvents="true",
                                  resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None), ("ADDED", "c")]
    bookmark = events[2]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["resourceVersion"]) >= int(events[1]["object"]["metadata"]["resourceVersion"])


async def test_an_empty_collection_bookmarks_at_once(kube_api: KubeApi) -> None:
    events = await kube_api.watch(CONFIGMAPS, until=lambda e: len(e) == 1, sendInitialEvents="true",
                                  resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    assert events[0]["type"] == "BOOKMARK"


async def test_watch_option_errors(kube_api: KubeApi) -> None:
    reply = await kube_api.get(f"{CONFIGMAPS}?watch=true&sendInitialEvents=true")
    assert (reply.status, reply.body["reason"]) == (422, "Invalid")
    assert reply.body["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                                     "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
    reply = await kube_api.get(f"{CONFIGMAPS}?watch=true&resourceVersionMatch=Exact")
    assert reply.body["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is '
        "forbidden for watch unless sendInitialEvents is provided, resourceVersionMatch: Unsupported value: "
        '"Exact": supported values: "NotOlderThan"]')
