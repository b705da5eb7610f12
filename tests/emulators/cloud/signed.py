"""Hand-built signed requests, for what a well-behaved client never sends (replays, old dates)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from tokensync.cloud import signing

from .conftest import AK_ID, AK_SECRET


async def call(
    url: str,
    action: str,
    version: str,
    query: dict[str, str] | None = None,
    *,
    date: datetime,
    ak_id: str = AK_ID,
    secret: str = AK_SECRET,
    nonce: str | None = None,
    body: bytes = b"",
    declared_body: bytes | None = None,
    security_token: str | None = None,
    sign: bool = True,
) -> tuple[int, dict[str, Any], httpx.Headers]:
    query = query or {}
    signed = {
        "host": urlsplit(url).netloc,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body if declared_body is None else declared_body).hexdigest(),
    }
    if security_token is not None:
        signed["x-acs-security-token"] = security_token
    headers = dict(signed)
    if sign:
        headers["Authorization"] = signing.authorization(
            method="POST", pathname="/", query=query, headers=signed, body_sha256=signed["x-acs-content-sha256"],
            access_key_id=ak_id, access_key_secret=secret,
        )
    canonical = signing.canonical_query(query)
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{url}/?{canonical}" if canonical else f"{url}/", headers=headers, content=body)
    return response.status_code, response.json(), response.headers
