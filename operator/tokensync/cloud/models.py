"""The API's answers as typed Python objects.

Field names follow Python; aliases are the API's names. Times arrive as Unix milliseconds
and become aware UTC datetimes. A reply that lacks a required field or has a wrong type is
the cloud's fault: ``parse`` raises ``MalformedResponseError`` naming the field, never the
value (a value may be a token).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from tokensync.cloud.errors import MalformedResponseError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _from_unix_ms(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected Unix milliseconds, got a boolean")
    milliseconds: int | float
    if isinstance(value, int | float):
        milliseconds = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        milliseconds = int(value)
    else:
        raise ValueError("expected Unix milliseconds")
    try:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("Unix milliseconds out of range") from None


def _from_iso(value: Any) -> Any:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("expected an ISO 8601 time")


def _lenient_int(value: Any) -> Any:
    """An integer field nothing depends on: digits become an int, anything else None (never an error)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


UnixMs = Annotated[datetime, BeforeValidator(_from_unix_ms)]
IsoTime = Annotated[datetime, BeforeValidator(_from_iso)]


class ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore", hide_input_in_errors=True)


class ApplicationToken(ApiModel):
    """ObtainApplicationToken's ``ApplicationToken``."""

    instance_id: str = Field(alias="InstanceId")
    application_id: str = Field(alias="ApplicationId")
    application_token_id: str = Field(alias="ApplicationTokenId")
    token_type: str = Field(alias="ApplicationTokenType")
    token: SecretStr = Field(alias="ApplicationToken", min_length=1)
    status: str = Field(alias="Status")
    expiration_time: UnixMs = Field(alias="ExpirationTime")
    create_time: UnixMs | None = Field(default=None, alias="CreateTime")
    last_used_time: UnixMs | None = Field(default=None, alias="LastUsedTime")


class ListedApplicationToken(ApiModel):
    """One entry of ListApplicationTokens: Obtain's fields (the value too), AliUid (an integer) and Description.

    Fields beyond the IDs are optional, so an entry with less still lists its token.
    """

    instance_id: str = Field(alias="InstanceId")
    application_id: str = Field(alias="ApplicationId")
    application_token_id: str = Field(alias="ApplicationTokenId")
    token_type: str | None = Field(default=None, alias="ApplicationTokenType")
    token: SecretStr | None = Field(default=None, alias="ApplicationToken")
    status: str | None = Field(default=None, alias="Status")
    expiration_time: UnixMs | None = Field(default=None, alias="ExpirationTime")
    create_time: UnixMs | None = Field(default=None, alias="CreateTime")
    last_used_time: UnixMs | None = Field(default=None, alias="LastUsedTime")
    ali_uid: Annotated[int | None, BeforeValidator(_lenient_int)] = Field(default=None, alias="AliUid")
    description: str | None = Field(default=None, alias="Description")


class CreatedApplicationToken(ApiModel):
    """CreateApplicationToken's ``ApplicationTokens`` (one object)."""

    application_token_id: str = Field(alias="ApplicationTokenId")
    token: SecretStr = Field(alias="ApplicationToken", min_length=1)
    token_type: str | None = Field(default=None, alias="ApplicationTokenType")


class PredefinedScope(ApiModel):
    name: str = Field(alias="Name")
    description: str | None = Field(default=None, alias="Description")
    required: bool | None = Field(default=None, alias="Required")


def _flatten(outer: str, inner: str | None = None) -> Any:
    """``{"Outer": {"Inner": [...]}}`` -> ``[...]``; missing or empty -> ``[]``."""

    def pick(value: Any) -> Any:
        if value is None or value == "" or value == {}:
            return []
        if isinstance(value, dict):
            value = value.get(outer, [])
            if inner is not None:
                value = (value or {}).get(inner, []) if isinstance(value, dict) else value
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    return BeforeValidator(pick)


class RamApplication(ApiModel):
    """IMS GetApplication's ``Application``."""

    app_id: str = Field(alias="AppId")
    app_name: str | None = Field(default=None, alias="AppName")
    display_name: str | None = Field(default=None, alias="DisplayName")
    app_type: str | None = Field(default=None, alias="AppType")
    account_id: str | None = Field(default=None, alias="AccountId")
    access_token_validity: int | None = Field(default=None, alias="AccessTokenValidity")
    refresh_token_validity: int | None = Field(default=None, alias="RefreshTokenValidity")
    secret_required: bool | None = Field(default=None, alias="SecretRequired")
    is_multi_tenant: bool | None = Field(default=None, alias="IsMultiTenant")
    protocol_version: str | None = Field(default=None, alias="ProtocolVersion")
    redirect_uris: Annotated[list[str], _flatten("RedirectUri")] = Field(default_factory=list, alias="RedirectUris")
    predefined_scopes: Annotated[list[PredefinedScope], _flatten("PredefinedScopes", "PredefinedScope")] = Field(
        default_factory=list, alias="DelegatedScope"
    )
    create_date: str | None = Field(default=None, alias="CreateDate")
    update_date: str | None = Field(default=None, alias="UpdateDate")


class CallerIdentity(ApiModel):
    """STS GetCallerIdentity: who the credentials belong to."""

    account_id: str = Field(alias="AccountId")
    arn: str = Field(alias="Arn")
    identity_type: str | None = Field(default=None, alias="IdentityType")
    principal_id: str | None = Field(default=None, alias="PrincipalId")
    user_id: str | None = Field(default=None, alias="UserId")
    role_id: str | None = Field(default=None, alias="RoleId")


class StsCredentials(ApiModel):
    """STS ``Credentials`` (AssumeRole, AssumeRoleWithOIDC) and the ECS metadata answer."""

    access_key_id: str = Field(alias="AccessKeyId")
    access_key_secret: SecretStr = Field(alias="AccessKeySecret")
    security_token: SecretStr = Field(alias="SecurityToken")
    expiration: IsoTime = Field(alias="Expiration")


@dataclass(frozen=True)
class CloudReply(Generic[T]):
    """A parsed answer with what the operator needs around it.

    ``server_time`` is the HTTP ``Date`` header: the operator plans refreshes on the
    cloud's clock, which decides expiry.
    """

    value: T
    request_id: str
    server_time: datetime | None


def parse(model: type[M], data: Any, *, where: str, request_id: str | None = None) -> M:
    """Validate ``data`` as ``model``; a wrong shape is ``MalformedResponseError``."""
    if not isinstance(data, dict):
        raise MalformedResponseError(
            code="MalformedResponse", message=f"{where} is missing or not an object", request_id=request_id
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponseError(
            code="MalformedResponse", message=f"{where}: {_describe(exc)}", request_id=request_id
        ) from None


def parse_list(model: type[M], data: Any, *, where: str, request_id: str | None = None) -> list[M]:
    if data is None:
        return []
    if isinstance(data, dict):  # some RPC answers wrap arrays one level deeper, or return a single object
        inner = [v for v in data.values() if isinstance(v, list)]
        data = inner[0] if len(inner) == 1 else [data]
    if not isinstance(data, list):
        raise MalformedResponseError(
            code="MalformedResponse", message=f"{where} is not a list", request_id=request_id
        )
    return [parse(model, item, where=f"{where}[{i}]", request_id=request_id) for i, item in enumerate(data)]


def _describe(exc: ValidationError) -> str:
    """Field paths and problems only: pydantic's own text would echo input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:3]:
        loc = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
        parts.append(f"field {loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
