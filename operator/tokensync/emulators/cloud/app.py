"""The HTTP face: one aiohttp application serving EIAM, IMS and STS on ``/`` (routed by
``x-acs-action``/``x-acs-version`` like the real gateway) and the admin API under
``/_emulator/``.

No access log: query strings can carry an OIDC token. One debug line per call names the
action, the answer's status and Code and the RequestId, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from tokensync.emulators.cloud import eiam, ims, sts
from tokensync.emulators.cloud.admin import add_admin_routes
from tokensync.emulators.cloud.auth import SignedRequest, verify
from tokensync.emulators.cloud.context import CallContext, Operation
from tokensync.emulators.cloud.emulator import CloudEmulator
from tokensync.emulators.cloud.errors import ApiError, error_body, missing
from tokensync.emulators.cloud.faults import BodyFault, Outcome

logger = logging.getLogger(__name__)

EMULATOR_KEY = web.AppKey("emulator", CloudEmulator)
OPERATIONS: dict[str, Operation] = {op.action: op for op in (*eiam.OPERATIONS, *ims.OPERATIONS, *sts.OPERATIONS)}
# Common RPC parameters (old-style query signing) that are not the operation's own.
_COMMON_PARAMS = ("Action", "Version", "Format", "Timestamp", "SignatureNonce", "SignatureMethod",
                  "SignatureVersion", "Signature", "AccessKeyId", "SecurityToken", "RegionId")


def build_app(emulator: CloudEmulator) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[EMULATOR_KEY] = emulator
    add_admin_routes(app, emulator)
    app.router.add_route("*", "/{tail:.*}", handle_api)
    return app


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


async def handle_api(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR_KEY]
    request_id = new_request_id()
    body = await request.read()
    params = dict(request.query)
    if request.content_type == "application/x-www-form-urlencoded":
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    action = request.headers.get("x-acs-action") or params.get("Action") or ""
    version = request.headers.get("x-acs-version") or params.get("Version") or ""
    counted = action if action in OPERATIONS else (action or "<none>")
    emulator.counters[counted] += 1

    outcome = emulator.faults.draw(action)
    if outcome.latency_seconds:
        await asyncio.sleep(outcome.latency_seconds)
    if outcome.reset:
        emulator.codes[(counted, "ConnectionReset")] += 1
        return _reset(request)

    status, payload, headers = 200, {}, {}
    try:
        if outcome.error is not None:
            fault = outcome.error
            assert fault.status is not None and fault.code is not None
            raise ApiError(fault.status, fault.code, fault.message or f"Injected fault: {fault.code}.",
                           retry_after=fault.retry_after)
        if request.path != "/":
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url "
                                                          "and method.")
        payload = _call(emulator, request, body, params, action, version)
        code = "Success"
    except ApiError as error:
        status, code = error.status, error.code
        payload = error_body(error, request_id=request_id, host_id=request.host.rsplit(":", 1)[0])
        if error.retry_after is not None:
            # Milliseconds, as the gateway sends it (the official SDKs' tests: retryAfterMS).
            headers["x-acs-retry-after"] = str(round(error.retry_after * 1000))
    payload = {"RequestId": request_id, **payload}
    if outcome.body is not None:
        code = f"{code}+{outcome.body}-body"  # the counters show the answer was broken on purpose
    emulator.codes[(counted, code)] += 1
    logger.debug("cloud emulator %s %s -> %d %s (RequestId %s)", action or "-", version or "-", status, code,
                 request_id)
    headers.update({
        "Date": format_datetime(emulator.clock.now(), usegmt=True),
        "x-acs-request-id": request_id,
        "Content-Type": "application/json;charset=utf-8",
    })
    return web.Response(status=status, body=_body(payload, outcome), headers=headers)


def _call(emulator: CloudEmulator, request: web.Request, body: bytes, params: dict[str, str],
          action: str, version: str) -> dict[str, Any]:
    if not action:
        raise missing("Action")
    operation = OPERATIONS.get(action)
    if operation is None:
        raise ApiError(404, "InvalidAction.NotFound", f"Specified api {action} is not found, please check your "
                                                      "url and method.")
    if version != operation.version:
        raise ApiError(400, "InvalidVersion", f"Specified parameter Version {version!r} is not valid for "
                                              f"{action}; expected {operation.version}.")
    now = emulator.clock.now()
    principal = verify(
        SignedRequest(method=request.method, pathname=request.path, query=request.query,
                      headers=request.headers, body=body),
        state=emulator.state, nonces=emulator.nonces, now=now, anonymous_ok=operation.anonymous,
    )
    if operation.authorized and principal is not None and not principal.may(f"{operation.product}:{action}"):
        raise ApiError(403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this "
                                             f"API doesn't support RAM. ({operation.product}:{action})")
    own_params = {k: v for k, v in params.items() if k not in _COMMON_PARAMS}
    return operation.handler(CallContext(params=own_params, principal=principal, state=emulator.state, now=now))


def _body(payload: dict[str, Any], outcome: Outcome) -> bytes:
    text = json.dumps(payload, separators=(",", ":")).encode()
    kind: BodyFault | None = outcome.body
    if kind == "malformed":
        return b"<html><body>502 Bad Gateway</body></html>"
    if kind == "truncated":
        return text[: len(text) // 2]
    if kind == "empty":
        return b""
    return text


def _reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection with no answer, as a crashed proxy would."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # aiohttp ends a handler cancelled by a lost connection quietly
