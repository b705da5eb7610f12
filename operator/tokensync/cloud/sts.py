"""STS (2015-04-01) calls that turn one identity into temporary credentials.

A 4xx from STS while obtaining credentials (a bad role ARN, an expired OIDC token, an
unknown provider) means the configured credentials cannot work: it surfaces as
``InvalidCredentialsError``; throttling, 5xx and access denials keep their own class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from tokensync.cloud.errors import (
    BadRequestError,
    CloudError,
    InvalidCredentialsError,
    NotFoundError,
    TokenExpiredError,
)
from tokensync.cloud.models import StsCredentials, parse
from tokensync.cloud.rpc import RpcCaller

if TYPE_CHECKING:
    from tokensync.cloud.credentials import Credential

STS_VERSION = "2015-04-01"


async def assume_role(
    caller: RpcCaller,
    *,
    endpoint: str,
    source: Callable[[], Awaitable[Credential]],
    role_arn: str,
    session_name: str,
    duration_seconds: int,
    external_id: str | None = None,
) -> StsCredentials:
    query = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration_seconds),
        "ExternalId": external_id or None,
    }
    return await _credentials_call(caller, endpoint, "AssumeRole", query, source)


async def assume_role_with_oidc(
    caller: RpcCaller,
    *,
    endpoint: str,
    role_arn: str,
    oidc_provider_arn: str,
    oidc_token: str,
    session_name: str,
    duration_seconds: int,
    timestamp: str,
) -> StsCredentials:
    # Anonymous: the OIDC token is the proof. Action/Version/Format/Timestamp also go in the
    # query, as the official credentials library sends them.
    query = {
        "Action": "AssumeRoleWithOIDC",
        "Version": STS_VERSION,
        "Format": "JSON",
        "Timestamp": timestamp,
        "RoleArn": role_arn,
        "OIDCProviderArn": oidc_provider_arn,
        "OIDCToken": oidc_token,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration_seconds),
    }
    return await _credentials_call(caller, endpoint, "AssumeRoleWithOIDC", query, None)


async def _credentials_call(
    caller: RpcCaller,
    endpoint: str,
    action: str,
    query: Mapping[str, str | None],
    source: Callable[[], Awaitable[Credential]] | None,
) -> StsCredentials:
    try:
        reply = await caller.call(endpoint=endpoint, action=action, version=STS_VERSION, query=query, credential=source,
                                  product="sts")
    except (BadRequestError, NotFoundError, TokenExpiredError) as error:  # an STS refusal is about the credentials
        raise InvalidCredentialsError(
            code=error.code, message=f"STS refused to issue credentials: {error.message}",
            request_id=error.request_id, http_status=error.http_status, action=action,
        ) from None
    except CloudError:
        raise
    return parse(StsCredentials, reply.body.get("Credentials"), where=f"{action} Credentials",
                 request_id=reply.request_id)
