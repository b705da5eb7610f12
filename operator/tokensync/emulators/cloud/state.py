"""What the emulated cloud knows: access keys, EIAM instances and tokens, RAM applications, STS.

The same models are the state file format (YAML or JSON, camelCase keys; collections may
be written as lists or as maps keyed by ID) and the admin API's bodies. RAM applications
are kept in the API's own shape (``AppId``, ``RedirectUris: {RedirectUri: [...]}``...), so
what a test puts in is exactly what ``GetApplication`` returns.

A token is what IDaaS holds (see the wire notes): its value never changes by itself, it is
valid until its ``expirationTime``, and only API calls (or a person in the console, which the
emulator's helpers stand for) change its expiry or status. Nothing happens on a schedule.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

DEMO_ACCOUNT_ID = "1234567890123456"
DEMO_ACCESS_KEY_ID = "demo-access-key-id"
DEMO_ACCESS_KEY_SECRET = "demo-access-key-secret"
DEMO_USER_ARN = f"acs:ram::{DEMO_ACCOUNT_ID}:user/tokensync-demo"
DEMO_ROLE_ARN = f"acs:ram::{DEMO_ACCOUNT_ID}:role/tokensync-demo"
DEMO_OIDC_PROVIDER_ARN = f"acs:ram::{DEMO_ACCOUNT_ID}:oidc-provider/ack-rrsa-demo"
DEMO_OIDC_ISSUER = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/demo"
DEMO_RAM_APP_ID = "4724570903440410000"


def _to_datetime(value: Any) -> Any:
    """Unix milliseconds (as the API writes them) or ISO 8601 text -> aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("expected a time, got a boolean")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _to_timedelta(value: Any) -> Any:
    """Seconds (number) -> timedelta; ISO 8601 durations are left to pydantic."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


Time = Annotated[datetime, BeforeValidator(_to_datetime),
                 PlainSerializer(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", return_type=str)]
Seconds = Annotated[timedelta, BeforeValidator(_to_timedelta),
                    PlainSerializer(lambda d: d.total_seconds(), return_type=float)]


def unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def truncate_ms(moment: datetime) -> datetime:
    """The API speaks milliseconds; keeping state at that resolution keeps answers exact."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_token_value() -> str:
    return "SAT" + secrets.token_urlsafe(72)


class StateModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              validate_assignment=True)


class AccessKey(StateModel):
    """A RAM user's AccessKey. ``allowedActions``: ``product:Action`` patterns (``*`` wildcards)."""

    access_key_id: str = Field(min_length=1)
    access_key_secret: str = Field(min_length=1, repr=False)
    account_id: str = ""  # default: the state's accountId
    arn: str | None = None  # default: acs:ram::<account>:user/<access key id>
    user_id: str = "200000000000000001"
    enabled: bool = True
    allowed_actions: list[str] = Field(default_factory=lambda: ["*"])

    def principal_arn(self) -> str:
        return self.arn or f"acs:ram::{self.account_id}:user/{self.access_key_id}"


class Application(StateModel):
    """An EIAM application inside an instance (only its identity matters to tokens)."""

    application_id: str = Field(min_length=1)
    application_name: str = ""


def _keyed(field: str) -> Any:
    """Accept a collection as a list of objects carrying ``field`` or as a map keyed by it."""

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            out: dict[str, Any] = {}
            for item in value:
                if isinstance(item, str):
                    item = {field: item}
                if not isinstance(item, dict) or not item.get(field):
                    raise ValueError(f"each entry needs {field}")
                out[str(item[field])] = item
            return out
        if isinstance(value, dict):
            return {k: ({**v, field: v.get(field, k)} if isinstance(v, dict) else v) for k, v in value.items()}
        return value

    return BeforeValidator(convert)


class Instance(StateModel):
    instance_id: str = Field(min_length=1)
    account_id: str | None = None  # default: the state's accountId
    applications: Annotated[dict[str, Application], _keyed("applicationId")] = Field(default_factory=dict)


# CreateApplicationToken's default lifetime, "one year from now" (wire notes); 365 days is assumed.
DEFAULT_TOKEN_LIFETIME = timedelta(days=365)


class Token(StateModel):
    """An EIAM application token.

    ``lifetime``: only an input, for a token written without ``expirationTime`` (then
    ``createTime + lifetime``). The value never changes: renewing is the caller's job
    (UpdateApplicationTokenExpirationTime keeps it, CreateApplicationToken makes a new token).
    """

    application_token_id: str = Field(min_length=1)
    instance_id: str = "idaas_demo"
    application_id: str = "app_demo"
    application_token_type: str = "bearer_token"
    value: str = Field(default_factory=new_token_value, repr=False)
    status: Literal["enabled", "disabled"] = "enabled"
    lifetime: Seconds = DEFAULT_TOKEN_LIFETIME
    create_time: Time | None = None  # None: when the emulator starts
    expiration_time: Time | None = None  # None: createTime + lifetime
    last_used_time: Time | None = None  # the last SCIM use (never moved by reading the token)
    description: str = ""

    def settle(self, now: datetime) -> None:
        """Fill the times a state file may leave out (from ``now`` and ``lifetime``)."""
        if self.create_time is None:
            self.create_time = truncate_ms(now)
        if self.expiration_time is None:
            self.expiration_time = self.create_time + self.lifetime

    def expired(self, now: datetime) -> bool:
        return self.expiration_time is not None and self.expiration_time <= now


