"""ApplicationToken: an IDaaS EIAM application token kept fresh in a Secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

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
    parse_duration,
)

DEFAULT_RENEW_BEFORE_PERCENTAGE = 33
DEFAULT_RECHECK_INTERVAL = "1h"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

SecretKey = Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]


class SecretTargetSpec(SpecModel):
    """The Secret the token is written to."""

    name: DnsSubdomain | None = Field(default=None, description="Name of the Secret. Default: metadata.name.")
    type: str = Field(
        default="Opaque",
        min_length=1,
        max_length=253,
        description="Type of the Secret when tokensync creates it (default Opaque). Not "
        "kubernetes.io/service-account-token: Kubernetes would fill such a Secret with a ServiceAccount's token.",
        json_schema_extra={"x-kubernetes-validations": [{
            "rule": "self != 'kubernetes.io/service-account-token'",
            "message": "tokensync does not create ServiceAccount token Secrets",
        }]},
    )

    @field_validator("type")
    @classmethod
    def _not_a_service_account_token(cls, value: str) -> str:
        if value == "kubernetes.io/service-account-token":
            raise ValueError("tokensync does not create ServiceAccount token Secrets")
        return value
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels put on the Secret.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra annotations put on the Secret.")
    template: dict[SecretKey, str] = Field(
        default_factory=dict,
        max_length=64,
        description="Secret key -> Jinja template text. When set, the Secret holds exactly these keys instead of "
        "token, tokenType and expiresAt. A template sees token, tokenType, expiresAt, expirationTime (ms), "
        "applicationTokenId, applicationId and instanceId, e.g. {Authorization: 'Bearer {{ token }}'}.",
    )
    creation_policy: Literal["Owner", "Merge", "Orphan"] = Field(
        default="Owner",
        description="Owner: tokensync creates and owns the Secret (deleted with this resource when deletionPolicy "
        "is Delete). Merge: tokensync only writes its keys into an existing Secret. Orphan: tokensync creates the "
        "Secret without an owner reference.",
    )
    deletion_policy: Literal["Delete", "Retain"] = Field(
        default="Delete",
        description="What happens to the Secret when this resource is deleted: Delete (only with creationPolicy "
        "Owner) or Retain.",
    )


class RefreshSpec(SpecModel):
    """When the token is read again."""

    model_config = SpecModel.model_config | {
        "json_schema_extra": {
            "not": {"required": ["renewBefore", "renewBeforePercentage"]},
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.renewBefore) && has(self.renewBeforePercentage))",
                    "message": "set renewBefore or renewBeforePercentage, not both",
                }
            ],
        }
    }

    renew_before: Duration | None = Field(
        default=None,
        description="Read the token again this long before its expirationTime, e.g. 10m or 1h30m "
        "(units h, m, s, ms, us, ns). Exclusive with renewBeforePercentage.",
    )
    renew_before_percentage: int | None = Field(
        default=None,
        ge=1,
        le=99,
        description="Read the token again when this percentage of its lifetime (expirationTime - createTime) "
        f"remains. Default {DEFAULT_RENEW_BEFORE_PERCENTAGE} when renewBefore is not set. Exclusive with "
        "renewBefore.",
    )
    recheck_interval: Duration = Field(
        default=DEFAULT_RECHECK_INTERVAL,
        description="Longest time between two reads of the token, even far from expiry, so a rotated or disabled "
        "token is noticed (default 1h).",
    )

    @model_validator(mode="after")
    def _renew_before_xor_percentage(self) -> RefreshSpec:
        if self.renew_before is not None and self.renew_before_percentage is not None:
            raise ValueError("renewBefore and renewBeforePercentage are exclusive: set one of them, not both")
        return self

    def renew_before_timedelta(self) -> timedelta | None:
        """renewBefore as a timedelta, or None when the percentage rule applies."""
        return parse_duration(self.renew_before) if self.renew_before is not None else None

    def effective_renew_before_percentage(self) -> int | None:
        """The percentage in force: the set one, the default 33 without renewBefore, None with renewBefore."""
        if self.renew_before is not None:
            return None
        return self.renew_before_percentage or DEFAULT_RENEW_BEFORE_PERCENTAGE

    def recheck_interval_timedelta(self) -> timedelta:
        return parse_duration(self.recheck_interval)


class RolloutRestartTarget(SpecModel):
    """A workload in the same namespace restarted (like `kubectl rollout restart`) when the token value changes."""

    kind: Literal["Deployment", "StatefulSet", "DaemonSet"] = Field(description="Deployment, StatefulSet or DaemonSet.")
    name: DnsSubdomain = Field(description="Name of the workload, in the same namespace.")


class ApplicationTokenSpec(SpecModel):
    """Which IDaaS application token to keep in which Secret, and how to refresh it."""

    instance_id: str = Field(
        pattern=r"^idaas_[a-z0-9]+$",
        max_length=64,
        description="IDaaS EIAM instance ID, e.g. idaas_ue2jvisn35ea5lmthk267.",
    )
    application_id: str = Field(
        pattern=r"^app_[a-z0-9]+$",
        max_length=64,
        description="Application ID in the instance, e.g. app_mkv7rgt4d7i4u7zq.",
    )
    application_token_id: str = Field(
        pattern=r"^token_[a-z0-9_]+$", max_length=64, description="Application token ID, e.g. token_sfrwer2x5q."
    )
    cloud_access_ref: CloudAccessRef | None = Field(default=None, description=CLOUD_ACCESS_REF_DESCRIPTION)
    secret: SecretTargetSpec = Field(
        default_factory=SecretTargetSpec,
        description="The Secret the token is written to (keys token, tokenType, expiresAt unless template is set).",
    )
    refresh: RefreshSpec = Field(
        default_factory=RefreshSpec, description="When the token is read again (default: at 33% remaining lifetime)."
    )
    rollout_restart_targets: list[RolloutRestartTarget] = Field(
        default_factory=list, description="Workloads restarted when the token value changes."
    )


class ApplicationTokenStatus(StatusModel):
    """What the operator last observed. The token value itself never appears here."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation the operator last acted on."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the Secret holds a valid, current token (reason Synced), or why not.",
        json_schema_extra=CONDITIONS_LIST_EXTRA,
    )
    secret_name: str | None = Field(default=None, description="Name of the Secret holding the token.")
    token_type: str | None = Field(default=None, description="The token's type from IDaaS, e.g. bearer_token.")
    token_status: str | None = Field(default=None, description="The token's status in IDaaS: enabled or disabled.")
    create_time: Timestamp | None = Field(default=None, description="When the token was created in IDaaS.")
    expiration_time: Timestamp | None = Field(default=None, description="When the token expires.")
    last_used_time: Timestamp | None = Field(default=None, description="When the token was last used, per IDaaS.")
    last_sync_time: Timestamp | None = Field(default=None, description="When the token was last read successfully.")
    next_refresh_time: Timestamp | None = Field(default=None, description="When the next read is planned.")
    last_rotation_time: Timestamp | None = Field(
        default=None, description="When the token value written to the Secret last changed."
    )
    failed_attempts: int = Field(default=0, ge=0, description="Consecutive failed reads (0 after a success).")
    pending_rollout_restarts: list[RolloutRestartTarget] | None = Field(
        default=None,
        description="Workloads not yet restarted for the last token change (a failed restart is retried every "
        "30s); empty once every target was restarted.",
    )
    last_force_sync: str | None = Field(
        default=None,
        description="Internal: the last value of the tokensync.dev/force-sync annotation that was handled.",
    )
    token_hash: str | None = Field(
        default=None,
        description="Internal: the first 128 bits (hex) of SHA-256 over this resource's uid and the last token "
        "value written, to detect rotation without storing the token. Salted by the uid, so equal tokens in "
        "two resources do not show as equal; the token cannot be recovered from it.",
    )
