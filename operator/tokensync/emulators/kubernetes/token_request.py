"""``POST .../serviceaccounts/<name>/token``: a TokenRequest (authentication.k8s.io/v1), what
``kubectl create token`` sends (client-go's CreateToken, as protobuf) and prints ``.status.token`` of.

Modelled on kube-apiserver v1.32: pkg/registry/core/serviceaccount/storage/token.go (TokenREST.Create:
the body's name and namespace must match the URL's, the ServiceAccount must exist, audiences default
to the server's, bound objects Pod, Secret and Node are looked up and their UIDs checked),
pkg/apis/authentication/v1 defaults (expirationSeconds 3600), pkg/apis/authentication/validation
(ValidateTokenRequest: at least 10 minutes, at most 2^32 seconds) and pkg/serviceaccount/claims.go
(the claims). The answer is 201 with ``status.token`` and ``status.expirationTimestamp``; nothing is stored.

The token is shaped like kube-apiserver's (a JWT: base64url header.payload.signature, RS256 header,
the same claims: iss, sub ``system:serviceaccount:<namespace>:<name>``, aud, exp, iat, nbf, jti,
``kubernetes.io``) but it verifies against nothing: the signature is random bytes, there is no
signing key and no JWKS endpoint, and the emulator's TokenReview authenticates no token
(reviews.py). It is an opaque string for clients that pass it on.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tokensync.clock import Clock

from .errors import ApiError, bad_request, conflict, invalid
from .resources import Resource
from .store import Store
from .validation import decode, unknown_field_warnings

# kubeadm's --service-account-issuer; --api-audiences defaults to it.
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_SECONDS = 60 * 60
MIN_EXPIRATION_SECONDS = 10 * 60
MAX_EXPIRATION_SECONDS = 1 << 32
TOKEN_REQUEST = Resource(group="authentication.k8s.io", version="v1", plural="serviceaccounts", singular="",
                         kind="TokenRequest", namespaced=True, verbs=["create"],
                         definition="io.k8s.api.authentication.v1.TokenRequest")
_BINDABLE = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}  # claims.go: what a token may be bound to
_KEY_ID = "tokensync-emulator"


@dataclass(frozen=True)
class TokenAnswer:
    body: dict[str, Any]
    warnings: list[str]  # Warning header values for unknown fields (fieldValidation=Warn)


def serve_token_request(store: Store, clock: Clock, namespace: str, name: str, body: Any, *,
                        strict: bool) -> TokenAnswer:
    """TokenREST.Create: the TokenRequest answered with its token (404 without the ServiceAccount,
    422 for a bad name, namespace or expirationSeconds, 400/404/409 for a bad boundObjectRef)."""
    request, warnings = _decoded(body, strict=strict)
    metadata = request.get("metadata") or {}
    _check_names(metadata, namespace, name)
    account = store.get(_builtin(store, "serviceaccounts"), namespace, name)
    spec = request.get("spec") or {}
    seconds = _expiration(spec)
    ref = spec.get("boundObjectRef") or None
    bound = _bound_claims(store, namespace, name, ref) if ref else {}
    now = clock.now().replace(microsecond=0)
    audiences = spec.get("audiences") or [ISSUER]
    claims = _claims(account, bound, audiences, now, seconds)
    answer = {
        "kind": "TokenRequest", "apiVersion": TOKEN_REQUEST.api_version,
        "metadata": {**metadata, "name": name, "namespace": namespace, "creationTimestamp": _time(now)},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": ref},
        "status": {"token": _jwt(claims), "expirationTimestamp": _time(now + timedelta(seconds=seconds))},
    }
    return TokenAnswer(answer, warnings)


def _decoded(body: Any, *, strict: bool) -> tuple[dict[str, Any], list[str]]:
    """The body as Go decodes it into a TokenRequest: 400 on a wrong type, or an unknown field under Strict."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    decoded, unknown = decode(TOKEN_REQUEST, {**body, "apiVersion": TOKEN_REQUEST.api_version, "kind": "TokenRequest"})
    if strict and unknown:
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise bad_request(f'TokenRequest in version "v1" cannot be handled as a TokenRequest: strict decoding error: '
                          f"{listed}")
    return decoded, unknown_field_warnings(unknown)


