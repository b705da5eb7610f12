"""Which cloud access a resource may use, and a ready client for it.

Tenancy rules (PRODUCT.md): a namespaced CloudAccess serves only its own namespace and
reads Secrets only there; a ClusterCloudAccess serves the namespaces its namespaceSelector
matches ({} all, absent none). Clients are cached per access object and Secret version,
so temporary credentials (STS, RRSA) are reused until they near expiry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from tokensync.api.cloud_access import (
    AuthSpec,
    CloudAccessSpec,
    ClusterAuthSpec,
    ClusterCloudAccessSpec,
    selector_matches,
)
from tokensync.api.common import GROUP, VERSION, CloudAccessRef
from tokensync.clock import Clock
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import (
    AmbientCredentials,
    AssumeRoleCredentials,
    CredentialsProvider,
    OidcRoleCredentials,
    StaticCredentials,
)
from tokensync.controllers.registration import Watch
from tokensync.controllers.target_writer import read_data
from tokensync.kube.client import KubeClient
from tokensync.kube.resources import NAMESPACES, SECRETS, Resource

logger = logging.getLogger(__name__)

CLOUD_ACCESSES = Resource(GROUP, VERSION, "cloudaccesses")
CLUSTER_CLOUD_ACCESSES = Resource(GROUP, VERSION, "clustercloudaccesses", namespaced=False)

AccessKey = tuple[str, str, str]  # (kind, namespace or "", name)
ObjectKey = tuple[str, str, str]  # (plural, namespace or "", name)

# How long a namespaced object read is trusted when the operator watches only some namespaces
# (``tokensync run -n``): a ClusterCloudAccess's AccessKey Secret may live in a namespace no
# watch covers, so no event would ever say it was rotated.
UNWATCHED_READ_TTL = timedelta(seconds=30)


class AccessProblem(Exception):
    """Why a resource cannot use the cloud access it names; ``reason`` is a Ready reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class NamespacedRrsa:
    """Lets a namespaced CloudAccess use auth.rrsa (``tokensync run --allow-namespaced-rrsa``).

    RRSA signs in with the operator's own OIDC token, so the token file, and the endpoints that
    token and the role's credentials are sent to, are the operator's to choose, never the
    namespace's.
    """

    token_file: str
    endpoints: Mapping[str, str] | None = None  # eiam/ims/sts overrides; None: the region's public endpoints


@dataclass(frozen=True)
class ResolvedAccess:
    key: AccessKey
    client: CloudClient
    region_id: str
    # Why this access cannot reach EIAM (a region without EIAM and no endpoints.eiam), or None.
    # IMS and STS still work: RamApplication may use the access.
    eiam_problem: str | None = None


def access_key_of(namespace: str, ref: CloudAccessRef | None) -> AccessKey:
    ref = ref or CloudAccessRef()
    if ref.kind == "CloudAccess":
        return ("CloudAccess", namespace, ref.name)
    return ("ClusterCloudAccess", "", ref.name)


