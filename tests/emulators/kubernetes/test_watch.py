"""WATCH: resourceVersion resumption, history expiry (410), timeoutSeconds, bookmarks, selectors.

API concepts, "Efficient detection of changes": a watch started at resourceVersion N gets every
change after N; an expired N gets 410 Gone; bookmarks carry only a resourceVersion.
"""

from __future__ import annotations

import asyncio

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"


async def test_watch_from_resource_version_sends_later_events_only(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "before"}})
    rv = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(SECRETS, {"metadata": {"name": "after"}})
    await kube_api.delete(f"{SECRETS}/before")
    events = await kube_api.watch(SECRETS, resourceVersion=rv, until=lambda e: len(e) == 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "after"),
                                                                              ("DELETED", "before")]


async def test_watch_without_resource_version_starts_with_current_objects(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    events = await kube_api.watch(SECRETS, until=lambda e: len(e) == 1)
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "a"


async def test_watch_receives_live_events(kube_api: KubeApi) -> None:
    rv = (await kube_api.get(WIDGETS)).body["metadata"]["resourceVersion"]
    watching = asyncio.create_task(kube_api.watch(WIDGETS, resourceVersion=rv, until=lambda e: len(e) == 2))
    await asyncio.sleep(0.05)
    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"size": "large"}})
    events = await asyncio.wait_for(watching, 10)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED"]
    assert events[1]["object"]["spec"]["size"] == "large"


async def test_watch_from_expired_resource_version_gets_410_event(
        kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    rv = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    kube_emulator.expire_watch_history()
    events = await kube_api.watch(SECRETS, resourceVersion=rv)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    assert "too old resource version" in events[0]["object"]["message"]


async def test_bounded_history_expires_old_resource_versions() -> None:
    """Only the last N events are kept; resuming from before them is 410."""
    emulator = KubernetesEmulator(history_size=3)
    secrets = emulator.resource("v1", "secrets")
    start = str(emulator.store.resource_version)
    for i in range(5):
        emulator.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}", "namespace": "default"}})
    with pytest.raises(Exception, match="too old resource version"):
        emulator.store.subscribe(secrets, "default", start)


@pytest.mark.looptime
async def test_watch_ends_after_timeout_seconds(kube_api: KubeApi) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    events = await kube_api.watch(SECRETS, resourceVersion="1", timeoutSeconds="300")
    assert events == []
    assert 300 <= loop.time() - started < 301


@pytest.mark.looptime
async def test_watch_sends_bookmarks_when_allowed(kube_api: KubeApi) -> None:
    rv = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    events = await kube_api.watch(SECRETS, resourceVersion=rv, timeoutSeconds="200", allowWatchBookmarks="true")
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK", "BOOKMARK"]
    assert events[0]["object"]["metadata"] == {"resourceVersion": rv}


async def test_watch_filters_by_label_and_field_selectors(kube_api: KubeApi) -> None:
    rv = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(SECRETS, {"metadata": {"name": "a", "labels": {"app": "x"}}})
    await kube_api.post(SECRETS, {"metadata": {"name": "b", "labels": {"app": "y"}}})
    await kube_api.post(SECRETS, {"metadata": {"name": "c", "labels": {"app": "x"}}})
    by_label = await kube_api.watch(SECRETS, resourceVersion=rv, labelSelector="app=x", until=lambda e: len(e) == 2)
    assert [e["object"]["metadata"]["name"] for e in by_label] == ["a", "c"]
    by_field = await kube_api.watch(SECRETS, resourceVersion=rv, fieldSelector="metadata.name=b",
                                    until=lambda e: len(e) == 1)
    assert by_field[0]["object"]["metadata"]["name"] == "b"


async def test_all_namespaces_watch_sees_every_namespace(kube_api: KubeApi) -> None:
    rv = (await kube_api.get("/api/v1/secrets")).body["metadata"]["resourceVersion"]
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    await kube_api.post("/api/v1/namespaces/kube-system/secrets", {"metadata": {"name": "b"}})
    events = await kube_api.watch("/api/v1/secrets", resourceVersion=rv, until=lambda e: len(e) == 2)
    assert [e["object"]["metadata"]["namespace"] for e in events] == ["default", "kube-system"]


async def test_close_watches_ends_open_streams(kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    watching = asyncio.create_task(kube_api.watch(SECRETS, resourceVersion="1"))
    await asyncio.sleep(0.05)
    kube_emulator.close_watches()
    assert isinstance(await asyncio.wait_for(watching, 10), list)


async def test_selector_watch_sees_objects_enter_and_leave_the_selection(kube_api: KubeApi) -> None:
    """An object relabelled out of a label-selected watch arrives as DELETED, back in as ADDED."""
    rv = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(SECRETS, {"metadata": {"name": "a", "labels": {"app": "x"}}})
    await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"app": "y"}}})
    await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"app": "x"}}})
    await kube_api.patch(f"{SECRETS}/a", {"metadata": {"annotations": {"k": "v"}}})
    events = await kube_api.watch(SECRETS, resourceVersion=rv, labelSelector="app=x", until=lambda e: len(e) == 4)
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED", "MODIFIED"]
