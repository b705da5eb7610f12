"""LIST option checks and label selector comparisons, as kube-apiserver 1.32 answers them."""

from __future__ import annotations

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi

SECRETS = "/api/v1/namespaces/default/secrets"
PREFIX = 'ListOptions.meta.k8s.io "" is invalid: '


@pytest.mark.parametrize(("query", "message"), [
    ("resourceVersionMatch=NotOlderThan",
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ("resourceVersionMatch=Exact&resourceVersion=0",
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ("resourceVersionMatch=Newest&resourceVersion=1",
     'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'),
    ("sendInitialEvents=true", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
])
async def test_list_options_are_refused_as_invalid(kube_api: KubeApi, query: str, message: str) -> None:
    reply = await kube_api.get(f"{SECRETS}?{query}")
    assert (reply.status, reply.body["reason"], reply.body["message"]) == (422, "Invalid", PREFIX + message)
    assert reply.body["details"]["kind"] == "ListOptions"


async def test_exact_at_the_current_version_lists(kube_api: KubeApi) -> None:
    current = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    reply = await kube_api.get(f"{SECRETS}?resourceVersionMatch=Exact&resourceVersion={current}")
    assert reply.status == 200


async def test_greater_and_less_than_selectors(kube_emulator: KubernetesEmulator, kube_api: KubeApi) -> None:
    for name, tier in (("one", "1"), ("three", "3"), ("nine", "9"), ("text", "x")):
        kube_emulator.create({"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": name, "namespace": "default", "labels": {"tier": tier}}})
    reply = await kube_api.get(f"{SECRETS}?labelSelector=tier%3E1,tier%3C9")
    assert [i["metadata"]["name"] for i in reply.body["items"]] == ["three"]
    bad = await kube_api.get(f"{SECRETS}?labelSelector=tier%3Eabc")
    assert (bad.status, bad.body["message"]) == (400, 'unable to parse requirement: values[0]: Invalid value: "abc": '
                                                      "for 'Gt', 'Lt' operators, the value must be an integer")
