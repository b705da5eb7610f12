"""Building blocks for tests that run the operator against both emulators.

Objects a user would apply (namespaces, an AccessKey Secret, cloud accesses, ApplicationTokens,
RamApplications) and readers for what a user would look at (Secrets, conditions, Events).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator

API = "tokensync.dev/v1alpha1"
NS = "demo"
SYSTEM_NS = "tokensync-system"
AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
DEMO_TOKEN = {"instanceId": "idaas_demo", "applicationId": "app_demo"}
DEMO_RAM_APP = "4724570903440410000"


async def eventually(
    check: Callable[[], Any] | Callable[[], Awaitable[Any]], *, timeout: float = 60.0, step: float = 0.05
) -> Any:
    """Poll until ``check`` returns something truthy (loop time: instant under looptime)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not true after {timeout}s: {getattr(check, '__name__', check)}")
        await asyncio.sleep(step)


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def access_key_secret(namespace: str = SYSTEM_NS, secret: str = AK_SECRET, name: str = "tokensync-ak",
                      key_id: str = AK_ID) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
        "stringData": {"accessKeyId": key_id, "accessKeySecret": secret},
    }


def endpoints(cloud: CloudEmulator) -> dict[str, str]:
    return {"eiam": cloud.url, "ims": cloud.url, "sts": cloud.url}


def cluster_cloud_access(cloud: CloudEmulator, *, name: str = "default", selector: dict[str, Any] | None = None,
                         secret_name: str = "tokensync-ak") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "regionId": "cn-hangzhou",
        "endpoints": endpoints(cloud),
        "auth": {"accessKey": {"secretRef": {"name": secret_name, "namespace": SYSTEM_NS}}},
    }
    if selector is not None:
        spec["namespaceSelector"] = selector
    return {"apiVersion": API, "kind": "ClusterCloudAccess", "metadata": {"name": name}, "spec": spec}


def cloud_access(cloud: CloudEmulator, *, name: str = "idaas", namespace: str = NS,
                 secret_name: str = "tokensync-ak") -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "CloudAccess", "metadata": {"name": name, "namespace": namespace},
        "spec": {"regionId": "cn-hangzhou", "endpoints": endpoints(cloud),
                 "auth": {"accessKey": {"secretRef": {"name": secret_name}}}},
    }


def application_token(name: str = "billing-api", token_id: str = "token_demo", namespace: str = NS,
                      annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "ApplicationToken",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {**DEMO_TOKEN, "applicationTokenId": token_id, **spec},
    }


def ram_application(name: str = "portal", app_id: str = DEMO_RAM_APP, namespace: str = NS,
                    **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "RamApplication", "metadata": {"name": name, "namespace": namespace},
        "spec": {"appId": app_id, **spec},
    }


def deployment(name: str, namespace: str = NS) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
        }},
    }


def standard_cluster(kube: KubernetesEmulator, cloud: CloudEmulator, *, selector: dict[str, Any] | None = None,
                     namespace_labels: dict[str, str] | None = None) -> None:
    """What a platform team sets up once: namespaces, the AccessKey Secret, ClusterCloudAccess `default`."""
    kube.create(namespace(SYSTEM_NS))
    kube.create(namespace(NS, namespace_labels or {"team": "demo"}))
    kube.create(access_key_secret())
    kube.create(cluster_cloud_access(cloud, selector={} if selector is None else selector))


def secret_data(kube: KubernetesEmulator, name: str, namespace: str = NS) -> dict[str, str] | None:
    secret = kube.get("v1", "secrets", namespace, name)
    if secret is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def condition(kube: KubernetesEmulator, name: str, plural: str = "applicationtokens", namespace: str | None = NS,
              condition_type: str = "Ready") -> dict[str, Any]:
    obj = kube.get(API, plural, namespace, name)
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == condition_type:
            return dict(item)
    return {}


def status(kube: KubernetesEmulator, name: str, plural: str = "applicationtokens",
           namespace: str | None = NS) -> dict[str, Any]:
    return dict((kube.get(API, plural, namespace, name) or {}).get("status") or {})


def events(kube: KubernetesEmulator, name: str | None = None, namespace: str = NS) -> list[dict[str, Any]]:
    found = kube.list("v1", "events", namespace)
    return [e for e in found if name is None or e["involvedObject"]["name"] == name]


def event_reasons(kube: KubernetesEmulator, name: str | None = None, namespace: str = NS) -> list[str]:
    return [e["reason"] for e in events(kube, name, namespace)]


def is_ready(kube: KubernetesEmulator, name: str, plural: str = "applicationtokens",
             namespace: str | None = NS) -> Callable[[], bool]:
    def ready() -> bool:
        return condition(kube, name, plural, namespace).get("status") == "True"
    return ready


def has_reason(kube: KubernetesEmulator, name: str, reason: str, plural: str = "applicationtokens",
               namespace: str | None = NS) -> Callable[[], bool]:
    def check() -> bool:
        return condition(kube, name, plural, namespace).get("reason") == reason
    return check
