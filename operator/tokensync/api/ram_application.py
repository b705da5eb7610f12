"""RamApplication: a RAM OAuth application's configuration mirrored into status and a ConfigMap."""

from __future__ import annotations

from pydantic import Field

from tokensync.api.common import (
    CLOUD_ACCESS_REF_DESCRIPTION,
    CONDITIONS_LIST_EXTRA,
    CloudAccessRef,
    Condition,
    DnsSubdomain,
    Duration,
    SpecModel,
    StatusModel,
    Timestamp,
)

DEFAULT_REFRESH_INTERVAL = "1h"


class ConfigMapTargetSpec(SpecModel):
    """The ConfigMap the application's configuration is written to."""

    name: DnsSubdomain | None = Field(default=None, description="Name of the ConfigMap. Default: metadata.name.")


class ExpectSpec(SpecModel):
    """Values the application should have; any difference sets condition InSync to False (reason Drifted)."""

    redirect_uris: list[str] | None = Field(default=None, description="Expected redirect URIs (order ignored).")
    access_token_validity: int | None = Field(
        default=None, ge=0, description="Expected access token validity, seconds."
    )
    refresh_token_validity: int | None = Field(
        default=None, ge=0, description="Expected refresh token validity, seconds."
    )
    app_type: str | None = Field(default=None, description="Expected application type: WebApp, NativeApp or ServerApp.")
    display_name: str | None = Field(default=None, description="Expected display name.")
    secret_required: bool | None = Field(default=None, description="Whether an application secret is expected.")
    is_multi_tenant: bool | None = Field(
        default=None, description="Whether the application is expected to be installable by other accounts."
    )
    protocol_version: str | None = Field(default=None, description="Expected OAuth protocol version, e.g. 2.0.")
    scopes: list[str] | None = Field(
        default=None, description="Expected names of the predefined scopes, e.g. [openid, aliuid] (order ignored)."
    )


class RamApplicationSpec(SpecModel):
    """Which RAM OAuth application to mirror, where, and what to expect of it."""

    app_id: str = Field(
        pattern=r"^[0-9]+[x*]*$",
        max_length=32,
        description='The RAM application\'s AppId (digits, e.g. "4724570903440410000"; quote it in YAML).',
    )
    cloud_access_ref: CloudAccessRef | None = Field(default=None, description=CLOUD_ACCESS_REF_DESCRIPTION)
    config_map: ConfigMapTargetSpec = Field(
        default_factory=ConfigMapTargetSpec, description="The ConfigMap the configuration is written to."
    )
    refresh_interval: Duration = Field(
        default=DEFAULT_REFRESH_INTERVAL, description="How often the application is read again, e.g. 1h or 30m."
    )
    expect: ExpectSpec | None = Field(
        default=None, description="Optional drift check: values the application should have (condition InSync)."
    )


class PredefinedScope(StatusModel):
    """A permission scope of the application."""

    name: str | None = Field(default=None, description="Name of the scope, e.g. openid.")
    description: str | None = Field(default=None, description="What the scope grants.")
    required: bool | None = Field(default=None, description="Whether the scope is required on installation.")


class ApplicationInfo(StatusModel):
    """The application as GetApplication returned it, in lowerCamelCase."""

    app_id: str | None = Field(default=None, description="The application ID.")
    app_name: str | None = Field(default=None, description="The application name.")
    display_name: str | None = Field(default=None, description="The display name.")
    app_type: str | None = Field(default=None, description="The application type: WebApp, NativeApp or ServerApp.")
    account_id: str | None = Field(default=None, description="The Alibaba Cloud account that owns the application.")
    access_token_validity: int | None = Field(default=None, description="Access token validity, seconds.")
    refresh_token_validity: int | None = Field(default=None, description="Refresh token validity, seconds.")
    secret_required: bool | None = Field(default=None, description="Whether an application secret is required.")
    is_multi_tenant: bool | None = Field(
        default=None, description="Whether other Alibaba Cloud accounts can install the application."
    )
    protocol_version: str | None = Field(default=None, description="The OAuth protocol version.")
    redirect_uris: list[str] = Field(default_factory=list, description="The redirect URIs.")
    predefined_scopes: list[PredefinedScope] = Field(default_factory=list, description="The permission scopes.")
    create_date: str | None = Field(default=None, description="When the application was created (as the API says).")
    update_date: str | None = Field(default=None, description="When the application was last updated.")


class RamApplicationStatus(StatusModel):
    """What the operator last observed."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation the operator last acted on."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the ConfigMap mirrors the application; InSync (only with spec.expect): it matches.",
        json_schema_extra=CONDITIONS_LIST_EXTRA,
    )
    last_sync_time: Timestamp | None = Field(default=None, description="When the application was last read.")
    next_refresh_time: Timestamp | None = Field(default=None, description="When the next read is planned.")
    failed_attempts: int = Field(default=0, ge=0, description="Consecutive failed reads (0 after a success).")
    last_force_sync: str | None = Field(
        default=None,
        description="Internal: the last value of the tokensync.dev/force-sync annotation that was handled.",
    )
    application: ApplicationInfo | None = Field(default=None, description="The application's configuration.")
