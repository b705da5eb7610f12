"""A scripted stand-in for the cloud behind ``httpx.MockTransport``.

It checks every signed request with the project's signer (proven against the official SDK)
and answers from a script per action, so tests can produce what the emulator cannot:
truncated bodies, exact status/code pairs, retry-after headers.
"""

from __future__ import annotations

import socket
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tokensync.cloud import signing

SECRETS = {"AK-test": "secret-value-Zq8"}
STS_TOKEN = "sts-token-Xy7"
APP_TOKEN = "application-token-value-Wv3"
DATE = "Sun, 22 Nov 2026 12:00:00 GMT"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"date": DATE, **(headers or {})})


def error_reply(status: int, code: str, *, request_id: str = "REQ-ERR", headers: dict[str, str] | None = None
                ) -> httpx.Response:
    return json_reply(status, {"RequestId": request_id, "Code": code, "Message": f"the {code} message",
                               "HostId": "h"}, headers)


def token_body(token: str = APP_TOKEN, **overrides: Any) -> dict[str, Any]:
    body = {
        "InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo",
        "ApplicationTokenType": "bearer_token", "ApplicationToken": token, "Status": "enabled",
        "ExpirationTime": 1735610950000, "LastUsedTime": 1735610930000, "CreateTime": 1735610930000,
    }
    body.update(overrides)
    return {"RequestId": "REQ-OK", "ApplicationToken": body}


@dataclass
class Seen:
    action: str
    query: dict[str, str]
    headers: httpx.Headers
    signature_ok: bool | None


@dataclass
class FakeCloud:
    script: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    default: dict[str, Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def on(self, action: str, *replies: Reply) -> None:
        self.script[action].extend(replies)

    def always(self, action: str, reply: Reply) -> None:
        self.default[action] = reply

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))
        action = request.headers.get("x-acs-action") or query.get("Action", "")
        self.seen.append(Seen(action, query, request.headers, self._verify(request, query)))
        if self.script[action]:
            reply = self.script[action].popleft()
        elif action in self.default:
            reply = self.default[action]
        else:
            return error_reply(400, "InvalidAction.NotFound")
        return reply(request) if callable(reply) else reply

    @staticmethod
    def _verify(request: httpx.Request, query: dict[str, str]) -> bool | None:
        value = request.headers.get("authorization")
        if value is None:
            return None
        parsed = signing.parse_authorization(value)
        secret = SECRETS.get(parsed.access_key_id)
        if secret is None:
            return False
        headers = {name: request.headers[name] for name in parsed.signed_headers}
        expected = signing.authorization(
            method=request.method, pathname=request.url.path, query=query, headers=headers,
            body_sha256=request.headers.get("x-acs-content-sha256", ""), access_key_id=parsed.access_key_id,
            access_key_secret=secret,
        )
        return bool(expected == value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
