"""IDaaS EIAM 2021-12-01: application tokens, as IDaaS keeps them.

A token's value never changes by itself; it is valid until its ExpirationTime, which only
UpdateApplicationTokenExpirationTime moves. Every behaviour here and where it comes from
(API page, official SDK, wire notes, or "assumed") is listed in docs/cloud-emulator.md.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tokensync.emulators.cloud.context import CallContext, Operation
from tokensync.emulators.cloud.errors import ApiError, invalid, required
from tokensync.emulators.cloud.state import DEFAULT_TOKEN_LIFETIME, Token, truncate_ms, unix_ms

VERSION = "2021-12-01"
TOKEN_TYPES = ("bearer_token",)

# Codes no published source gives (docs/cloud-emulator.md marks them assumed).
NOT_FOUND_STATUS = 404
QUOTA_EXCEEDED = "QuotaExceeded.ApplicationToken"
TOKEN_EXPIRED = "ResourceExpired.ApplicationToken"
DELETE_ENABLED_REFUSED = "OperationDenied.ApplicationTokenEnabled"


def _instance_and_app(ctx: CallContext) -> tuple[str, str]:
    instance_id, application_id = required(ctx.params, "InstanceId", "ApplicationId")
    instance = ctx.state.instances.get(instance_id)
    if instance is None or (instance.account_id or ctx.state.account_id) != ctx.account_id:
        raise ApiError(NOT_FOUND_STATUS, "ResourceNotFound.Instance", f"The instance {instance_id} does not exist.")
    if application_id not in instance.applications:
        raise ApiError(NOT_FOUND_STATUS, "ResourceNotFound.Application",
                       f"The application {application_id} does not exist.")
    return instance_id, application_id


def _token(ctx: CallContext) -> Token:
    instance_id, application_id = _instance_and_app(ctx)
    (token_id,) = required(ctx.params, "ApplicationTokenId")
    token = ctx.state.tokens.get(token_id)
    if token is None or token.instance_id != instance_id or token.application_id != application_id:
        raise ApiError(NOT_FOUND_STATUS, "ResourceNotFound.ApplicationToken",
                       f"The application token {token_id} does not exist.")
    token.settle(ctx.now)
    return token


def _token_type(ctx: CallContext) -> str:
    (token_type,) = required(ctx.params, "ApplicationTokenType")
    if token_type not in TOKEN_TYPES:
        raise invalid("ApplicationTokenType", f"must be one of {', '.join(TOKEN_TYPES)}")
    return token_type


def _expiration(ctx: CallContext, *, default: timedelta | None) -> datetime:
    """ExpirationTime (Unix ms): in the future and within the state's bounds (measured from now)."""
    text = ctx.params.get("ExpirationTime") or ""
    if not text and default is not None:
        return truncate_ms(ctx.now + default)
    (text,) = required(ctx.params, "ExpirationTime")
    if not text.isdigit():
        raise invalid("ExpirationTime", "expected Unix milliseconds")
    try:
        moment = truncate_ms(datetime.fromtimestamp(int(text) / 1000, tz=ctx.now.tzinfo))
    except (OverflowError, OSError, ValueError):
        raise invalid("ExpirationTime", "out of range") from None
    if moment <= ctx.now:
        raise invalid("ExpirationTime", "the expiration time must be in the future")
    state = ctx.state
    if state.min_token_lifetime is not None and moment - ctx.now < state.min_token_lifetime:
        raise invalid("ExpirationTime", f"must be at least {_duration(state.min_token_lifetime)} from now")
    if state.max_token_lifetime is not None and moment - ctx.now > state.max_token_lifetime:
        raise invalid("ExpirationTime", f"must be at most {_duration(state.max_token_lifetime)} from now")
    return moment


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def token_fields(token: Token) -> dict[str, Any]:
    """ObtainApplicationToken's ApplicationToken object (the API page's fields)."""
    assert token.create_time is not None and token.expiration_time is not None  # settled
    fields: dict[str, Any] = {
        "InstanceId": token.instance_id,
        "ApplicationId": token.application_id,
        "ApplicationTokenId": token.application_token_id,
        "ApplicationTokenType": token.application_token_type,
        "ApplicationToken": token.value,
        "Status": token.status,
        "ExpirationTime": unix_ms(token.expiration_time),
        "CreateTime": unix_ms(token.create_time),
    }
    if token.last_used_time is not None:  # never used: left out (assumed)
        fields["LastUsedTime"] = unix_ms(token.last_used_time)
    return fields


