"""What went wrong talking to Alibaba Cloud, phrased as what the caller must do.

Each class carries the Ready ``reason`` (PRODUCT.md) a resource shows when a call fails
with it, and whether retrying the same request can help. No published list of EIAM error
codes exists, so ``classify`` goes by HTTP status and code prefix (see the wire notes).
Messages come from the server or from us; they never contain secrets, and are cut short.
"""

from __future__ import annotations

from typing import ClassVar

_MAX_MESSAGE = 300

_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken", "IncompleteSignature")
_DENIED_CODES = ("Forbidden", "NoPermission")
_NOT_FOUND_MARKERS = ("NotExist", "NotFound", "EntityNotExists")


class CloudError(Exception):
    """A failed cloud call. ``str()`` is a sentence a person can act on."""

    reason: ClassVar[str] = "CloudUnavailable"
    default_retryable: ClassVar[bool] = False
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
    ) -> None:
        self.code = code
        self.message = _shorten(message)
        self.request_id = request_id
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.action = action
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.action} failed" if self.action else "the cloud call failed"
        facts = [f"Code: {self.code}"]
        if self.http_status is not None:
            facts.append(f"HTTP {self.http_status}")
        facts.append(f"RequestId: {self.request_id or 'none'}")
        text = f"{where}: {self.message.rstrip('.')} ({', '.join(facts)})."
        return f"{text} {self.advice}" if self.advice else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable!r})"
        )

    def with_action(self, action: str) -> CloudError:
        """The same error, now naming the API action it came from."""
        self.action = action
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
    """The cloud answered, but not in the documented shape: its fault, worth a retry."""

    advice = "The response did not have the documented shape; tokensync retries."


class InvalidCredentialsError(CloudError):
    reason = "InvalidCredentials"
    advice = "Check the AccessKey, RRSA or role settings of the CloudAccess in use."


class AccessDeniedError(CloudError):
    reason = "AccessDenied"
    advice = "Grant the RAM identity of the CloudAccess permission for this action and resource."


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
) -> CloudError:
    """The error a cloud answer means, by HTTP status and error-code prefix."""
    code = code or (f"HTTP{status}" if status is not None else "Unknown")
    message = message or "no message"
    cls: type[CloudError]
    if code.startswith("Throttling") or status == 429:
        cls = ThrottledError
    elif code.startswith("SignatureNonceUsed"):
        cls = CloudUnavailableError  # a nonce collision: the retry carries a fresh one
    elif code.startswith(_CREDENTIAL_CODES):
        cls = InvalidCredentialsError
    elif code.startswith(_DENIED_CODES):
        cls = AccessDeniedError
    elif any(marker in code for marker in _NOT_FOUND_MARKERS):
        cls = NotFoundError
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
    return cls(code=code, message=message, request_id=request_id, http_status=status, retry_after=retry_after)


def _shorten(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