def _check_names(metadata: dict[str, Any], namespace: str, name: str) -> None:
    for field, expected, what in (("name", name, "name"), ("namespace", namespace, "namespace")):
        sent = metadata.get(field)
        if sent and sent != expected:
            raise invalid(TOKEN_REQUEST.group, "TokenRequest", name, [{
                "reason": "FieldValueInvalid", "field": f"metadata.{field}",
                "message": f'Invalid value: "{sent}": must match the service account {what} if specified'}])


def _expiration(spec: dict[str, Any]) -> int:
    """expirationSeconds, defaulted to an hour; 422 (on ``TokenRequest ""``) outside [10 min, 2^32 s]."""
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_EXPIRATION_SECONDS if seconds is None else int(seconds)
    if seconds < MIN_EXPIRATION_SECONDS:
        message = "may not specify a duration less than 10 minutes"
    elif seconds > MAX_EXPIRATION_SECONDS:
        message = "may not specify a duration larger than 2^32 seconds"
    else:
        return seconds
    raise invalid(TOKEN_REQUEST.group, "TokenRequest", "", [{
        "reason": "FieldValueInvalid", "field": "spec.expirationSeconds",
        "message": f"Invalid value: {seconds}: {message}"}])


def _builtin(store: Store, plural: str) -> Resource:
    resource = store.registry.get("", "v1", plural)
    assert resource is not None
    return resource


def _bound_claims(store: Store, namespace: str, account: str, ref: dict[str, Any]) -> dict[str, Any]:
    """The ``kubernetes.io`` claims of the object a token is bound to (token.go's BoundObjectRef switch)."""
    group, _, version = str(ref.get("apiVersion", "")).rpartition("/")
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    if group or kind not in _BINDABLE:
        raise bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    if not name:
        raise bad_request("Name parameter required.")
    obj = store.get(_builtin(store, _BINDABLE[kind]), "" if kind == "Node" else namespace, name)
    if kind == "Pod" and (obj.get("spec") or {}).get("serviceAccountName") != account:
        raise bad_request(f'cannot bind token for serviceaccount "{account}" to pod running with different '
                          "serviceaccount name.")
    uid = obj["metadata"]["uid"]
    if ref.get("uid") and ref["uid"] != uid:
        raise conflict("", kind, name, f"the UID in the bound object reference ({ref['uid']}) does not match the UID "
                                       "in record. The object might have been deleted and then recreated")
    claims = {kind.lower(): {"name": name, "uid": uid}}
    if kind == "Pod" and (obj.get("spec") or {}).get("nodeName"):
        claims["node"] = _node_claim(store, obj["spec"]["nodeName"])
    return claims


def _node_claim(store: Store, node_name: str) -> dict[str, str]:
    """A pod's node (ServiceAccountTokenPodNodeInfo): its uid when the Node exists, its name alone otherwise."""
    try:
        node = store.get(_builtin(store, "nodes"), "", node_name)
    except ApiError:
        return {"name": node_name}
    return {"name": node_name, "uid": node["metadata"]["uid"]}


def _claims(account: dict[str, Any], bound: dict[str, Any], audiences: list[str], now: datetime,
            seconds: int) -> dict[str, Any]:
    namespace, name = account["metadata"]["namespace"], account["metadata"]["name"]
    issued = int(now.timestamp())
    private = {"namespace": namespace, **bound,
               "serviceaccount": {"name": name, "uid": account["metadata"]["uid"]}}
    return {"aud": audiences, "exp": issued + seconds, "iat": issued, "iss": ISSUER, "jti": str(uuid.uuid4()),
            "kubernetes.io": private, "nbf": issued, "sub": f"system:serviceaccount:{namespace}:{name}"}


def _jwt(claims: dict[str, Any]) -> str:
    """header.payload.signature, base64url without padding; the signature is 256 random bytes (an RS256
    signature's length) that no key verifies."""
    header = {"alg": "RS256", "kid": _KEY_ID}
    parts = [_segment(json.dumps(header, separators=(",", ":")).encode()),
             _segment(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()),
             _segment(secrets.token_bytes(256))]
    return ".".join(parts)


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
