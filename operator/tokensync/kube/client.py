"""Async requests to the Kubernetes API: get, list, create, patch, delete."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import httpx

from tokensync.kube.config import ConnectionSettings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import Resource

logger = logging.getLogger(__name__)

PatchType = Literal["merge", "json", "strategic"]
_PATCH_CONTENT_TYPES: dict[PatchType, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class KubeClient:
    def __init__(self, settings: ConnectionSettings, *, timeout_seconds: float = 30.0, max_connections: int = 16):
        self._settings = settings
        self._http = httpx.AsyncClient(
            base_url=settings.server,
            verify=settings.verify,
            cert=settings.client_cert,
            timeout=timeout_seconds,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self.write_count = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        authorization = self._settings.authorization()
        if authorization:
            headers["Authorization"] = authorization
        content = None
        if body is not None:
            headers["Content-Type"] = content_type
            content = json.dumps(body).encode()
        if method != "GET":
            self.write_count += 1
        try:
            response = await self._http.request(method, path, content=content, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise KubeApiError(0, "ConnectionError", type(exc).__name__, method=method, path=path) from None
        if response.status_code >= 400:
            reason, message = "Unknown", response.text[:500]
            try:
                status = response.json()
                reason = str(status.get("reason") or reason)
                message = str(status.get("message") or message)
            except ValueError:
                pass
            raise KubeApiError(response.status_code, reason, message, method=method, path=path)
        result: dict[str, Any] = response.json()
        return result

    async def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return await self._request("GET", resource.path(namespace, name))
        except KubeApiError as exc:
            if exc.not_found:
                return None
            raise

    async def list(
        self, resource: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        result = await self._request("GET", resource.path(namespace), params=params)
        items: list[dict[str, Any]] = result.get("items") or []
        return items

    async def create(self, resource: Resource, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", resource.path(namespace), body=body)

    async def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
    ) -> dict[str, Any]:
        return await self._request(
            "PATCH",
            resource.path(namespace, name, subresource),
            body=body,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
        )

    async def delete(self, resource: Resource, namespace: str | None, name: str) -> None:
        try:
            await self._request("DELETE", resource.path(namespace, name))
        except KubeApiError as exc:
            if not exc.not_found:
                raise
