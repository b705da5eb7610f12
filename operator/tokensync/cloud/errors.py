"""What went wrong talking to Alibaba Cloud, phrased as what the caller must do.

Each class carries the Ready ``reason`` (PRODUCT.md) a resource shows when a call fails
with it, and whether retrying the same request can help. No published list of EIAM error
codes exists, so ``classify`` goes by HTTP status, code prefix and the
``x-acs-retry-after`` header (see the wire notes).
Messages come from the server or from us; they never contain secrets, and are cut short.
"""

from __future__ import annotations

from typing import ClassVar

_MAX_MESSAGE = 300

_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken", "IncompleteSignature")
_DENIED_CODES = ("Forbidden", "NoPermission")
_NOT_FOUND_MARKERS = ("NotExist", "NotFound")  # EIAM ResourceNotFound.*, IMS/STS EntityNotExist.*
_QUOTA_MARKERS = ("quotaexceeded", "limitexceeded", "exceedlimit", "exceedslimit")
_CLOCK_CODE = "InvalidTimeStamp.Expired"
# "...Expired" codes that are about the caller, not about the application token.
_NOT_TOKEN_EXPIRY = ("InvalidTimeStamp", "AuthenticationFail", "SecurityToken", "Signature", "AccessKey", "OIDC",
                     "STS", "Credential", "Session")


class CloudError(Exception):
    """A failed cloud call. ``str()`` is a sentence a person can act on."""

    reason: ClassVar[str] = "CloudUnavailable"
    default_retryable: ClassVar[bool] = False
    default_outcome_unknown: ClassVar[bool] = False
    advice: ClassVar[str] = ""

    def __init__(
        self,
        *,
        code: str,
        message: str,
        request_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        action: str | None = None,
        ram_action: str | None = None,
        outcome_unknown: bool | None = None,
    ) -> None:
        self.code = code
        self.message = _shorten(message)
        self.request_id = request_id
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after  # seconds (x-acs-retry-after, sent in ms, is converted)
        self.action = action
        # The RAM action of the call, e.g. "eiam:UpdateApplicationTokenExpirationTime".
        self.ram_action = ram_action
        # The request may have taken effect although no proper answer came (timeout, dropped
        # connection, 5xx, a 200 with a broken body). After a CreateApplicationToken failing so,
        # list the application's tokens before creating again.
        self.outcome_unknown = self.default_outcome_unknown if outcome_unknown is None else outcome_unknown
        super().__init__(self.__str__())

    # Whether RpcCaller may send the same request again at once (within its backoff); a
    # retryable error that this says no to is retried later by the caller's own schedule.
    retry_in_call: ClassVar[bool] = True

    def __str__(self) -> str:
        where = f"{self.action} failed" if self.action else "the cloud call failed"
        facts = [f"Code: {self.code}"]
        if self.http_status is not None:
            facts.append(f"HTTP {self.http_status}")
        facts.append(f"RequestId: {self.request_id or 'none'}")
        text = f"{where}: {self.message.rstrip('.')} ({', '.join(facts)})."
        advice = self.describe_advice()
        return f"{text} {advice}" if advice else text

    def describe_advice(self) -> str:
        """What to do (the class's advice; subclasses may word it for this very error)."""
        return self.advice

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable!r})"
        )

    def with_action(self, action: str, ram_action: str | None = None) -> CloudError:
        """The same error, now naming the API action it came from (and its RAM action)."""
        self.action = action
        if ram_action is not None:
            self.ram_action = ram_action
        self.args = (self.__str__(),)
        return self


class ThrottledError(CloudError):
    reason = "Throttled"
    default_retryable = True
    advice = "Alibaba Cloud is rate-limiting these calls; tokensync retries later."


class CloudUnavailableError(CloudError):
    reason = "CloudUnavailable"
    default_retryable = True
    advice = "The cloud endpoint did not answer properly; tokensync retries (check endpoint and network if it lasts)."


class MalformedResponseError(CloudUnavailableError):
    """The cloud answered, but not in the documented shape: its fault, worth a retry. The call
    itself may well have succeeded (``outcome_unknown``)."""

    default_outcome_unknown = True

    advice = "The response did not have the documented shape; tokensync retries."


