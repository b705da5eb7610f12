"""HTTP routes of the emulated kube-apiserver on aiohttp.web: discovery, OpenAPI, CRUD, PATCH, WATCH."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tokensync.clock import Clock

from . import bodies, encoding, openapi, reviews, scale, tables, token_request
from .apply_handler import ApplyRequest, decode_configuration, serve_apply
from .errors import ApiError, bad_request, conflict, invalid
from .faults import Faults
from .list_options import (
    ExpiredContinue,
    Page,
    Snapshots,
    decode_continue,
    page,
    parse_limit,
    validate_list,
    validate_watch,
)
from .patching import json_patch, merge_patch, strategic_merge_patch
from .resources import AGGREGATED_DISCOVERY, Resource, wants_aggregated_discovery
from .selectors import parse_field_selector, parse_label_selector
from .store import Store, Watcher, WatchEvent
from .write_options import WriteOptions, write_options

VERSION_INFO = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-tokensync-emulator", "gitCommit": "emulator",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
                "compiler": "gc", "platform": "linux/amd64"}
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
_NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass
class Target:
    resource: Resource
    namespace: str | None  # None: cluster-scoped kind or all namespaces
    name: str | None
    subresource: str | None


def _not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def _filtered_type(event: WatchEvent, selected: Callable[[dict[str, Any]], bool]) -> str | None:
    """The event a selector-filtered watch sends: an object leaving the selection is DELETED for
    the watcher, one entering it is ADDED (API concepts, "Watch" with selectors)."""
    now = selected(event.obj)
    if event.type != "MODIFIED" or event.old is None:
        return event.type if now else None
    before = selected(event.old)
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


def _dry_run(values: list[str], options_kind: str) -> bool:
    """``dryRun``: absent, or "All" (the only value kube-apiserver knows). Anything else fails the
    request options' validation (ValidateDryRun): 422 Invalid on ``<Verb>Options.meta.k8s.io``."""
    if any(value != "All" for value in values):
        listed = ", ".join(f'"{value}"' for value in values)
        raise invalid("meta.k8s.io", options_kind, "", [{
            "reason": "FieldValueNotSupported", "field": "dryRun",
            "message": f'Unsupported value: []string{{{listed}}}: supported values: "All"'}])
    return bool(values)


def _options(request: web.Request, options_kind: str, *, apply: bool = False) -> WriteOptions:
    """A write's validated options and its manager (fieldManager, else the User-Agent's prefix)."""
    return write_options(options_kind, request.query, request.query.getall("dryRun", []),
                         request.headers.get("User-Agent", ""), apply=apply)


def _json(body: Any, status: int = 200, *, unstructured: bool = False) -> web.Response:
    """A JSON answer as kube-apiserver writes it (encoding.py): a custom resource's object or list
    ``unstructured`` (sorted keys), anything else with kind, apiVersion and metadata first."""
    return web.Response(status=status, body=encoding.encode(body, unstructured=unstructured),
                        content_type="application/json")


def _object_json(resource: Resource, body: Any, status: int = 200) -> web.Response:
    """An object or list of ``resource``: unstructured when it is a custom resource."""
    return _json(body, status, unstructured=not resource.builtin)


def _warned(response: web.Response, request: web.Request, warnings: list[str]) -> web.Response:
    """fieldValidation=Warn (the default when absent): one Warning header per unknown field dropped."""
    if request.query.get("fieldValidation", "Warn") == "Warn":
        for value in warnings:
            response.headers.add("Warning", value)
    return response


def _verb(method: str, target: Target, request: web.Request) -> str | None:
    """The API verb of a request (what discovery lists and ``Resource.verbs`` holds)."""
    if target.name is None:
        if method == "GET":
            return "watch" if request.query.get("watch") in ("true", "1") else "list"
        return {"POST": "create", "DELETE": "deletecollection"}.get(method)
    return {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)


def _error(error: ApiError) -> web.Response:
    return _json(error.status(), error.code)


