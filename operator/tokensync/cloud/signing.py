"""Alibaba Cloud signature V3 (ACS3-HMAC-SHA256).

One implementation serves both sides: the client signs with it and the cloud emulator
verifies with it. It is proven against Alibaba's official implementation in
``tests/cloud/test_signing.py``, so the emulator is as strict as the real gateway.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 encoding: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(query: Mapping[str, str | None]) -> str:
    """Keys sorted, values percent-encoded, ``None`` values left out (as the SDK does)."""
    keys = sorted(k for k, v in query.items() if v is not None)
    return "&".join(f"{k}={percent_encode(query[k] or '')}" for k in keys)


def canonical_headers(headers: Mapping[str, str | None]) -> tuple[str, str]:
    """Return ``(canonical header block, signed header names)`` for every header given."""
    merged: dict[str, list[str]] = {}
    for name, value in headers.items():
        if value is not None:
            merged.setdefault(name.lower(), []).append(str(value).strip())
    names = sorted(merged)
    block = "".join(f"{n}:{','.join(sorted(merged[n]))}\n" for n in names)
    return block, ";".join(names)


def signed_subset(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a client must sign: ``host``, every ``x-acs-*`` and ``content-type``."""
    return {
        k: v
        for k, v in headers.items()
        if (lk := k.lower()) == "host" or lk.startswith("x-acs-") or lk == "content-type"
    }


def canonical_request(
    *,
    method: str,
    pathname: str,
    query: Mapping[str, str | None],
    headers: Mapping[str, str | None],
    body_sha256: str,
) -> tuple[str, str]:
    """Return ``(canonical request, signed header names)``."""
    header_block, signed_names = canonical_headers(headers)
    request = "\n".join(
        [method.upper(), pathname or "/", canonical_query(query), header_block, signed_names, body_sha256]
    )
    return request, signed_names


def signature(access_key_secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    *,
    method: str,
    pathname: str,
    query: Mapping[str, str | None],
    headers: Mapping[str, str | None],
    body_sha256: str,
    access_key_id: str,
    access_key_secret: str,
) -> str:
    """The ``Authorization`` header value for a request whose ``headers`` are all signed."""
    canonical, signed_names = canonical_request(
        method=method, pathname=pathname, query=query, headers=headers, body_sha256=body_sha256
    )
    sig = signature(access_key_secret, canonical)
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_names},Signature={sig}"


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


class MalformedAuthorization(ValueError):
    """The ``Authorization`` header is not a well-formed ACS3 header."""


def parse_authorization(value: str) -> ParsedAuthorization:
    """Parse ``ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise MalformedAuthorization(f"unsupported signature algorithm {algorithm!r}; expected {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            raise MalformedAuthorization(f"malformed Authorization part {part.strip()!r}")
        fields[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise MalformedAuthorization(f"Authorization lacks {', '.join(missing)}")
    return ParsedAuthorization(
        access_key_id=fields["Credential"],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
    )
