"""JSON answers as kube-apiserver writes them (encoding.py): encoding/json's Encoder, compact, HTML-escaped,
a trailing newline; a built-in kind in Go struct order (kind, apiVersion, metadata first), a custom resource
(unstructured, a Go map) with sorted keys. What ``kubectl get --raw`` prints.
"""

from __future__ import annotations

import json

import aiohttp

from tokensync.emulators.kubernetes.encoding import dumps, encode, go_order

from .conftest import WIDGETS, KubeApi, widget

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def raw(kube_api: KubeApi, path: str, **headers: str) -> bytes:
    async with kube_api.session.get(kube_api.base + path, headers=headers) as response:
        return await response.read()


def test_compact_with_go_escapes_and_a_newline() -> None:
    value = {"kind": "ConfigMap", "data": {"html": "<a href='x'>&</a>", "text": "é\u2028✓", "n": [1, 2.5, True, None]}}
    assert encode(value) == ('{"kind":"ConfigMap","data":{"html":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e",'
                             '"text":"é\\u2028✓","n":[1,2.5,true,null]}}\n').encode()
    assert json.loads(encode(value)) == value


def test_a_lone_surrogate_is_written_back_as_its_escape() -> None:
    assert encode({"s": "\ud800"}) == b'{"s":"\\ud800"}\n'


def test_a_builtin_object_starts_with_kind_api_version_and_metadata_in_struct_order() -> None:
    stored = {"apiVersion": "v1", "data": {"a": "1"}, "kind": "ConfigMap",
              "metadata": {"labels": {"app": "web"}, "resourceVersion": "7", "uid": "u", "name": "settings",
                           "creationTimestamp": "2026-01-01T00:00:00Z", "namespace": "default"}}
    assert list(go_order(stored)) == ["kind", "apiVersion", "metadata", "data"]
    assert list(go_order(stored)["metadata"]) == ["name", "namespace", "uid", "resourceVersion", "creationTimestamp",
                                                  "labels"]
    assert go_order(stored) == stored


def test_lists_order_their_items_and_tables_their_row_objects() -> None:
    item = {"apiVersion": "v1", "kind": "Secret", "metadata": {"uid": "u", "name": "s"}}
    listed = go_order({"apiVersion": "v1", "items": [item], "kind": "SecretList", "metadata": {"resourceVersion": "3"}})
    assert list(listed) == ["kind", "apiVersion", "metadata", "items"]
    assert list(listed["items"][0]) == ["kind", "apiVersion", "metadata"]
    assert list(listed["items"][0]["metadata"]) == ["name", "uid"]
    table = go_order({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": None,
                      "rows": [{"cells": ["s"], "object": item}]})
    assert list(table["rows"][0]["object"]) == ["kind", "apiVersion", "metadata"]


def test_a_status_follows_the_status_struct() -> None:
    status = {"code": 404, "details": {"name": "x"}, "reason": "NotFound", "message": "m", "status": "Failure",
              "metadata": {}, "apiVersion": "v1", "kind": "Status"}
    assert list(go_order(status)) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details",
                                      "code"]


def test_an_unstructured_value_has_sorted_keys_at_every_level() -> None:
    assert dumps({"kind": "Widget", "apiVersion": "example.com/v1", "metadata": {"name": "w", "generation": 1},
                  "spec": {"size": "s", "extra": {"b": 1, "a": 2}}}, unstructured=True) == (
        '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"generation":1,"name":"w"},'
        '"spec":{"extra":{"a":2,"b":1},"size":"s"}}')


def test_values_without_kind_keep_their_order() -> None:
    assert dumps({"type": "ADDED", "object": {"b": 1, "a": 2}}) == '{"type":"ADDED","object":{"b":1,"a":2}}'


async def test_the_server_writes_builtin_objects_lists_and_errors_as_go_does(kube_api: KubeApi) -> None:
    await kube_api.post(CONFIGMAPS, {"apiVersion": "v1", "metadata": {"name": "settings"}, "kind": "ConfigMap",
                                     "data": {"a": "<1>"}})
    got = await raw(kube_api, f"{CONFIGMAPS}/settings")
    assert got.startswith(b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings","namespace":"default",'
                          b'"uid":')
    assert got.endswith(b'"data":{"a":"\\u003c1\\u003e"}}\n') and b", " not in got and b'": ' not in got
    listed = await raw(kube_api, CONFIGMAPS)
    assert listed.startswith(b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"')
    missing = await raw(kube_api, f"{CONFIGMAPS}/nope")
    assert missing.startswith(b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                              b'"message":"configmaps \\"nope\\" not found","reason":"NotFound","details":')
    assert missing.endswith(b',"code":404}\n')


async def test_the_server_writes_custom_resources_with_sorted_keys(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    got = await raw(kube_api, f"{WIDGETS}/w1")
    assert got.startswith(b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"creationTimestamp":"')
    assert got.endswith(b'"spec":{"replicas":1,"secretName":"s","size":"small"}}\n')
    listed = await raw(kube_api, WIDGETS)
    assert listed.startswith(b'{"apiVersion":"example.com/v1","items":[{"apiVersion":"example.com/v1",')
    assert b'],"kind":"WidgetList","metadata":{"' in listed
    table = await raw(kube_api, f"{WIDGETS}/w1", Accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert table.startswith(b'{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"')


async def test_watch_events_are_compact_lines_with_type_first(kube_api: KubeApi) -> None:
    await kube_api.post(CONFIGMAPS, {"metadata": {"name": "c"}})
    await kube_api.post(WIDGETS, widget("w1"))
    lines = []
    for path in (CONFIGMAPS, WIDGETS):
        async with kube_api.session.get(kube_api.base + path, params={"watch": "true"},
                                        timeout=aiohttp.ClientTimeout(total=10)) as response:
            lines.append(await response.content.readline())
    assert lines[0].startswith(b'{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":')
    assert lines[1].startswith(b'{"type":"ADDED","object":{"apiVersion":"example.com/v1","kind":"Widget",')
    assert all(line.endswith(b"}}\n") for line in lines)