class InvalidCredentialsError(CloudError):
    reason = "InvalidCredentials"
    advice = "Check the AccessKey, RRSA or role settings of the CloudAccess in use."


class ClockSkewError(CloudUnavailableError):
    """``InvalidTimeStamp.Expired``: the request's x-acs-date is more than 15 minutes away from
    the cloud's clock. The operator's clock is wrong; nothing in the spec is."""

    retry_in_call = False  # the clock is as wrong a second later
    advice = ("The clock of the machine running tokensync is more than 15 minutes away from Alibaba Cloud's "
              "(requests are signed with the time): fix its time sync (NTP/chrony); tokensync retries.")


class QuotaExceededError(CloudError):
    """The application holds as many tokens as it may (CreateApplicationToken refused)."""

    reason = "CloudUnavailable"
    default_retryable = True
    retry_in_call = False  # only deleting a token frees a slot
    quota_exceeded: ClassVar[bool] = True
    advice = "The application has reached its token limit; tokensync retires tokens it replaced and retries."


class TokenExpiredError(CloudError):
    """The cloud refused to read an application token because it has expired."""

    reason = "TokenExpired"
    advice = ("The application token has expired: extend it (UpdateApplicationTokenExpirationTime, or renewal "
              "strategy Extend) or create a new one in IDaaS.")


class ServiceNotInRegionError(CloudError):
    """No endpoint for the service in the access's region (EIAM is in a few regions only)."""

    reason = "InvalidSpec"


class AccessDeniedError(CloudError):
    reason = "AccessDenied"
    advice = "Grant the RAM identity of the CloudAccess permission for this action and resource."

    def describe_advice(self) -> str:
        if self.ram_action:
            return f"Grant the RAM identity of the CloudAccess the permission {self.ram_action} on this resource."
        return self.advice


class NotFoundError(CloudError):
    reason = "NotFound"
    advice = "Check the IDs in the resource's spec and the region of its CloudAccess."


class BadRequestError(CloudError):
    reason = "InvalidSpec"
    advice = "Correct the parameters in the resource's spec."


def classify(
    status: int | None,
    code: str | None,
    message: str | None,
    request_id: str | None,
    retry_after: float | None = None,
    *,
    throttled: bool = False,
) -> CloudError:
    """The error a cloud answer means, by HTTP status and error-code prefix.

    ``throttled``: the answer carried ``x-acs-retry-after``, which the gateway sends only with
    throttling (as the official SDKs treat it).
    """
    code = code or (f"HTTP{status}" if status is not None else "Unknown")
    message = message or "no message"
    cls: type[CloudError]
    parts = code.split(".")
    folded = code.lower()
    if throttled or status == 429 or code.startswith("Throttling") or "Throttling" in parts:
        cls = ThrottledError  # Throttling, Throttling.User/.Api, Rejected.Throttling
    elif code == _CLOCK_CODE:
        cls = ClockSkewError
    elif code.startswith("SignatureNonceUsed"):
        cls = CloudUnavailableError  # a nonce collision: the retry carries a fresh one
    elif code.startswith(_CREDENTIAL_CODES):
        cls = InvalidCredentialsError
    elif any(marker in folded for marker in _QUOTA_MARKERS):
        cls = QuotaExceededError
    elif code.startswith(_DENIED_CODES):
        cls = AccessDeniedError
    elif any(marker in code for marker in _NOT_FOUND_MARKERS):
        cls = NotFoundError
    elif (parts[-1] == "Expired" or parts[0].endswith("Expired")) and not any(m in code for m in _NOT_TOKEN_EXPIRY):
        cls = TokenExpiredError  # e.g. ResourceExpired.ApplicationToken, ApplicationToken.Expired
    elif status is None or status >= 500 or code in ("InternalError", "ServiceUnavailable"):
        cls = CloudUnavailableError
    elif status == 403:
        cls = AccessDeniedError
    elif status == 404:
        cls = NotFoundError
    elif 400 <= status < 500:
        cls = BadRequestError
    else:
        cls = CloudUnavailableError
    return cls(code=code, message=message, request_id=request_id, http_status=status, retry_after=retry_after,
               outcome_unknown=cls is not ThrottledError and (status is None or status >= 500))


def _shorten(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