def _check_uid(target: Target, current: dict[str, Any], sent: Any, *, patch: bool) -> None:
    """A uid in the body must be the object's: it is how a client makes sure it writes the object it
    read, not one deleted and created again under the same name. A PUT's uid is a storage
    precondition (rest.DefaultUpdatedObjectInfo.Preconditions): 409 "Precondition failed". A
    patched object's uid is checked as immutable metadata (ValidateObjectMetaUpdate): 422."""
    metadata = sent.get("metadata") if isinstance(sent, dict) else None
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    actual = current["metadata"]["uid"]
    if not uid or uid == actual:
        return
    resource, name = target.resource, str(target.name)
    if patch:
        raise invalid(resource.group, resource.kind, name, [{
            "reason": "FieldValueInvalid", "field": "metadata.uid",
            "message": f'Invalid value: "{uid}": field is immutable'}])
    raise conflict(resource.group, resource.plural, name,
                   f"StorageError: invalid object, Code: 4, Key: /registry/{resource.plural}/{target.namespace or ''}/"
                   f"{name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {uid}, "
                   f"UID in object meta: {actual}")


@dataclass
class _EventEncoder:
    """One watch stream's lines (handlers/watch.go, watchEncoder): ``{"type":...,"object":...}`` each.
    With ``Accept: ...;as=Table`` every object but an ERROR's Status is sent as a one-row Table
    carrying the object's resourceVersion, with the column definitions on the first event only
    (handlers/response.go, watchEmbeddedEncoder.doEncode sets NoHeaders after it): ``kubectl get -w``
    prints one header and every row with the same columns."""

    resource: Resource
    clock: Clock
    as_table: bool
    include_object: str | None
    headers_sent: bool = False

    @classmethod
    def for_request(cls, request: web.Request, resource: Resource, clock: Clock) -> _EventEncoder:
        """The stream's encoder; a bad includeObject is refused (400) before the stream starts
        (optionsForTransform in serveWatchHandler)."""
        as_table = "as=Table" in request.headers.get("Accept", "")
        include_object = request.query.get("includeObject")
        if as_table:
            tables.check_include_object(include_object)
        return cls(resource, clock, as_table, include_object)

    def encode(self, event_type: str, obj: dict[str, Any]) -> bytes:
        unstructured = False  # an ERROR's Status (never transformed) and a Table are Go structs
        if event_type != "ERROR" and self.as_table:
            resource_version = (obj.get("metadata") or {}).get("resourceVersion", "")
            obj = tables.table(self.resource, [obj], resource_version, self.clock, self.include_object,
                               no_headers=self.headers_sent)
        elif event_type != "ERROR":
            unstructured = not self.resource.builtin
        self.headers_sent = True
        return (f'{{"type":{encoding.dumps(event_type)},"object":{encoding.dumps(obj, unstructured=unstructured)}}}\n'
                .encode("utf-8", "backslashreplace"))


