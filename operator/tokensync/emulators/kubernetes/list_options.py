"""LIST and WATCH request options as kube-apiserver checks them, and chunked LIST (``limit``/``continue``).

Validation follows apimachinery's ``pkg/apis/meta/internalversion/validation`` (ValidateListOptions,
validateWatchOptions); continue tokens follow apiserver's ``pkg/storage/continue.go`` (base64url JSON
``{"v":"meta.k8s.io/v1","rv":<rv>,"start":<key after the last item>}``) and the etcd3 store's
GetList (remainingItemCount only without selectors, 410 Expired once the snapshot is gone).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request, gone
from .resources import Resource

_TOKEN_VERSION = "meta.k8s.io/v1"
_MATCH = "resourceVersionMatch"
_NO_CONTINUE = "resourceVersionMatch is forbidden when continue is provided"
_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a new "
            "list without the continue parameter, or use the continue token in this response to retrieve the "
            "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
            "that were created, modified, or deleted between the time the first chunk was returned and now may show "
            "up in the list.")


def _list_options_invalid(errors: list[tuple[str, str]]) -> ApiError:
    """errors.NewInvalid(ListOptions.meta.k8s.io, "", errs): one error as is, several as an aggregate ``[a, b]``."""
    texts = [f"{field}: {message}" for field, message in errors]
    summary = texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"
    causes = [{"reason": "FieldValueForbidden" if m.startswith("Forbidden") else "FieldValueNotSupported",
               "message": m, "field": f} for f, m in errors]
    return ApiError(422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: {summary}',
                    details={"group": "meta.k8s.io", "kind": "ListOptions", "causes": causes})


def _forbidden(field: str, detail: str) -> tuple[str, str]:
    return field, f"Forbidden: {detail}"


def _not_supported(field: str, value: str, supported: list[str]) -> tuple[str, str]:
    listed = ", ".join(f'"{s}"' for s in supported)
    return field, f'Unsupported value: "{value}": supported values: {listed}'


def validate_list(query: Mapping[str, str]) -> None:
    """ValidateListOptions for a LIST (not a watch)."""
    errors: list[tuple[str, str]] = []
    match, rv = query.get("resourceVersionMatch", ""), query.get("resourceVersion", "")
    if match:
        if not rv:
            errors.append(_forbidden("resourceVersionMatch",
                                     "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if query.get("continue"):
            errors.append(_forbidden(_MATCH, _NO_CONTINUE))
        if match not in ("Exact", "NotOlderThan"):
            errors.append(_not_supported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]))
        if match == "Exact" and rv == "0":
            errors.append(_forbidden(_MATCH, 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if "sendInitialEvents" in query:
        errors.append(_forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if errors:
        raise _list_options_invalid(errors)


def validate_watch(query: Mapping[str, str]) -> bool:
    """validateWatchOptions (WatchList enabled, as in 1.32); True when the watch-list protocol is asked for."""
    errors: list[tuple[str, str]] = []
    match = query.get("resourceVersionMatch", "")
    send_initial = query.get("sendInitialEvents")
    if send_initial is not None and match != "NotOlderThan":
        errors.append(_forbidden("resourceVersionMatch",
                                 "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
    if match:
        if send_initial is None:
            errors.append(_forbidden(_MATCH, "resourceVersionMatch is forbidden for watch unless sendInitialEvents "
                                             "is provided"))
        if match != "NotOlderThan":
            errors.append(_not_supported("resourceVersionMatch", match, ["NotOlderThan"]))
        if query.get("continue"):
            errors.append(_forbidden(_MATCH, _NO_CONTINUE))
    if errors:
        raise _list_options_invalid(errors)
    return send_initial in ("true", "1")


def object_key(resource: Resource, namespace: str | None, obj: Mapping[str, Any]) -> str:
    """An item's storage key relative to the listed prefix (/registry/<plural>/[<namespace>/])."""
    metadata = obj["metadata"]
    if resource.namespaced and namespace is None:
        return f"{metadata.get('namespace', '')}/{metadata['name']}"
    return str(metadata["name"])


def encode_continue(start_key: str, resource_version: int) -> str:
    """storage.EncodeContinue: the key to start from (the last key plus a NUL byte) and the snapshot's rv."""
    token = {"v": _TOKEN_VERSION, "rv": resource_version, "start": start_key}
    raw = json.dumps(token, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(value: str) -> tuple[str, int]:
    """storage.DecodeContinue; a bad token is 400 "invalid continue token: ..." (etcd3 store GetList)."""
    try:
        token = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise bad_request(f"invalid continue token: continue key is not valid: {exc}") from exc
    if not isinstance(token, dict) or token.get("v") != _TOKEN_VERSION:
        version = token.get("v") if isinstance(token, dict) else ""
        raise bad_request("invalid continue token: continue key is not valid: server does not recognize this "
                          f"encoded version {version}")
    rv, start = token.get("rv"), token.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise bad_request("invalid continue token: continue key is not valid: incorrect encoded start "
                          "resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise bad_request("invalid continue token: continue key is not valid: encoded start key empty "
                          "(version meta.k8s.io/v1)")
    return start, rv


class ExpiredContinue(ApiError):
    """etcd3 compactedContinue: 410 Expired whose Status carries a token (rv -1) for an inconsistent remainder."""

    def __init__(self, start_key: str) -> None:
        expired = gone(_EXPIRED)
        super().__init__(expired.code, expired.reason, expired.message)
        self.token = encode_continue(start_key, -1)

    def status(self) -> dict[str, Any]:
        body = super().status()
        body["metadata"] = {"continue": self.token}
        return body


@dataclass
class Page:
    items: list[dict[str, Any]]
    resource_version: int
    continue_token: str | None
    remaining: int | None


class Snapshots:
    """The full, unfiltered LIST results paged lists started from, by (kind, namespace, rv): later
    pages come from the objects as of the first page's resourceVersion, as etcd serves them until
    compaction. Bounded; an evicted or compacted snapshot makes a continue 410 Expired."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lists: OrderedDict[tuple[Any, str | None, int], list[dict[str, Any]]] = OrderedDict()

    def keep(self, key: tuple[Any, str | None, int], items: list[dict[str, Any]]) -> None:
        self._lists[key] = items
        self._lists.move_to_end(key)
        while len(self._lists) > self._size:
            self._lists.popitem(last=False)

    def get(self, key: tuple[Any, str | None, int]) -> list[dict[str, Any]] | None:
        return self._lists.get(key)


def page(resource: Resource, namespace: str | None, items: list[dict[str, Any]], resource_version: int, *,
         limit: int, start_key: str | None, selected: bool) -> Page:
    """One chunk of ``items`` (the selected objects in key order) from ``start_key`` on, ``limit`` long."""
    keyed = sorted(((object_key(resource, namespace, item), item) for item in items), key=lambda pair: pair[0])
    if start_key is not None:
        keyed = [(key, item) for key, item in keyed if key >= start_key]
    if limit <= 0 or len(keyed) <= limit:
        return Page([item for _, item in keyed], resource_version, None, None)
    chunk, rest = keyed[:limit], keyed[limit:]
    token = encode_continue(chunk[-1][0] + "\x00", resource_version)
    # remainingItemCount is only known (and only set) when no selector filtered the list.
    return Page([item for _, item in chunk], resource_version, token, None if selected else len(rest))


def parse_limit(query: Mapping[str, str]) -> int:
    value = query.get("limit", "")
    if not value:
        return 0
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from exc