class AccessResolver:
    def __init__(
        self,
        kube: KubeClient,
        pool: HttpPool,
        clock: Clock,
        *,
        settings: ClientSettings | None = None,
        on_request: Callable[[str, str], None] | None = None,
        namespaced_rrsa: NamespacedRrsa | None = None,
    ) -> None:
        self._kube = kube
        self._namespaced_rrsa = namespaced_rrsa
        self._pool = pool
        self._clock = clock
        self._settings = settings
        self._on_request = on_request
        self._clients: dict[AccessKey, tuple[tuple[str, ...], CloudClient]] = {}
        # Access objects, their Secrets and namespaces as last read, until a watch event says
        # they changed (forget_object): thousands of resources share a handful of them, and
        # reading them on every sync tripled the requests per sync.
        self._read_cache: dict[ObjectKey, tuple[dict[str, Any], datetime]] = {}
        # False under ``-n``: namespaced reads then expire after UNWATCHED_READ_TTL.
        self.watches_all_namespaces = True
        self._reading: dict[ObjectKey, asyncio.Future[dict[str, Any] | None]] = {}  # reads under way
        # Which resources used which access last: re-evaluated when the access changes.
        self.dependents: defaultdict[AccessKey, set[Hashable]] = defaultdict(set)

    def forget_dependent(self, dependent: Hashable) -> None:
        for users in self.dependents.values():
            users.discard(dependent)

    def invalidate(self, key: AccessKey) -> None:
        self._clients.pop(key, None)

    def uses_secret_version(self, key: AccessKey, resource_version: str) -> bool:
        """Whether the client of ``key`` was made from this version of its AccessKey Secret."""
        cached = self._clients.get(key)
        return cached is not None and cached[0][1] == resource_version

    def watches(self) -> list[Watch]:
        """The kinds whose reads it caches: any change makes the next read go to the API server."""
        return [Watch(resource, functools.partial(self._forget_event, resource))
                for resource in (CLOUD_ACCESSES, CLUSTER_CLOUD_ACCESSES, NAMESPACES, SECRETS)]

    def _forget_event(self, resource: Resource, _event_type: str | None, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self.forget_object(resource, meta.get("namespace"), str(meta.get("name") or ""))

    def forget_object(self, resource: Resource, namespace: str | None, name: str) -> None:
        """A watch saw this object change: the next read goes to the API server."""
        key = (resource.plural, namespace or "", name)
        self._read_cache.pop(key, None)
        self._reading.pop(key, None)  # a read under way may predate the change: later readers ask again

    async def _read(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = (resource.plural, namespace or "", name)
        cached = self._read_cache.get(key)
        if cached is not None:
            kept, read_at = cached
            if self.watches_all_namespaces or not namespace or self._clock.now() - read_at < UNWATCHED_READ_TTL:
                return kept
            del self._read_cache[key]
        reading = self._reading.get(key)
        if reading is not None:
            return await asyncio.shield(reading)  # many syncs start at once: one request serves them
        reading = asyncio.ensure_future(self._kube.get(resource, namespace, name))
        self._reading[key] = reading
        try:
            body = await asyncio.shield(reading)
        finally:
            # Still ours unless forget_object saw a change meanwhile: only then is the body kept
            # (absence is never kept).
            current = self._reading.get(key) is reading
            if current:
                del self._reading[key]
        if body is not None and current:
            self._read_cache[key] = (body, self._clock.now())
        return body

    async def resolve(
        self, namespace: str, ref: CloudAccessRef | None, *, dependent: Hashable, service: str | None = None
    ) -> ResolvedAccess:
        """The client a resource in ``namespace`` may use, or AccessProblem saying why not.

        ``service="eiam"``: the resource calls EIAM, so an access that cannot reach it (region
        without EIAM, no endpoints.eiam) is an AccessProblem (InvalidSpec) before any request.
        """
        key = access_key_of(namespace, ref)
        self.forget_dependent(dependent)
        self.dependents[key].add(dependent)
        body, spec = await self._load(key, hint="" if ref else
                                      " (no cloudAccessRef given, so the ClusterCloudAccess 'default' is used)")
        if isinstance(spec, ClusterCloudAccessSpec):
            await self._check_selector(spec, key[2], namespace)
        if service == "eiam":
            problem = self._endpoints(spec).eiam_problem
            if problem is not None:
                raise AccessProblem("InvalidSpec", f"{key[0]} {key[2]!r}: {problem}")
        return await self._client(key, body, spec)

    async def access_client(self, key: AccessKey) -> ResolvedAccess:
        """The client of one access object, without tenancy checks (for its own status)."""
        body, spec = await self._load(key, hint="")
        return await self._client(key, body, spec)

    async def _load(
        self, key: AccessKey, *, hint: str
    ) -> tuple[dict[str, Any], CloudAccessSpec | ClusterCloudAccessSpec]:
        kind, access_namespace, name = key
        resource = CLOUD_ACCESSES if kind == "CloudAccess" else CLUSTER_CLOUD_ACCESSES
        body = await self._read(resource, access_namespace or None, name)
        if body is None:
            where = f" in namespace {access_namespace!r}" if kind == "CloudAccess" else ""
            raise AccessProblem("CloudAccessNotFound", f"{kind} {name!r} not found{where}{hint}")
        try:
            spec: CloudAccessSpec | ClusterCloudAccessSpec
            if kind == "CloudAccess":
                spec = CloudAccessSpec.model_validate(body.get("spec") or {})
            else:
                spec = ClusterCloudAccessSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            raise AccessProblem("InvalidSpec", f"{kind} {name!r} is invalid: {_first_error(exc)}") from None
        return body, spec

    async def _client(
        self, key: AccessKey, body: dict[str, Any], spec: CloudAccessSpec | ClusterCloudAccessSpec
    ) -> ResolvedAccess:
        kind, access_namespace, name = key
        secret_version, credentials = await self._credentials(kind, access_namespace, name, spec)
        # generation, not resourceVersion: the access's own status writes must not drop cached STS credentials
        version = (str(body["metadata"].get("generation", "")), secret_version)
        cached = self._clients.get(key)
        if cached and cached[0] == version:
            client = cached[1]
        else:
            client = CloudClient(
                credentials=credentials,
                endpoints=self._endpoints(spec),
                pool=self._pool,
                settings=self._settings,
                clock=self._clock,
                on_request=self._on_request,
            )
            self._clients[key] = (version, client)
        return ResolvedAccess(key, client, spec.region_id, eiam_problem=client.endpoints.eiam_problem)

    async def _check_selector(self, spec: ClusterCloudAccessSpec, name: str, namespace: str) -> None:
        ns = await self._read(NAMESPACES, None, namespace)
        labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
        if not selector_matches(spec.namespace_selector, labels):
            raise AccessProblem(
                "CloudAccessForbidden",
                f"ClusterCloudAccess {name!r} does not allow namespace {namespace!r}: its namespaceSelector does not "
                "match the namespace's labels (ask the cluster admin to extend it, or use a CloudAccess in this "
                "namespace)",
            )

    def _endpoints(self, spec: CloudAccessSpec | ClusterCloudAccessSpec) -> Endpoints:
        """Where requests go: the access's own endpoints, except for a namespaced rrsa access,
        whose token and role credentials go only where the operator says (see NamespacedRrsa)."""
        overrides = spec.endpoints.model_dump(exclude_none=True) if spec.endpoints else None
        if isinstance(spec, CloudAccessSpec) and spec.auth.rrsa is not None and self._namespaced_rrsa is not None:
            overrides = dict(self._namespaced_rrsa.endpoints or {})
        return Endpoints.for_region(spec.region_id, overrides)

    async def _credentials(
        self, kind: str, access_namespace: str, name: str, spec: CloudAccessSpec | ClusterCloudAccessSpec
    ) -> tuple[str, CredentialsProvider]:
        auth = spec.auth
        sts_endpoint = self._endpoints(spec).sts
        provider: CredentialsProvider
        secret_version = ""
        if auth.access_key is not None:
            ref = auth.access_key.secret_ref
            secret_namespace = access_namespace if kind == "CloudAccess" else getattr(ref, "namespace", None)
            if not secret_namespace:
                raise AccessProblem(
                    "InvalidSpec", f"{kind} {name!r}: auth.accessKey.secretRef.namespace is required"
                )
            secret = await self._read(SECRETS, secret_namespace, ref.name)
            if secret is None:
                raise AccessProblem(
                    "InvalidCredentials",
                    f"{kind} {name!r}: Secret {secret_namespace}/{ref.name} with the AccessKey was not found",
                )
            data = read_data(secret, is_secret=True)
            missing = [k for k in (ref.access_key_id_key, ref.access_key_secret_key) if not data.get(k)]
            if missing:
                raise AccessProblem(
                    "InvalidCredentials",
                    f"{kind} {name!r}: Secret {secret_namespace}/{ref.name} has no key(s) {', '.join(missing)}",
                )
            token_key = ref.security_token_key
            provider = StaticCredentials(
                access_key_id=data[ref.access_key_id_key],
                access_key_secret=data[ref.access_key_secret_key],
                security_token=data.get(token_key) if token_key else None,
            )
            secret_version = str(secret["metadata"].get("resourceVersion", ""))
        elif isinstance(auth, AuthSpec) and auth.rrsa is not None:
            allowed = self._namespaced_rrsa
            if allowed is None:
                raise AccessProblem(
                    "CloudAccessForbidden",
                    f"CloudAccess {name!r} uses auth.rrsa, which signs in as the operator itself; this operator "
                    "does not allow that in a namespace (use a ClusterCloudAccess with a namespaceSelector, or an "
                    "accessKey; or run the operator with --allow-namespaced-rrsa, chart value allowNamespacedRrsa)",
                )
            provider = OidcRoleCredentials(
                role_arn=auth.rrsa.role_arn,
                oidc_provider_arn=auth.rrsa.oidc_provider_arn,
                token_file=allowed.token_file,
                session_name=auth.rrsa.session_name,
                sts_endpoint=sts_endpoint,
                pool=self._pool,
                clock=self._clock,
            )
        elif isinstance(auth, ClusterAuthSpec) and auth.rrsa is not None:
            provider = OidcRoleCredentials(
                role_arn=auth.rrsa.role_arn,
                oidc_provider_arn=auth.rrsa.oidc_provider_arn,
                token_file=auth.rrsa.token_file,
                session_name=auth.rrsa.session_name,
                sts_endpoint=sts_endpoint,
                pool=self._pool,
                clock=self._clock,
            )
        else:
            provider = AmbientCredentials(sts_endpoint=sts_endpoint, pool=self._pool, clock=self._clock)
        if spec.assume_role is not None:
            role = spec.assume_role
            provider = AssumeRoleCredentials(
                source=provider,
                role_arn=role.role_arn,
                external_id=role.external_id,
                session_name=role.session_name,
                duration_seconds=role.duration_seconds,
                sts_endpoint=sts_endpoint,
                pool=self._pool,
                clock=self._clock,
            )
        return secret_version, provider


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def summarize_validation_error(exc: ValidationError) -> str:
    parts: list[str] = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"spec.{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts)


def body_key(body: dict[str, Any]) -> tuple[str, str]:
    meta = body["metadata"]
    return (str(meta.get("namespace") or ""), str(meta["name"]))
