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
from tokensync.cloud.errors import ServiceNotInRegionError
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

__all__ = ["EIAM_REGIONS", "ClientSettings", "CloudClient", "Endpoints", "HttpPool", "eiam_not_in_region"]

T = TypeVar("T")

EIAM_VERSION = "2021-12-01"
IMS_VERSION = "2019-08-15"

# The regions with a public EIAM endpoint eiam.<region>.aliyuncs.com (wire notes). Elsewhere
# that host does not exist: only an explicit endpoints.eiam reaches EIAM.
EIAM_REGIONS = ("cn-hangzhou", "cn-beijing", "cn-hongkong", "ap-northeast-2", "ap-southeast-1", "ap-southeast-5",
                "eu-central-1")


def eiam_not_in_region(region_id: str) -> str:
    """Why a region without EIAM cannot serve application tokens, and what to do."""
    return (f"IDaaS EIAM has no endpoint in region {region_id}; it is served in {', '.join(EIAM_REGIONS)}. "
            "Set regionId to the region of the IDaaS instance, or set endpoints.eiam to the URL that reaches it "
            "(a VPC endpoint or another host); RamApplication (IMS, a central service) works in any region")


@dataclass(frozen=True)
class Endpoints:
    """Full base URLs (scheme and host, optionally a port) of the three services.

    ``eiam`` is None when the region has no EIAM and no override names one: EIAM calls then
    fail with ``ServiceNotInRegionError`` without a request.
    """

    eiam: str | None
    ims: str
    sts: str
    region_id: str = ""

    @classmethod
    def for_region(cls, region_id: str, overrides: Mapping[str, str] | None = None) -> Endpoints:
        """The public endpoints of ``region_id``; ``overrides`` (eiam, ims, sts) win (VPC hosts, emulators)."""
        if not region_id or not all(c.isalnum() or c == "-" for c in region_id):
            raise ValueError(f"invalid region id {region_id!r}")
        urls: dict[str, str | None] = {
            "eiam": f"https://eiam.{region_id}.aliyuncs.com" if region_id in EIAM_REGIONS else None,
            "ims": "https://ims.aliyuncs.com",
            "sts": f"https://sts.{region_id}.aliyuncs.com",
        }
        for name, url in (overrides or {}).items():
            if name not in urls:
                raise ValueError(f"unknown endpoint {name!r}; expected one of eiam, ims, sts")
            if url:
                urls[name] = _base_url(name, url)
        ims, sts = urls["ims"], urls["sts"]
        assert ims is not None and sts is not None
        return cls(eiam=urls["eiam"], ims=ims, sts=sts, region_id=region_id)

    @property
    def eiam_problem(self) -> str | None:
        """Why EIAM cannot be reached through these endpoints, or None."""
        return eiam_not_in_region(self.region_id or "(none)") if self.eiam is None else None


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

    async def _call(self, endpoint: str, action: str, version: str, query: Mapping[str, str | None], *,
                    product: str, idempotent: bool = True) -> RawReply:
        return await self._caller.call(
            endpoint=endpoint, action=action, version=version, query=query,
            credential=self.credentials.get_credential, product=product, idempotent=idempotent,
        )

    async def _eiam(self, action: str, query: Mapping[str, str | None], *, idempotent: bool = True) -> RawReply:
        endpoint = self.endpoints.eiam
        if endpoint is None:
            raise ServiceNotInRegionError(code="ServiceNotInRegion", message=eiam_not_in_region(
                self.endpoints.region_id or "(none)"), action=action, ram_action=f"eiam:{action}")
        return await self._call(endpoint, action, EIAM_VERSION, query, product="eiam", idempotent=idempotent)

    async def obtain_application_token(
        self, *, instance_id: str, application_id: str, application_token_id: str
    ) -> CloudReply[ApplicationToken]:
        raw = await self._eiam("ObtainApplicationToken", {
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
        expiration_time: datetime | None = None,
    ) -> CloudReply[CreatedApplicationToken]:
        """A new token (new ID and value); ``expiration_time`` None: the cloud's default (one year).

        Sent exactly once, never retried here: a retry after a lost answer could make a second
        token. An error with ``outcome_unknown`` may mean the token exists: list before creating again.
        """
        raw = await self._eiam("CreateApplicationToken", {
            "InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenType": token_type,
            "ExpirationTime": str(_unix_ms(expiration_time)) if expiration_time is not None else None,
        }, idempotent=False)
        created: Any = raw.body.get("ApplicationTokens")
        if isinstance(created, list) and len(created) == 1:
            created = created[0]
        return _reply(raw, parse(CreatedApplicationToken, created,
                                 where="CreateApplicationToken ApplicationTokens", request_id=raw.request_id))

    async def list_application_tokens(
        self, *, instance_id: str, application_id: str, token_type: str = "bearer_token"  # noqa: S107
    ) -> CloudReply[list[ListedApplicationToken]]:
        """Every token of the application (with values), for finding tokens a lost answer hid."""
        raw = await self._eiam("ListApplicationTokens", {
            "InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenType": token_type,
        })
        return _reply(raw, parse_list(ListedApplicationToken, raw.body.get("ApplicationTokens"),
                                      where="ListApplicationTokens ApplicationTokens", request_id=raw.request_id))

    async def update_application_token_expiration_time(
        self, *, instance_id: str, application_id: str, application_token_id: str, expiration_time: datetime
    ) -> CloudReply[None]:
        """Move the token's expiry to ``expiration_time`` (same token, same value). Idempotent."""
        raw = await self._eiam("UpdateApplicationTokenExpirationTime", {
            **_token_ids(instance_id, application_id, application_token_id),
            "ExpirationTime": str(_unix_ms(expiration_time)),
        })
        return _reply(raw, None)

    async def enable_application_token(
        self, *, instance_id: str, application_id: str, application_token_id: str
    ) -> CloudReply[None]:
        raw = await self._eiam("EnableApplicationToken", _token_ids(instance_id, application_id,
                                                                    application_token_id))
        return _reply(raw, None)

    async def disable_application_token(
        self, *, instance_id: str, application_id: str, application_token_id: str, once: bool = False
    ) -> CloudReply[None]:
        """``once``: a single attempt, for a caller that has something more urgent to do next."""
        raw = await self._eiam("DisableApplicationToken", _token_ids(instance_id, application_id,
                                                                     application_token_id), idempotent=not once)
        return _reply(raw, None)

    async def delete_application_token(
        self, *, instance_id: str, application_id: str, application_token_id: str, once: bool = False
    ) -> CloudReply[None]:
        """Delete the token. The cloud may refuse an enabled one (undocumented): disable it first.
        ``once``: a single attempt."""
        raw = await self._eiam("DeleteApplicationToken", _token_ids(instance_id, application_id,
                                                                    application_token_id), idempotent=not once)
        return _reply(raw, None)

    async def get_application(self, *, app_id: str) -> CloudReply[RamApplication]:
        raw = await self._call(self.endpoints.ims, "GetApplication", IMS_VERSION, {"AppId": app_id}, product="ram")
        return _reply(raw, parse(RamApplication, raw.body.get("Application"),
                                 where="GetApplication Application", request_id=raw.request_id))

    async def get_caller_identity(self) -> CloudReply[CallerIdentity]:
        raw = await self._call(self.endpoints.sts, "GetCallerIdentity", STS_VERSION, {}, product="sts")
        return _reply(raw, parse(CallerIdentity, raw.body, where="GetCallerIdentity", request_id=raw.request_id))

    def __repr__(self) -> str:
        return f"CloudClient(endpoints={self.endpoints!r}, credentials={self.credentials!r})"


def _token_ids(instance_id: str, application_id: str, application_token_id: str) -> dict[str, str | None]:
    return {"InstanceId": instance_id, "ApplicationId": application_id, "ApplicationTokenId": application_token_id}


def _reply(raw: RawReply, value: T) -> CloudReply[T]:
    return CloudReply(value=value, request_id=raw.request_id, server_time=raw.server_time)


def _unix_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("expiration_time must be timezone-aware")
    return int(moment.timestamp() * 1000)