class Role(StateModel):
    arn: str = Field(min_length=1)
    role_id: str = "300000000000000001"
    max_session_duration: int = 3600
    allowed_actions: list[str] = Field(default_factory=lambda: ["*"])

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[3]

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class OidcProvider(StateModel):
    """An OIDC identity provider (RRSA). Tokens are checked for issuer, audience and expiry,
    not for their signature: the emulator has no JWKS."""

    arn: str = Field(min_length=1)
    issuer: str | None = None  # None: any issuer
    audiences: list[str] = Field(default_factory=lambda: ["sts.aliyuncs.com"])


class StsCredential(StateModel):
    """Temporary credentials issued by AssumeRole / AssumeRoleWithOIDC."""

    access_key_id: str
    access_key_secret: str = Field(repr=False)
    security_token: str = Field(repr=False)
    expiration: Time
    account_id: str
    arn: str  # acs:ram::<account>:assumed-role/<role>/<session>
    role_id: str
    session_name: str
    allowed_actions: list[str] = Field(default_factory=lambda: ["*"])


class EmulatorState(StateModel):
    """Everything the emulated cloud holds. Serialises to the state file format."""

    account_id: str = DEMO_ACCOUNT_ID
    region_id: str = "cn-hangzhou"
    access_keys: Annotated[dict[str, AccessKey], _keyed("accessKeyId")] = Field(default_factory=dict)
    instances: Annotated[dict[str, Instance], _keyed("instanceId")] = Field(default_factory=dict)
    tokens: Annotated[dict[str, Token], _keyed("applicationTokenId")] = Field(default_factory=dict)
    ram_applications: Annotated[dict[str, dict[str, Any]], _keyed("AppId")] = Field(default_factory=dict)
    roles: Annotated[dict[str, Role], _keyed("arn")] = Field(default_factory=dict)
    oidc_providers: Annotated[dict[str, OidcProvider], _keyed("arn")] = Field(default_factory=dict)
    sts_credentials: Annotated[dict[str, StsCredential], _keyed("accessKeyId")] = Field(default_factory=dict)
    # Undocumented behaviours, served both ways (docs/cloud-emulator.md):
    # ObtainApplicationToken of an expired token: "ok" = 200 with the past ExpirationTime,
    # "error" = 400 ResourceExpired.ApplicationToken (code assumed).
    expired_token_read: Literal["ok", "error"] = "ok"
    # DeleteApplicationToken of an enabled token: "refuse" = 400 OperationDenied.ApplicationTokenEnabled
    # (code assumed), "allow" = deleted.
    delete_enabled_token: Literal["refuse", "allow"] = "refuse"
    # Optional bounds on the ExpirationTime of Create/UpdateApplicationTokenExpirationTime, measured
    # from now (the API's own bounds are not published; the console offers 1 day to 3 years).
    min_token_lifetime: Seconds | None = None
    max_token_lifetime: Seconds | None = None
    # Tokens (enabled, disabled or expired) one application may hold; CreateApplicationToken
    # beyond it answers 400 QuotaExceeded.ApplicationToken (limit and code assumed). None: no limit.
    max_tokens_per_application: int | None = Field(default=None, ge=0)

    def settle(self, now: datetime) -> None:
        """Fill defaults (accounts, token times), put RAM applications in full shape."""
        for key in self.access_keys.values():
            key.account_id = key.account_id or self.account_id
        for token in self.tokens.values():
            token.settle(now)
            self.ensure_application(token.instance_id, token.application_id)
        for app_id, app in list(self.ram_applications.items()):
            self.ram_applications[app_id] = ram_application_record(app, self.account_id, now)

    def application_tokens(self, instance_id: str, application_id: str) -> list[Token]:
        """The tokens of one application, oldest first."""
        return [t for t in self.tokens.values() if t.instance_id == instance_id and t.application_id == application_id]

    def ensure_application(self, instance_id: str, application_id: str) -> None:
        instance = self.instances.get(instance_id)
        if instance is None:
            instance = self.instances[instance_id] = Instance(instance_id=instance_id)
        if application_id not in instance.applications:
            instance.applications[application_id] = Application(application_id=application_id)

    def token_values(self) -> list[str]:
        """Every token value held (tests check none of them leaks into output)."""
        return [token.value for token in self.tokens.values()]

    def to_document(self) -> dict[str, Any]:
        """The state file / admin API form: camelCase keys, collections as lists."""
        document: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        for key in ("accessKeys", "instances", "tokens", "ramApplications", "roles", "oidcProviders",
                    "stsCredentials"):
            document[key] = list(document[key].values())
        for instance in document["instances"]:
            instance["applications"] = list(instance["applications"].values())
        return document


