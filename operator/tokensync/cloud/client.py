"""The async Alibaba Cloud client tokensync uses: EIAM application tokens, IMS applications, STS identity.

One ``CloudClient`` per credential source; they share an ``HttpPool`` (connections and
per-endpoint rate limits). Every call returns a ``CloudReply`` (value, RequestId, the
server's Date) or raises a ``CloudError`` subclass saying what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.cloud.credentials import CredentialsProvider
from tokensync.cloud.models import (
    ApplicationToken,
    CallerIdentity,
    CloudReply,
    CreatedApplicationToken,
    ListedApplicationToken,
    RamApplication,
    parse,
    parse_list,
)
from tokensync.cloud.pool import HttpPool
from tokensync.cloud.rpc import ClientSettings, RawReply, RpcCaller
from tokensync.cloud.sts import STS_VERSION

__all__ = ["ClientSettings", "CloudClient", "Endpoints", "HttpPool"]

T = TypeVar("T")

EIAM_VERSION = "2021-12-01"
IMS_VERSION = "2019-08-15"


@dataclass(frozen=True)
class Endpoints:
    """Full base URLs (scheme and host, optionally a port) of the three services."""

    eiam: str
    ims: str
    sts: str

    @classmethod
    def for_region(cls, region_id: str, overrides: Mapping[str, str] | None = None) -> Endpoints:
        """The public endpoints of ``region_id``; ``overrides`` (eiam, ims, sts) win (VPC hosts, emulators)."""
        if not region_id or not all(c.isalnum() or c == "-" for c in region_id):
            raise ValueError(f"invalid region id {region_id!r}")
        urls = {
            "eiam": f"https://eiam.{region_id}.aliyuncs.com",
            "ims": "https://ims.aliyuncs.com",
            "sts": f"https://sts.{region_id}.aliyuncs.com",
        }
        for name, url in (overrides or {}).items():
            if name not in urls:
                raise ValueError(f"unknown endpoint {name!r}; expected one of eiam, ims, sts")
            if url:
                urls[name] = _base_url(name, url)
        return cls(**urls)


def _base_url(name: str, url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = f"https://{url}"  # a bare hostname, as the SDK's endpoint setting takes
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"endpoint {name} must be an http(s) URL, got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


class CloudClient:
    def __init__(
        self,
        *,
        credentials: CredentialsProvider,
        endpoints: Endpoints,
        pool: HttpPool,
        settings: ClientSettings | None = None,
        clock: Clock | None = None,
        on_request: Callable[[str, str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self.settings = settings or ClientSettings()
        self._caller = RpcCaller(pool=pool, clock=clock or SYSTEM_CLOCK, settings=self.settings,
                                 on_request=on_request)

    async def _call(self, endpoint: str, action: str, version: str, query: Mapping[str, str | None]) -> RawReply:
        return await self._caller.call(
            endpoint=endpoint, action=action, version=version, query=query, credential=self.credentials.get_credential
        )

    async def obtain_application_token(
        self, *, instance_id: str, application_id: str, application_token_id: str
    ) -> CloudReply[ApplicationToken]:
        raw = await self._call(self.endpoints.eiam, "ObtainApplicationToken", EIAM_VERSION, {
            "InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenId": application_token_id,
        })
        return _reply(raw, parse(ApplicationToken, raw.body.get("ApplicationToken"),
                                 where="ObtainApplicationToken ApplicationToken", request_id=raw.request_id))

    async def create_application_token(
        self,
        *,
        instance_id: str,
        application_id: str,
        token_type: str = "bearer_token",  # noqa: S107 - a type name, not a secret
        expiration_time: datetime,
    ) -> CloudReply[CreatedApplicationToken]:
        raw = await self._call(self.endpoints.eiam, "CreateApplicationToken", EIAM_VERSION, {
            "InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenType": token_type,
            "ExpirationTime": str(_unix_ms(expiration_time)),
        })
        created: Any = raw.body.get("ApplicationTokens")
        if isinstance(created, list) and len(created) == 1:
            created = created[0]
        return _reply(raw, parse(CreatedApplicationToken, created,
                                 where="CreateApplicationToken ApplicationTokens", request_id=raw.request_id))

    async def list_application_tokens(
        self, *, instance_id: str, application_id: str, token_type: str | None = None
    ) -> CloudReply[list[ListedApplicationToken]]:
        raw = await self._call(self.endpoints.eiam, "ListApplicationTokens", EIAM_VERSION, {
            "InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenType": token_type,
        })
        return _reply(raw, parse_list(ListedApplicationToken, raw.body.get("ApplicationTokens"),
                                      where="ListApplicationTokens ApplicationTokens", request_id=raw.request_id))

    async def get_application(self, *, app_id: str) -> CloudReply[RamApplication]:
        raw = await self._call(self.endpoints.ims, "GetApplication", IMS_VERSION, {"AppId": app_id})
        return _reply(raw, parse(RamApplication, raw.body.get("Application"),
                                 where="GetApplication Application", request_id=raw.request_id))

    async def get_caller_identity(self) -> CloudReply[CallerIdentity]:
        raw = await self._call(self.endpoints.sts, "GetCallerIdentity", STS_VERSION, {})
        return _reply(raw, parse(CallerIdentity, raw.body, where="GetCallerIdentity", request_id=raw.request_id))

    def __repr__(self) -> str:
        return f"CloudClient(endpoints={self.endpoints!r}, credentials={self.credentials!r})"


def _reply(raw: RawReply, value: T) -> CloudReply[T]:
    return CloudReply(value=value, request_id=raw.request_id, server_time=raw.server_time)


def _unix_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("expiration_time must be timezone-aware")
    return int(moment.timestamp() * 1000)