class ApiServer:
    def __init__(self, store: Store, faults: Faults, clock: Clock, *, bookmark_interval: float = 60.0) -> None:
        self.store = store
        self.faults = faults
        self.clock = clock
        self.bookmark_interval = bookmark_interval
        self.requests: list[tuple[str, str]] = []
        self._snapshots = Snapshots()
        self.responses: list[tuple[str, str, int]] = []  # (method, path?query, status)
        # A real API server takes request bodies up to 3 MiB (a 1 MiB Secret, base64 and JSON).
        self.app = web.Application(middlewares=[self._middleware], client_max_size=3 * 1024 * 1024)
        self.app.router.add_get("/version", self._version)
        for probe in ("/healthz", "/readyz", "/livez"):
            self.app.router.add_get(probe, self._ok)
        self.app.router.add_get("/openapi/v2", self._openapi_v2)
        self.app.router.add_get("/openapi/v3", self._openapi_root)
        self.app.router.add_get("/openapi/v3/{gv:.*}", self._openapi_gv)
        self.app.router.add_route("*", "/api{tail:.*}", self._dispatch)
        self.app.router.add_route("*", "/apis{tail:.*}", self._dispatch)

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        injected = self.faults.take(request.method, request.path)
        response: web.StreamResponse
        if injected is not None:
            response = _error(injected)
        else:
            try:
                response = await handler(request)
            except ApiError as error:
                response = _error(error)
            except web.HTTPNotFound:
                response = _error(_NOT_FOUND)
        self.responses.append((request.method, request.path_qs, response.status))
        return response

    async def _version(self, request: web.Request) -> web.Response:
        return _json(VERSION_INFO)

    async def _ok(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        if not openapi.v2_acceptable(request.headers.get("Accept", "")):
            # client-go asks for protobuf only; 406 makes it fall back as with a server without v2.
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")
        return _json(openapi.v2_document(self.store.registry))

    async def _openapi_root(self, request: web.Request) -> web.Response:
        return _json(openapi.root_document(self.store.registry))

    async def _openapi_gv(self, request: web.Request) -> web.Response:
        parts = request.match_info["gv"].split("/")
        if parts[0] == "api" and len(parts) == 2:
            document = openapi.group_version_document(self.store.registry, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            document = openapi.group_version_document(self.store.registry, parts[1], parts[2])
        else:
            document = None
        if document is None:
            raise _NOT_FOUND
        return _json(document)

    # -- routing -----------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.path.split("/") if s]
        registry = self.store.registry
        if segments[0] == "api":
            if len(segments) == 1:
                if wants_aggregated_discovery(request.headers.get("Accept", "")):
                    return self._aggregated(core=True)
                return _json(registry.api_versions_doc(f"{request.host}"))
            group, version, rest = "", segments[1], segments[2:]
        else:
            if len(segments) == 1:
                if wants_aggregated_discovery(request.headers.get("Accept", "")):
                    return self._aggregated(core=False)
                return _json(registry.api_group_list_doc())
            if len(segments) == 2:
                group_doc = registry.api_group_doc(segments[1])
                if group_doc is None:
                    raise _NOT_FOUND
                return _json(group_doc)
            group, version, rest = segments[1], segments[2], segments[3:]
        if not rest:
            if request.method != "GET":
                raise _not_allowed()
            listing = registry.resource_list_doc(group, version)
            if listing is None:
                raise _NOT_FOUND
            return _json(listing)
        target = self._target(group, version, rest)
        return await self._serve(request, target)

    def _aggregated(self, *, core: bool) -> web.Response:
        document = self.store.registry.aggregated_discovery_doc(core)
        return web.Response(body=encoding.encode(document), headers={"Content-Type": AGGREGATED_DISCOVERY,
                                                                      "Vary": "Accept"})

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise _NOT_FOUND
        resource = self.store.registry.get(group, version, rest[0])
        if resource is None or (namespace is not None and not resource.namespaced):
            raise _NOT_FOUND
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and not ((subresource == "status" and resource.status_subresource)
                                            or (subresource == "scale" and scale.has_scale(resource))
                                            or (subresource == "token" and resource.key == ("", "serviceaccounts"))):
            raise _NOT_FOUND
        if resource.namespaced and name is not None and namespace is None:
            raise _NOT_FOUND
        return Target(resource, namespace, name, subresource)

    async def _serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        resource = target.resource
        verb = _verb(method, target, request)
        if verb == "deletecollection" and {"delete", "list"} <= set(resource.verbs):
            return await self._delete_collection(request, target)
        if target.subresource is None and verb not in resource.verbs:
            raise _not_allowed()  # e.g. GET on a review kind, POST on componentstatuses
        if target.subresource == "scale":
            return await self._scale(request, target)
        if target.subresource == "token":
            return await self._token(request, target)
        if method == "POST" and target.name is None and reviews.is_review(resource):
            return _json(reviews.review_response(resource, await self._body(request)), 201)
        if target.name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, target)
                return self._list(request, target)
            if method == "POST":
                write = _options(request, "CreateOptions")
                body = await self._body(request)
                created = self.store.create(resource, target.namespace or "", body, strict=write.strict,
                                            dry_run=write.dry_run, manager=write.manager)
                self._count(target, "create", write.dry_run)
                return _warned(_object_json(resource, created, 201), request, self.store.warnings)
            raise _not_allowed()
        namespace = target.namespace or ""
        if method == "GET":
            obj = self.store.get(resource, namespace, target.name)
            if "as=Table" in request.headers.get("Accept", ""):
                return _json(tables.table(resource, [obj], obj["metadata"]["resourceVersion"], self.clock,
                                          include_object=request.query.get("includeObject")))
            return _object_json(resource, obj)
        if method == "PUT":
            write = _options(request, "UpdateOptions")
            body = await self._body(request)
            _check_uid(target, self.store.get(resource, namespace, target.name), body, patch=False)
            updated = self.store.update(resource, namespace, target.name, body, subresource=target.subresource,
                                        require_resource_version=not resource.builtin, strict=write.strict,
                                        dry_run=write.dry_run, manager=write.manager)
            self._count(target, "update", write.dry_run)
            return _warned(_object_json(resource, updated), request, self.store.warnings)
        if method == "PATCH":
            return await self._patch(request, target)
        if method == "DELETE" and target.subresource is None:
            options, dry_run, propagation = await self._delete_options(request)
            obj, removed = self.store.delete(resource, namespace, target.name,
                                             preconditions=options.get("preconditions"), propagation=propagation,
                                             dry_run=dry_run)
            self._count(target, "delete", dry_run)
            if removed:
                return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": {"name": target.name, "group": resource.group, "kind": resource.plural,
                                          "uid": obj["metadata"]["uid"]}})
            return _object_json(resource, obj)
        raise _not_allowed()

    async def _delete_options(self, request: web.Request) -> tuple[dict[str, Any], bool, str]:
        """DeleteOptions from the body (as client-go sends them, dryRun included) or the query."""
        options = await self._body(request) if request.can_read_body else {}
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        body_dry_run = options.get("dryRun") or []
        if not isinstance(body_dry_run, list):
            raise bad_request("DeleteOptions.dryRun must be a list of strings")
        dry_run = _dry_run([str(v) for v in body_dry_run] + request.query.getall("dryRun", []), "DeleteOptions")
        propagation = options.get("propagationPolicy") or request.query.get("propagationPolicy") or "Background"
        return options, dry_run, str(propagation)

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        """deletecollection (registry Store.DeleteCollection): LIST with the request's selectors, delete
        each object, answer the <Kind>List of what was deleted (objects kept by finalizers as marked)."""
        validate_list(request.query)
        resource = target.resource
        label_match = parse_label_selector(request.query.get("labelSelector"))
        field_match = parse_field_selector(request.query.get("fieldSelector"), resource)
        _, dry_run, propagation = await self._delete_options(request)
        items, resource_version = self.store.list(resource, target.namespace, label_match, field_match)
        deleted = []
        for item in items:
            metadata = item["metadata"]
            try:
                obj, _ = self.store.delete(resource, metadata.get("namespace", ""), metadata["name"],
                                           propagation=propagation, dry_run=dry_run)
            except ApiError as error:
                if error.code == 404:
                    continue  # already collected (garbage collection of an earlier item): skipped, as there
                raise
            deleted.append(obj)
            self._count(target, "delete", dry_run)
        return _object_json(resource, {"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
                                       "metadata": {"resourceVersion": str(resource_version)}, "items": deleted})

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        """GET, PUT, PATCH on <name>/scale: an autoscaling/v1 Scale (scale.py)."""
        assert target.name is not None
        verb = {"PUT": "update", "PATCH": "patch"}.get(request.method)
        write = _options(request, f"{verb.title()}Options") if verb else None
        answer = scale.serve_scale(self.store, target.resource, target.namespace or "", target.name,
                                   method=request.method, raw=await request.read(),
                                   content_type=request.headers.get("Content-Type", "").split(";")[0].strip(),
                                   manager=write.manager if write else None, dry_run=bool(write and write.dry_run))
        if verb and write:
            self._count(target, verb, write.dry_run)
        return _json(answer)

    async def _token(self, request: web.Request, target: Target) -> web.Response:
        """POST <serviceaccount>/token: a TokenRequest answered with a token (token_request.py); 405 otherwise."""
        if request.method != "POST":
            raise _not_allowed()
        assert target.name is not None
        write = _options(request, "CreateOptions")
        answer = token_request.serve_token_request(self.store, self.clock, target.namespace or "", target.name,
                                                   await self._body(request), strict=write.strict)
        self._count(target, "create", write.dry_run)
        return _warned(_json(answer.body, 201), request, answer.warnings)

    def _count(self, target: Target, verb: str, dry_run: bool = False) -> None:
        if dry_run:
            return  # nothing was written
        name = target.resource.plural + (f"/{target.subresource}" if target.subresource else "")
        self.faults.write_counts[(name, verb)] += 1

    async def _body(self, request: web.Request) -> Any:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        return bodies.decode_body(content_type, await request.read())

    # -- verbs -------------------------------------------------------------------------------------

    def _list(self, request: web.Request, target: Target) -> web.Response:
        validate_list(request.query)
        chunk = self._chunk(request, target)
        metadata: dict[str, Any] = {"resourceVersion": str(chunk.resource_version)}
        if chunk.continue_token is not None:
            metadata["continue"] = chunk.continue_token
        if chunk.remaining is not None:
            metadata["remainingItemCount"] = chunk.remaining
        if "as=Table" in request.headers.get("Accept", ""):
            table = tables.table(target.resource, chunk.items, chunk.resource_version, self.clock,
                                 include_object=request.query.get("includeObject"))
            table["metadata"] = metadata
            return _json(table)
        return _object_json(target.resource, {"kind": f"{target.resource.kind}List",
                                              "apiVersion": target.resource.api_version,
                                              "metadata": metadata, "items": chunk.items})

    def _chunk(self, request: web.Request, target: Target) -> Page:
        """The LIST's items, one chunk of them with ``limit``: the first page lists now and keeps the
        snapshot; a ``continue`` pages on through the snapshot at its resourceVersion (etcd3 GetList).
        resourceVersion=0 without continue is served whole, as the watch cache ignores ``limit``."""
        query, resource, namespace = request.query, target.resource, target.namespace
        label_text, field_text = query.get("labelSelector"), query.get("fieldSelector")
        label_match = parse_label_selector(label_text)
        field_match = parse_field_selector(field_text, resource)
        limit, token, start_key = parse_limit(query), query.get("continue"), None
        if token:
            if query.get("resourceVersion") not in (None, "", "0"):
                raise bad_request("specifying resource version is not allowed when using continue")
            start_key, rv = decode_continue(token)
            everything = self._snapshot(target, start_key, rv)
        else:
            everything, rv = self.store.list(resource, namespace)
            self._check_exact(query, rv)
            if query.get("resourceVersion") == "0":
                limit = 0
        selected = [o for o in everything
                    if label_match(o["metadata"].get("labels") or {}) and field_match(o)]
        chunk = page(resource, namespace, selected, rv, limit=limit, start_key=start_key,
                     selected=bool(label_text or field_text))
        if chunk.continue_token is not None:
            self._snapshots.keep((resource.key, namespace, rv), everything)
        return chunk

    def _snapshot(self, target: Target, start_key: str, rv: int) -> list[dict[str, Any]]:
        """The objects as of ``rv`` for a continue; gone once evicted or older than the event history
        (etcd compaction): 410 Expired. rv -1 (an inconsistent continue) lists the objects as they are now."""
        if rv < 0:
            return self.store.list(target.resource, target.namespace)[0]
        snapshot = self._snapshots.get((target.resource.key, target.namespace, rv))
        if snapshot is None or rv < self.store._history_floor:
            raise ExpiredContinue(start_key)
        return snapshot

    def _check_exact(self, query: Any, current: int) -> None:
        """resourceVersionMatch=Exact serves only the current state here: any older rv is 410 as compacted."""
        wanted = query.get("resourceVersion", "")
        if query.get("resourceVersionMatch") == "Exact" and wanted != str(current):
            raise ApiError(410, "Expired", f"too old resource version: {wanted} ({current})")

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        assert target.name is not None
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        resource = target.resource
        accepted = [JSON_PATCH, MERGE_PATCH, *([STRATEGIC_PATCH] if resource.builtin else []), APPLY_PATCH]
        if content_type not in accepted:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                        f"accepted media types include: {', '.join(accepted)}")
        if content_type == APPLY_PATCH:
            return await self._apply(request, target)
        options = _options(request, "PatchOptions")
        patch = await self._body(request)
        current = self.store.get(resource, target.namespace or "", target.name)
        if content_type == JSON_PATCH:
            patched = json_patch(current, patch)
        elif not isinstance(patch, dict):
            raise bad_request("a merge patch must be a JSON object")
        elif content_type == MERGE_PATCH:
            patched = merge_patch(current, patch)
        else:
            patched = strategic_merge_patch(current, patch)
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not a JSON object")
        _check_uid(target, current, patched, patch=True)
        updated = self.store.update(resource, target.namespace or "", target.name, patched,
                                    subresource=target.subresource, strict=options.strict, dry_run=options.dry_run,
                                    manager=options.manager)
        self._count(target, "patch", options.dry_run)
        return _warned(_object_json(resource, updated), request, self.store.warnings)

    async def _apply(self, request: web.Request, target: Target) -> web.Response:
        """Server-side apply (apply_handler.py): 201 when it created the object."""
        assert target.name is not None
        options = _options(request, "PatchOptions", apply=True)
        config = decode_configuration(await request.read(), strict=options.strict)
        answer, created = serve_apply(self.store, target.resource, config, ApplyRequest(
            namespace=target.namespace or "", name=target.name, subresource=target.subresource,
            manager=options.manager, force=bool(options.force), dry_run=options.dry_run))
        self._count(target, "patch", options.dry_run)
        return _object_json(target.resource, answer, 201 if created else 200)

    def _subscribe(self, request: web.Request, target: Target, watch_list: bool) -> tuple[Watcher, int | None]:
        """A watcher, and for the watch-list protocol (sendInitialEvents=true) how many initial ADDED events
        precede the bookmark annotated k8s.io/initial-events-end (apiserver cacher, watch-list)."""
        since = request.query.get("resourceVersion")
        if watch_list:
            watcher = self.store.subscribe(target.resource, target.namespace, None)
            return watcher, watcher.queue.qsize()
        if request.query.get("sendInitialEvents") is not None and since in (None, "", "0"):
            since = str(self.store.resource_version)  # sendInitialEvents=false: changes from now on only
        return self.store.subscribe(target.resource, target.namespace, since), None

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        watch_list = validate_watch(request.query)
        label_match = parse_label_selector(request.query.get("labelSelector"))
        field_match = parse_field_selector(request.query.get("fieldSelector"), target.resource)
        bookmarks = request.query.get("allowWatchBookmarks") in ("true", "1")
        timeout = request.query.get("timeoutSeconds")
        encoder = _EventEncoder.for_request(request, target.resource, self.clock)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout) if timeout else None
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def send(event_type: str, obj: Any) -> None:
            await response.write(encoder.encode(event_type, obj))

        async def bookmark(annotations: dict[str, str] | None = None) -> None:
            metadata: dict[str, Any] = {"resourceVersion": str(self.store.resource_version)}
            if annotations:
                metadata["annotations"] = annotations
            await send("BOOKMARK", {"kind": target.resource.kind, "apiVersion": target.resource.api_version,
                                    "metadata": metadata})

        try:
            watcher, initial = self._subscribe(request, target, watch_list)
        except ApiError as error:
            await send("ERROR", error.status())  # a real server reports 410 Gone inside the stream.
            return response
        if initial == 0:
            await bookmark({INITIAL_EVENTS_END: "true"})
        next_bookmark = loop.time() + self.bookmark_interval
        try:
            while True:
                wake = next_bookmark if bookmarks else None
                if deadline is not None:
                    wake = deadline if wake is None else min(wake, deadline)
                try:
                    event: WatchEvent | None = await asyncio.wait_for(
                        watcher.queue.get(), None if wake is None else max(wake - loop.time(), 0))
                except TimeoutError:
                    # Within a millisecond counts as reached: a sub-resolution remainder can time
                    # out without the clock moving, and the stream would spin on bookmarks.
                    if deadline is not None and loop.time() >= deadline - 0.001:
                        break
                    await bookmark()
                    next_bookmark = loop.time() + self.bookmark_interval
                    continue
                if event is None:
                    break
                obj = self.store.present(target.resource, event.obj)
                event_type = _filtered_type(event, lambda o: label_match(o["metadata"].get("labels") or {})
                                            and field_match(o))
                if event_type is not None:
                    await send(event_type, obj)
                if initial is not None:
                    initial -= 1
                    if initial == 0:
                        await bookmark({INITIAL_EVENTS_END: "true"})
        except ConnectionResetError:
            pass
        finally:
            self.store.unsubscribe(watcher)
        return response
