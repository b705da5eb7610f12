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


DEFAULT_RETIRE_AFTER = "10m"
CREATED_TOKEN_LIFETIME = "8760h"  # CreateApplicationToken's own default: one year


class RenewalSpec(SpecModel):
    """What happens when the token is due for renewal (refresh decides when)."""

    strategy: Literal["Extend", "Rotate", "None"] = Field(
        default="Extend",
        description="Extend (default): UpdateApplicationTokenExpirationTime moves the expiry to now + lifetime, "
        "same value. Rotate: CreateApplicationToken makes a new token, its value goes into the Secret, the "
        "rolloutRestartTargets restart, and the replaced token is retired after retireAfter. None: read only.",
    )
    lifetime: Duration | None = Field(
        default=None,
        description="Each renewal sets the expiry to now + lifetime, e.g. 2160h (90 days). Default: the token's "
        f"own lifetime (expirationTime - createTime), {CREATED_TOKEN_LIFETIME} for a token tokensync creates.",
    )
    retire: Literal["Delete", "Disable", "Keep"] = Field(
        default="Delete",
        description="Rotate only: what happens to the replaced token after retireAfter: Delete (disabled, then "
        "deleted), Disable, or Keep (left to expire).",
    )
    retire_after: Duration = Field(
        default=DEFAULT_RETIRE_AFTER,
        description="Rotate only: grace after the new value is in the Secret and every rolloutRestartTarget was "
        "restarted, before the replaced token is retired (default 10m).",
    )

    @field_validator("lifetime")
    @classmethod
    def _positive_lifetime(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError("renewal.lifetime must be longer than 0, e.g. 2160h")
        return value

    def lifetime_timedelta(self) -> timedelta | None:
        return parse_duration(self.lifetime) if self.lifetime is not None else None

    def retire_after_timedelta(self) -> timedelta:
        return parse_duration(self.retire_after)


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
    application_token_id: str | None = Field(
        default=None,
        pattern=r"^token_[a-z0-9_]+$",
        max_length=64,
        description="Application token ID, e.g. token_sfrwer2x5q. Required, except with renewal.strategy Rotate "
        "(without it tokensync creates the first token).",
    )
    cloud_access_ref: CloudAccessRef | None = Field(default=None, description=CLOUD_ACCESS_REF_DESCRIPTION)
    secret: SecretTargetSpec = Field(
        default_factory=SecretTargetSpec,
        description="The Secret the token is written to (keys token, tokenType, expiresAt unless template is set).",
    )
    refresh: RefreshSpec = Field(
        default_factory=RefreshSpec, description="When the token is read again (default: at 33% remaining lifetime)."
    )
    renewal: RenewalSpec = Field(
        default_factory=RenewalSpec,
        description="How the token is kept from expiring (default: Extend, by the token's own lifetime).",
    )
    rollout_restart_targets: list[RolloutRestartTarget] = Field(
        default_factory=list, description="Workloads restarted when the token value changes."
    )

    model_config = SpecModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [{
                "rule": "has(self.applicationTokenId) || (has(self.renewal) && has(self.renewal.strategy) "
                        "&& self.renewal.strategy == 'Rotate')",
                "message": "applicationTokenId is required unless renewal.strategy is Rotate",
            }],
        }
    }

    @model_validator(mode="after")
    def _token_id_unless_rotate(self) -> ApplicationTokenSpec:
        if self.application_token_id is None and self.renewal.strategy != "Rotate":
            raise ValueError("applicationTokenId is required unless renewal.strategy is Rotate "
                             "(then tokensync creates the first token)")
        return self


class RetiringToken(StatusModel):
    """A token this resource replaced by rotation, still to be retired."""

    application_token_id: str = Field(description="The replaced token.")
    retire_at: Timestamp | None = Field(
        default=None,
        description="When it is retired (disabled, then deleted with retire Delete); unset while rollout restarts "
        "for the new value are still owed.",
    )
    failed_attempts: int | None = Field(
        default=None, ge=0, description="Retirements the cloud refused so far (retried with backoff)."
    )


class RetiredToken(StatusModel):
    """A replaced token retired without deleting it."""

    application_token_id: str = Field(description="The token.")
    how: Literal["disabled", "kept"] = Field(description="disabled, or kept enabled (retire Keep).")


class PendingRotation(StatusModel):
    """A CreateApplicationToken in flight, recorded before the call."""

    started_at: Timestamp = Field(description="When the create was sent (operator clock).")
    expiration_time: int = Field(
        ge=0, description="The exact ExpirationTime (Unix ms) sent: identifies the created token in a listing."
    )
    replaces: str | None = Field(default=None, description="The token it replaces, if any.")


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
    application_token_id: str | None = Field(
        default=None,
        description="The token whose value the Secret holds now (differs from spec.applicationTokenId after a "
        "rotation).",
    )
    last_renewal_time: Timestamp | None = Field(default=None, description="The last successful Extend or Rotate.")
    retiring_tokens: list[RetiringToken] | None = Field(
        default=None, description="Rotate: replaced tokens not yet retired."
    )
    failed_attempts: int = Field(
        default=0, ge=0, description="Consecutive failures (reads or renewals; 0 after a success)."
    )
    pending_rollout_restarts: list[RolloutRestartTarget] | None = Field(
        default=None,
        description="Workloads not yet restarted for the last token change (a failed restart is retried every "
        "30s); empty once every target was restarted.",
    )
    last_force_sync: str | None = Field(
        default=None,
        description="Internal: the last value of the tokensync.dev/force-sync annotation that was handled.",
    )
    spec_application_token_id: str | None = Field(
        default=None,
        description="Internal: spec.applicationTokenId when applicationTokenId was last chosen (an edit of the spec "
        "points tokensync at another token; a rotation does not change it).",
    )
    renewal_lifetime: Duration | None = Field(
        default=None,
        description="Internal: the lifetime renewals use when spec.renewal.lifetime is not set (the token's own, "
        "as first read; extensions must not make it grow).",
    )
    pending_rotation: PendingRotation | None = Field(
        default=None,
        description="Internal: a CreateApplicationToken that may have happened without its answer being recorded "
        "(the operator stopped, or the call timed out); the next sync finds it with ListApplicationTokens.",
    )
    unsettled_creates: list[PendingRotation] | None = Field(
        default=None,
        description="Internal: creates that got no answer and were given up on; a token of theirs that shows up "
        "later is deleted.",
    )
    retired_tokens: list[RetiredToken] | None = Field(
        default=None,
        description="Internal: the last tokens retired by Disable or Keep (the token limit still counts them).",
    )
    token_hash: str | None = Field(
        default=None,
        description="Internal: the first 128 bits (hex) of SHA-256 over this resource's uid and the last token "
        "value written, to detect rotation without storing the token. Salted by the uid, so equal tokens in "
        "two resources do not show as equal; the token cannot be recovered from it.",
    )
