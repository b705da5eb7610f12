"""STS 2015-04-01: who am I, and temporary credentials (AssumeRole, AssumeRoleWithOIDC)."""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from tokensync.emulators.cloud.context import CallContext, Operation
from tokensync.emulators.cloud.errors import ApiError, invalid, required
from tokensync.emulators.cloud.state import Role, StsCredential, truncate_ms

VERSION = "2015-04-01"
MIN_DURATION = 900
_SESSION_NAME = re.compile(r"^[\w.@-]{2,64}$")


def get_caller_identity(ctx: CallContext) -> dict[str, Any]:
    principal = ctx.principal
    assert principal is not None  # not anonymous
    identity: dict[str, Any] = {
        "AccountId": principal.account_id,
        "Arn": principal.arn,
        "IdentityType": principal.identity_type,
        "PrincipalId": principal.principal_id,
    }
    if principal.user_id is not None:
        identity["UserId"] = principal.user_id
    if principal.role_id is not None:
        identity["RoleId"] = principal.role_id
    return identity


def _role(ctx: CallContext) -> Role:
    (role_arn,) = required(ctx.params, "RoleArn")
    role = ctx.state.roles.get(role_arn)
    if role is None:
        raise ApiError(404, "EntityNotExist.Role", "The specified Role not exists.")
    return role


def _session(ctx: CallContext, role: Role) -> tuple[str, timedelta]:
    (session_name,) = required(ctx.params, "RoleSessionName")
    if not _SESSION_NAME.match(session_name):
        raise invalid("RoleSessionName", "2 to 64 characters: letters, digits, '.', '@', '-', '_'")
    duration_text = ctx.params.get("DurationSeconds") or "3600"
    if not duration_text.isdigit():
        raise invalid("DurationSeconds", "expected a whole number of seconds")
    duration = int(duration_text)
    if not MIN_DURATION <= duration <= role.max_session_duration:
        raise invalid("DurationSeconds", f"must be between {MIN_DURATION} and the role's MaxSessionDuration "
                                         f"({role.max_session_duration})")
    return session_name, timedelta(seconds=duration)


def _issue(ctx: CallContext, role: Role, session_name: str, duration: timedelta) -> dict[str, Any]:
    expiration = truncate_ms(ctx.now + duration).replace(microsecond=0)
    credential = StsCredential(
        access_key_id=f"STS.{secrets.token_hex(12)}",
        access_key_secret=secrets.token_urlsafe(32),
        security_token="CAIS" + secrets.token_urlsafe(120),
        expiration=expiration,
        account_id=role.account_id,
        arn=f"acs:ram::{role.account_id}:assumed-role/{role.name}/{session_name}",
        role_id=role.role_id,
        session_name=session_name,
        allowed_actions=list(role.allowed_actions),
    )
    state = ctx.state
    state.sts_credentials = {k: v for k, v in state.sts_credentials.items() if v.expiration > ctx.now}
    state.sts_credentials[credential.access_key_id] = credential
    return {
        "AssumedRoleUser": {"Arn": credential.arn, "AssumedRoleId": f"{role.role_id}:{session_name}"},
        "Credentials": {
            "AccessKeyId": credential.access_key_id,
            "AccessKeySecret": credential.access_key_secret,
            "SecurityToken": credential.security_token,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def assume_role(ctx: CallContext) -> dict[str, Any]:
    principal = ctx.principal
    assert principal is not None
    role = _role(ctx)
    if role.account_id != principal.account_id:
        raise ApiError(403, "NoPermission", "You are not authorized to do this action. You should be authorized "
                                            "by RAM.")
    session_name, duration = _session(ctx, role)
    return _issue(ctx, role, session_name, duration)


def assume_role_with_oidc(ctx: CallContext) -> dict[str, Any]:
    provider_arn, token = required(ctx.params, "OIDCProviderArn", "OIDCToken")
    role = _role(ctx)
    provider = ctx.state.oidc_providers.get(provider_arn)
    if provider is None:
        raise ApiError(404, "EntityNotExist.OIDCProvider", "The specified OIDC provider does not exist.")
    claims = _jwt_claims(token)
    if provider.issuer is not None and claims.get("iss") != provider.issuer:
        raise ApiError(400, "AuthenticationFail.OIDCToken.IssuerError", "The issuer of the OIDC token does not "
                                                                        "match the OIDC provider.")
    audiences = claims.get("aud")
    audience_list = audiences if isinstance(audiences, list) else [audiences]
    if not set(audience_list) & set(provider.audiences):
        raise ApiError(400, "AuthenticationFail.OIDCToken.AudienceError", "The audience of the OIDC token is not "
                                                                          "a client ID of the OIDC provider.")
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float) or datetime.fromtimestamp(expiry, tz=UTC) <= ctx.now:
        raise ApiError(400, "AuthenticationFail.OIDCToken.Expired", "The OIDC token has expired.")
    session_name, duration = _session(ctx, role)
    reply = _issue(ctx, role, session_name, duration)
    reply["OIDCTokenInfo"] = {"Issuer": claims.get("iss"), "Subject": claims.get("sub"),
                              "ClientIds": ",".join(str(a) for a in audience_list)}
    return reply


def _jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ApiError(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is not a JWT.")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except ValueError:
        raise ApiError(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is not a JWT.") from None
    if not isinstance(claims, dict):
        raise ApiError(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is not a JWT.")
    return claims


OPERATIONS = [
    Operation("sts", "GetCallerIdentity", VERSION, get_caller_identity, authorized=False),
    Operation("sts", "AssumeRole", VERSION, assume_role),
    Operation("sts", "AssumeRoleWithOIDC", VERSION, assume_role_with_oidc, anonymous=True, authorized=False),
]
