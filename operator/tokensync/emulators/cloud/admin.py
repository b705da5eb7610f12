"""The admin API under ``/_emulator/`` (JSON, unsigned; the real service has no such path).

Documented in docs/cloud-emulator.md. Every change goes through the same ``CloudEmulator``
helpers tests call directly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from tokensync.emulators.cloud.faults import fault_from_json
from tokensync.emulators.cloud.state import AccessKey, Application, Instance, Token, parse_state

if TYPE_CHECKING:
    from tokensync.emulators.cloud.emulator import CloudEmulator

PREFIX = "/_emulator"
# What a person or API call can change on an existing token (Enable/Disable, Update...ExpirationTime,
# SCIM use, the description); never its value or identity.
_TOKEN_PATCHABLE = frozenset({"status", "expirationTime", "lastUsedTime", "description"})
AdminHandler = Callable[[web.Request], Awaitable[Any]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _admin(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Run ``handler``; its result is the JSON answer, bad input a 400 and a missing key a 404."""

    async def run(request: web.Request) -> web.Response:
        try:
            result = await handler(request)
        except KeyError as exc:
            return _json({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
        except (ValueError, ValidationError, TypeError) as exc:
            text = exc.errors(include_input=False) if isinstance(exc, ValidationError) else str(exc)
            return _json({"error": text}, 400)
        return result if isinstance(result, web.Response) else _json(result)

    return run


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read())
    except ValueError:
        raise ValueError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def add_admin_routes(app: web.Application, emulator: CloudEmulator) -> None:
    routes: list[tuple[str, str, AdminHandler]] = []

    def route(method: str, path: str) -> Callable[[AdminHandler], AdminHandler]:
        def register(handler: AdminHandler) -> AdminHandler:
            routes.append((method, PREFIX + path, handler))
            return handler
        return register

    @route("GET", "/state")
    async def get_state(request: web.Request) -> Any:
        return emulator.state.to_document()

    @route("PUT", "/state")
    async def put_state(request: web.Request) -> Any:
        emulator.replace_state(parse_state(await _body(request)))
        return emulator.state.to_document()

    @route("GET", "/counters")
    async def get_counters(request: web.Request) -> Any:
        return emulator.counters_document()

    async def reset_counters(request: web.Request) -> Any:
        emulator.reset_counters()
        return emulator.counters_document()

    routes.append(("DELETE", PREFIX + "/counters", reset_counters))
    routes.append(("POST", PREFIX + "/counters/reset", reset_counters))

    @route("PUT", "/access-keys/{id}")
    async def put_access_key(request: web.Request) -> Any:
        data = {**await _body(request), "accessKeyId": request.match_info["id"]}
        data["accountId"] = data.get("accountId") or emulator.state.account_id
        key = AccessKey.model_validate(data)
        emulator.state.access_keys[key.access_key_id] = key
        return key.model_dump(mode="json", by_alias=True, exclude={"access_key_secret"})

    @route("DELETE", "/access-keys/{id}")
    async def delete_access_key(request: web.Request) -> Any:
        emulator.remove_access_key(request.match_info["id"])
        return {}

    @route("PUT", "/instances/{id}")
    async def put_instance(request: web.Request) -> Any:
        instance = Instance.model_validate({**await _body(request), "instanceId": request.match_info["id"]})
        emulator.state.instances[instance.instance_id] = instance
        return instance.model_dump(mode="json", by_alias=True)

    @route("DELETE", "/instances/{id}")
    async def delete_instance(request: web.Request) -> Any:
        emulator.remove_instance(request.match_info["id"])
        return {}

    @route("PUT", "/instances/{id}/applications/{app}")
    async def put_application(request: web.Request) -> Any:
        instance = emulator.state.instances[request.match_info["id"]]
        application = Application.model_validate({**await _body(request),
                                                  "applicationId": request.match_info["app"]})
        instance.applications[application.application_id] = application
        return application.model_dump(mode="json", by_alias=True)

    @route("DELETE", "/instances/{id}/applications/{app}")
    async def delete_application(request: web.Request) -> Any:
        instance = emulator.state.instances[request.match_info["id"]]
        del instance.applications[request.match_info["app"]]
        return {}

    def token_document(token: Token) -> dict[str, Any]:
        return token.model_dump(mode="json", by_alias=True)

    @route("GET", "/tokens/{id}")
    async def get_token(request: web.Request) -> Any:
        return token_document(emulator.token(request.match_info["id"]))

    @route("PUT", "/tokens/{id}")
    async def put_token(request: web.Request) -> Any:
        token = Token.model_validate({**await _body(request), "applicationTokenId": request.match_info["id"]})
        token.settle(emulator.clock.now())
        emulator.state.ensure_application(token.instance_id, token.application_id)
        emulator.state.tokens[token.application_token_id] = token
        return token_document(token)

    @route("PATCH", "/tokens/{id}")
    async def patch_token(request: web.Request) -> Any:
        token = emulator.token(request.match_info["id"])
        fields = await _body(request)
        fixed = sorted(set(fields) - _TOKEN_PATCHABLE)
        if fixed:
            raise ValueError(f"a token's {', '.join(fixed)} cannot change (IDaaS never changes them); PATCH takes "
                             f"{', '.join(sorted(_TOKEN_PATCHABLE))}, PUT replaces the whole token")
        changed = Token.model_validate({**token_document(token), **fields})
        emulator.state.tokens[token.application_token_id] = changed
        return token_document(changed)

    @route("POST", "/tokens/{id}/expire")
    async def expire_token(request: web.Request) -> Any:
        emulator.expire_token(request.match_info["id"])
        return token_document(emulator.token(request.match_info["id"]))

    @route("POST", "/tokens/{id}/use")
    async def use_token(request: web.Request) -> Any:
        emulator.use_token(request.match_info["id"])
        return token_document(emulator.token(request.match_info["id"]))

    @route("DELETE", "/tokens/{id}")
    async def delete_token(request: web.Request) -> Any:
        emulator.delete_token(request.match_info["id"])
        return {}

    @route("GET", "/ram-applications/{id}")
    async def get_ram_application(request: web.Request) -> Any:
        return emulator.ram_application(request.match_info["id"])

    @route("PUT", "/ram-applications/{id}")
    async def put_ram_application(request: web.Request) -> Any:
        return emulator.add_ram_application({**await _body(request), "AppId": request.match_info["id"]})

    @route("PATCH", "/ram-applications/{id}")
    async def patch_ram_application(request: web.Request) -> Any:
        fields = await _body(request)
        fields.pop("AppId", None)
        return emulator.update_ram_application(request.match_info["id"], **fields)

    @route("DELETE", "/ram-applications/{id}")
    async def delete_ram_application(request: web.Request) -> Any:
        emulator.delete_ram_application(request.match_info["id"])
        return {}

    @route("GET", "/faults")
    async def get_faults(request: web.Request) -> Any:
        return [fault.to_json() for fault in emulator.faults.faults]

    @route("POST", "/faults")
    async def post_fault(request: web.Request) -> Any:
        return _json(emulator.faults.add(fault_from_json(await _body(request))).to_json(), 201)

    @route("DELETE", "/faults")
    async def delete_faults(request: web.Request) -> Any:
        emulator.clear_faults()
        return {}

    @route("DELETE", "/faults/{id}")
    async def delete_fault(request: web.Request) -> Any:
        if not emulator.faults.remove(int(request.match_info["id"])):
            raise KeyError(f"no fault {request.match_info['id']}")
        return {}

    for method, path, handler in routes:
        app.router.add_route(method, path, _admin(handler))