_RAM_APP_DEFAULTS: dict[str, Any] = {
    "AppName": "app",
    "DisplayName": "app",
    "AppType": "WebApp",
    "AccessTokenValidity": 3600,
    "RefreshTokenValidity": 2592000,
    "SecretRequired": True,
    "IsMultiTenant": False,
    "ProtocolVersion": "2.0",
    "RedirectUris": {"RedirectUri": []},
    "DelegatedScope": {"PredefinedScopes": {"PredefinedScope": []}},
}
RAM_APP_TYPES = ("WebApp", "NativeApp", "ServerApp")


def ram_application_record(fields: dict[str, Any], account_id: str, now: datetime) -> dict[str, Any]:
    """A RAM application in GetApplication's shape, with defaults for what ``fields`` omits.

    ``RedirectUris`` and ``PredefinedScopes`` may also be given as plain lists.
    """
    app_id = str(fields.get("AppId") or "")
    if not app_id:
        raise ValueError("a RAM application needs AppId")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    record: dict[str, Any] = {**_RAM_APP_DEFAULTS, "AccountId": account_id, "CreateDate": stamp,
                              "UpdateDate": stamp, **fields, "AppId": app_id}
    if isinstance(record["RedirectUris"], list):
        record["RedirectUris"] = {"RedirectUri": list(record["RedirectUris"])}
    scopes = record["DelegatedScope"]
    if isinstance(scopes, list):
        record["DelegatedScope"] = {"PredefinedScopes": {"PredefinedScope": list(scopes)}}
    if record["AppType"] not in RAM_APP_TYPES:
        raise ValueError(f"AppType must be one of {', '.join(RAM_APP_TYPES)}")
    return record


def demo_state(now: datetime | None = None) -> EmulatorState:
    """The documented demo cloud (docs/cloud-emulator.md). ``now``: the tokens' createTime
    (default: when the emulator starts)."""
    start = truncate_ms(now) if now is not None else None
    stamp = "2026-01-01T00:00:00Z"
    return EmulatorState.model_validate({
        "accountId": DEMO_ACCOUNT_ID,
        "accessKeys": [{
            "accessKeyId": DEMO_ACCESS_KEY_ID, "accessKeySecret": DEMO_ACCESS_KEY_SECRET,
            "accountId": DEMO_ACCOUNT_ID, "arn": DEMO_USER_ARN, "userId": "200000000000000001",
        }],
        "instances": [{"instanceId": "idaas_demo", "applications": [
            {"applicationId": "app_demo", "applicationName": "demo-app"}]}],
        # Plain tokens that expire unless someone renews them (the sandbox's operator does).
        "tokens": [
            {"applicationTokenId": "token_demo", "instanceId": "idaas_demo", "applicationId": "app_demo",
             "lifetime": 3600, "createTime": start, "description": "demo token, one hour"},
            {"applicationTokenId": "token_demo_short", "instanceId": "idaas_demo", "applicationId": "app_demo",
             "lifetime": 120, "createTime": start, "description": "demo token, two minutes"},
        ],
        "ramApplications": [{
            "AppId": DEMO_RAM_APP_ID, "AppName": "demo-portal", "DisplayName": "Demo Portal",
            "AppType": "WebApp", "AccountId": DEMO_ACCOUNT_ID, "ProtocolVersion": "2.0",
            "AccessTokenValidity": 3600, "RefreshTokenValidity": 2592000,
            "SecretRequired": True, "IsMultiTenant": False,
            "CreateDate": stamp, "UpdateDate": stamp,
            "RedirectUris": {"RedirectUri": ["https://portal.example.com/oauth/callback",
                                             "http://localhost:8080/callback"]},
            "DelegatedScope": {"PredefinedScopes": {"PredefinedScope": [
                {"Name": "openid", "Required": True,
                 "Description": "Obtain the OpenID of the user. This is the default permission that you "
                                "cannot remove."},
                {"Name": "aliuid", "Required": False, "Description": "Obtain the UID of the user."},
                {"Name": "profile", "Required": False,
                 "Description": "Obtain the logon information of the user."},
            ]}},
        }],
        "roles": [{"arn": DEMO_ROLE_ARN, "roleId": "300000000000000001", "maxSessionDuration": 3600}],
        "oidcProviders": [{"arn": DEMO_OIDC_PROVIDER_ARN, "issuer": DEMO_OIDC_ISSUER,
                           "audiences": ["sts.aliyuncs.com"]}],
    })


def parse_state(document: Any) -> EmulatorState:
    if not isinstance(document, dict):
        raise ValueError("the state must be a mapping")
    return EmulatorState.model_validate(document)


def load_state(path: str | Path) -> EmulatorState:
    """Read a state file: YAML (``.yaml``/``.yml``) or JSON (JSON is YAML, so any works)."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_state(yaml.safe_load(text))
