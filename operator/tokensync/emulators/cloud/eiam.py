"""IDaaS EIAM 2021-12-01: application tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from tokensync.emulators.cloud.context import CallContext, Operation
from tokensync.emulators.cloud.errors import ApiError, invalid, required
from tokensync.emulators.cloud.state import Token, truncate_ms, unix_ms

VERSION = "2021-12-01"
TOKEN_TYPES = ("bearer_token",)


def _instance_and_app(ctx: CallContext) -> tuple[str, str]:
    instance_id, application_id = required(ctx.params, "InstanceId", "ApplicationId")
    instance = ctx.state.instances.get(instance_id)
    if instance is None or (instance.account_id or ctx.state.account_id) != ctx.account_id:
        raise ApiError(404, "EntityNotExists.Instance", f"The instance {instance_id} does not exist.")
    if application_id not in instance.applications:
        raise ApiError(404, "EntityNotExists.Application", f"The application {application_id} does not exist.")
    return instance_id, application_id


def _token(ctx: CallContext) -> Token:
    instance_id, application_id = _instance_and_app(ctx)
    (token_id,) = required(ctx.params, "ApplicationTokenId")
    token = ctx.state.tokens.get(token_id)
    if token is None or token.instance_id != instance_id or token.application_id != application_id:
        raise ApiError(404, "EntityNotExists.ApplicationToken", f"The application token {token_id} does not exist.")
    token.settle(ctx.now)
    return token


def _expiration(ctx: CallContext) -> datetime:
    (text,) = required(ctx.params, "ExpirationTime")
    if not text.isdigit():
        raise invalid("ExpirationTime", "expected Unix milliseconds")
    moment = datetime.fromtimestamp(int(text) / 1000, tz=ctx.now.tzinfo)
    if moment <= ctx.now:
        raise invalid("ExpirationTime", "the expiration time must be in the future")
    return truncate_ms(moment)


def token_fields(token: Token) -> dict[str, Any]:
    assert token.create_time is not None and token.expiration_time is not None  # settled
    fields: dict[str, Any] = {
        "InstanceId": token.instance_id,
        "ApplicationId": token.application_id,
        "ApplicationTokenId": token.application_token_id,
        "ApplicationTokenType": token.application_token_type,
        "Status": token.status,
        "ExpirationTime": unix_ms(token.expiration_time),
        "CreateTime": unix_ms(token.create_time),
    }
    if token.last_used_time is not None:
        fields["LastUsedTime"] = unix_ms(token.last_used_time)
    return fields


def obtain(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    assert token.expiration_time is not None
    if ctx.state.expired_token_error and token.expiration_time <= ctx.now:
        raise ApiError(400, "InvalidApplicationToken.Expired",
                       f"The application token {token.application_token_id} has expired.")
    token.last_used_time = truncate_ms(ctx.now)
    return {"ApplicationToken": {**token_fields(token), "ApplicationToken": token.value}}


def create(ctx: CallContext) -> dict[str, Any]:
    instance_id, application_id = _instance_and_app(ctx)
    (token_type,) = required(ctx.params, "ApplicationTokenType")
    if token_type not in TOKEN_TYPES:
        raise invalid("ApplicationTokenType", f"must be one of {', '.join(TOKEN_TYPES)}")
    expiration = _expiration(ctx)
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
    token_type = ctx.params.get("ApplicationTokenType") or None
    listed = []
    for token in ctx.state.tokens.values():
        if token.instance_id != instance_id or token.application_id != application_id:
            continue
        if token_type is not None and token.application_token_type != token_type:
            continue
        token.settle(ctx.now)
        # The list never carries token values: ObtainApplicationToken is the one way to read one.
        listed.append({**token_fields(token), "AliUid": ctx.account_id, "Description": token.description})
    return {"ApplicationTokens": listed, "TotalCount": len(listed)}


def enable(ctx: CallContext) -> dict[str, Any]:
    _token(ctx).status = "enabled"
    return {}


def disable(ctx: CallContext) -> dict[str, Any]:
    _token(ctx).status = "disabled"
    return {}


def delete(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    if token.status != "disabled":
        # The console and API refuse to delete a token that is still in use.
        raise ApiError(400, "OperationDenied.ApplicationTokenEnabled",
                       "Disable the application token before deleting it.")
    del ctx.state.tokens[token.application_token_id]
    return {}


def update_expiration(ctx: CallContext) -> dict[str, Any]:
    token = _token(ctx)
    expiration = _expiration(ctx)
    token.expiration_time = expiration
    assert token.create_time is not None
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