def obtain(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    if ctx.state.expired_token_read == "error" and token.expired(ctx.now):
        raise ApiError(400, TOKEN_EXPIRED, f"The application token {token.application_token_id} has expired.")
    # A read is not a use: LastUsedTime is when the token was last used for SCIM.
    return {"ApplicationToken": token_fields(token)}


def create(ctx: CallContext) -> dict[str, Any]:
    instance_id, application_id = _instance_and_app(ctx)
    token_type = _token_type(ctx)
    expiration = _expiration(ctx, default=DEFAULT_TOKEN_LIFETIME)
    limit = ctx.state.max_tokens_per_application
    if limit is not None and len(ctx.state.application_tokens(instance_id, application_id)) >= limit:
        raise ApiError(400, QUOTA_EXCEEDED, f"The application {application_id} already has {limit} application "
                                            "tokens, the most it may hold; delete one first.")
    now = truncate_ms(ctx.now)
    token = Token(
        application_token_id=f"token_{secrets.token_hex(13)}", instance_id=instance_id,
        application_id=application_id, application_token_type=token_type,
        lifetime=expiration - now, create_time=now, expiration_time=expiration,
    )
    ctx.state.tokens[token.application_token_id] = token
    return {"ApplicationTokens": {"ApplicationTokenId": token.application_token_id,
                                  "ApplicationToken": token.value,
                                  "ApplicationTokenType": token.application_token_type}}


def list_tokens(ctx: CallContext) -> dict[str, Any]:
    instance_id, application_id = _instance_and_app(ctx)
    token_type = _token_type(ctx)
    ali_uid = int(ctx.account_id) if ctx.account_id.isdigit() else ctx.account_id
    listed = []
    for token in ctx.state.application_tokens(instance_id, application_id):
        if token.application_token_type != token_type:
            continue
        token.settle(ctx.now)
        listed.append({**token_fields(token), "AliUid": ali_uid, "Description": token.description})
    return {"ApplicationTokens": listed}


def enable(ctx: CallContext) -> dict[str, Any]:
    _token(ctx).status = "enabled"
    return {}


def disable(ctx: CallContext) -> dict[str, Any]:
    _token(ctx).status = "disabled"
    return {}


def delete(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    if token.status != "disabled" and ctx.state.delete_enabled_token == "refuse":
        raise ApiError(400, DELETE_ENABLED_REFUSED, "Disable the application token before deleting it.")
    del ctx.state.tokens[token.application_token_id]
    return {}


def update_expiration(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    expiration = _expiration(ctx, default=None)
    assert token.create_time is not None
    token.expiration_time = expiration  # the same token and value, valid until the new time
    token.lifetime = expiration - token.create_time
    return {}


OPERATIONS = [
    Operation("eiam", "ObtainApplicationToken", VERSION, obtain),
    Operation("eiam", "CreateApplicationToken", VERSION, create),
    Operation("eiam", "ListApplicationTokens", VERSION, list_tokens),
    Operation("eiam", "EnableApplicationToken", VERSION, enable),
    Operation("eiam", "DisableApplicationToken", VERSION, disable),
    Operation("eiam", "DeleteApplicationToken", VERSION, delete),
    Operation("eiam", "UpdateApplicationTokenExpirationTime", VERSION, update_expiration),
]
