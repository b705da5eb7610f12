"""What renewal an ApplicationToken is due: pure checks over (spec, status, cloud answer, clock).

``refresh_plan`` decides *when* to look at a token; this module decides *what* happens then
(``spec.renewal``): nothing (``None``), ``Extend`` (same token, later expiry) or ``Rotate`` (a new
token, the replaced one retired later). No I/O and no clock reads: ``token_renewal`` does the
calls, the controller writes what these functions return.

Each check is small and returns a value the controller acts on, in the spirit of cert-manager's
certificate policies: which token is current, whether a renewal is due, whether another resource
already rotates the same token, which replaced tokens are due for retirement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tokensync.api.application_token import CREATED_TOKEN_LIFETIME, ApplicationTokenSpec
from tokensync.api.common import parse_duration
from tokensync.controllers.status_report import parse_rfc3339, rfc3339

Strategy = Literal["Extend", "Rotate", "None"]

# RAM actions each strategy needs, named in errors and in docs/ram-policies.md.
RAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "None": ("eiam:ObtainApplicationToken",),
    "Extend": ("eiam:ObtainApplicationToken", "eiam:UpdateApplicationTokenExpirationTime"),
    "Rotate": ("eiam:ObtainApplicationToken", "eiam:CreateApplicationToken", "eiam:ListApplicationTokens",
               "eiam:DisableApplicationToken", "eiam:DeleteApplicationToken"),
}
# A created token is found in a listing by the exact ExpirationTime tokensync sent; its
# CreateTime must also fall in this window around the recorded start (clock skew, slow calls).
CREATE_WINDOW = timedelta(minutes=15)
# A create that got no answer may still be carried out (a gateway holding it past the client's
# timeout): wait this long for its token to be listed before sending another.
CREATE_SETTLE = timedelta(minutes=2)
# ...and keep looking for its token this long, retiring it if it shows up after another was made.
UNSETTLED_FOR = timedelta(minutes=10)
# Tokens retired by Disable or Keep are remembered (the newest this many) so that the
# application's token limit can be met by deleting them.
RETIRED_MEMORY = 20


@dataclass(frozen=True)
class RenewalSettings:
    strategy: Strategy
    lifetime: timedelta | None  # spec.renewal.lifetime; None: the token's own
    retire: Literal["Delete", "Disable", "Keep"]
    retire_after: timedelta

    @classmethod
    def from_spec(cls, spec: ApplicationTokenSpec) -> RenewalSettings:
        renewal = spec.renewal
        return cls(strategy=renewal.strategy, lifetime=renewal.lifetime_timedelta(), retire=renewal.retire,
                   retire_after=renewal.retire_after_timedelta())


def current_token_id(spec_token_id: str | None, status: Mapping[str, Any]) -> str | None:
    """The token whose value the Secret should hold: the spec's, unless a rotation replaced it.

    An edit of spec.applicationTokenId always wins (the user pointed at another token); a rotation
    leaves the spec as it is and records the new ID in status. None: Rotate must create the first.
    """
    recorded = status.get("applicationTokenId")
    if spec_token_id is not None and spec_token_id != status.get("specApplicationTokenId"):
        return spec_token_id
    return str(recorded) if recorded else spec_token_id


def replaced_by_spec_edit(spec_token_id: str | None, status: Mapping[str, Any]) -> str | None:
    """A token tokensync created that a spec edit left behind (to be retired), or None.

    Only a token tokensync made by rotating is retired this way: one the user named is theirs.
    """
    recorded = status.get("applicationTokenId")
    named = status.get("specApplicationTokenId")
    if not recorded or spec_token_id is None or spec_token_id == named or recorded == spec_token_id:
        return None
    return str(recorded) if recorded != named else None


def renewal_lifetime(
    settings: RenewalSettings, status: Mapping[str, Any], *, expiration_time: datetime | None,
    create_time: datetime | None, spec_token_id: str | None = None,
) -> timedelta:
    """How long each renewal makes the token valid: spec, else the lifetime recorded at the first
    read (extensions make ExpirationTime - CreateTime grow; it must not), else the token's own,
    else CreateApplicationToken's default (a year)."""
    if settings.lifetime is not None:
        return settings.lifetime
    recorded = status.get("renewalLifetime")
    if status.get("specApplicationTokenId") != spec_token_id:
        recorded = None  # measured on another token: the spec now names a different one
    if isinstance(recorded, str):
        try:
            value = parse_duration(recorded)
        except ValueError:
            value = timedelta(0)
        if value > timedelta(0):
            return value
    if expiration_time is not None and create_time is not None and expiration_time > create_time:
        return expiration_time - create_time
    return parse_duration(CREATED_TOKEN_LIFETIME)


def duration_text(delta: timedelta) -> str:
    """A Go duration Kubernetes tools accept (whole seconds; the API speaks milliseconds)."""
    seconds = max(int(delta.total_seconds()), 1)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


# A renewal must leave the token valid for a while before the next one is due: at least this share
# of its lifetime, and at least MIN_RENEWAL_GAP (or every read would renew it again).
MIN_RENEWAL_GAP_SHARE = 0.10
MIN_RENEWAL_GAP = timedelta(seconds=10)


def margin_problem(*, lifetime: timedelta, margin: timedelta) -> str | None:
    """A renewal whose margin leaves almost none of the lifetime it sets would be due again at once."""
    gap = lifetime - margin
    if gap >= max(lifetime * MIN_RENEWAL_GAP_SHARE, MIN_RENEWAL_GAP):
        return None
    return (f"the renewal margin ({duration_text(margin)} before expiry) leaves too little of the renewal lifetime "
            f"({duration_text(lifetime)}) between two renewals: at least a tenth of it, and 10s, must remain. "
            "Shorten refresh.renewBefore (or renewBeforePercentage), or set a longer renewal.lifetime")


@dataclass(frozen=True)
class RenewalDue:
    action: Literal["extend", "rotate"]
    why: str


def renewal_due(
    *,
    strategy: Strategy,
    token_status: str,
    expired: bool,
    renew_from: datetime | None,
    now: datetime,
) -> RenewalDue | None:
    """Whether this read must renew the token, and how.

    A disabled token is not renewed: a person disabled it, and tokensync does not override that
    (Ready turns False with TokenDisabled). An expired one is: renewing it is the way back.
    """
    if strategy == "None" or token_status.lower() == "disabled":
        return None
    if expired:
        why = "the token has expired"
    elif renew_from is not None and now >= renew_from:
        why = "the renewal moment has come"
    else:
        return None
    return RenewalDue("extend" if strategy == "Extend" else "rotate", why)


# ---- Rotate: who may rotate a token ---------------------------------------------------------


@dataclass(frozen=True)
class TokenClaim:
    """One resource's hold on a cloud token."""

    namespace: str
    name: str
    created: str  # metadata.creationTimestamp (RFC 3339 sorts as text)
    uid: str
    token: tuple[str, str, str]  # (instanceId, applicationId, applicationTokenId)
    rotates: bool
    # Backed by a sync: the token its status says it holds. A resource that merely names a token
    # another already holds never takes it over, however old the resource is.
    established: bool = False

    @property
    def label(self) -> str:
        return f"ApplicationToken {self.namespace}/{self.name}"


def claims_of(body: Mapping[str, Any]) -> list[TokenClaim]:
    """The tokens a resource holds (its spec's and its current one), read leniently from its body."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    instance, application = spec.get("instanceId"), spec.get("applicationId")
    if not isinstance(instance, str) or not isinstance(application, str):
        return []
    rotates = (spec.get("renewal") or {}).get("strategy") == "Rotate"
    spec_id = spec.get("applicationTokenId") if isinstance(spec.get("applicationTokenId"), str) else None
    ids = {i for i in (spec_id, current_token_id(spec_id, status)) if i}
    synced = {status.get("applicationTokenId")} if status.get("lastSyncTime") else set()
    return [TokenClaim(str(meta.get("namespace") or ""), str(meta.get("name")),
                       str(meta.get("creationTimestamp") or ""), str(meta.get("uid") or ""),
                       (instance, application, token_id), rotates, token_id in synced) for token_id in sorted(ids)]


def rotation_conflict(mine: Sequence[TokenClaim], others: Iterable[TokenClaim]) -> str | None:
    """Two resources on one cloud token fight if either rotates it (the rotating one retires the
    token the other reads, or both create replacements). The resource that already holds the token
    (its last sync read it) keeps it, else the older one; the other is refused with a message
    naming the holder when it is in the same namespace. Extend/None on one token do not fight."""
    held = {claim.token: claim for claim in mine}
    for other in others:
        claim = held.get(other.token)
        if claim is None or other.uid == claim.uid or not (claim.rotates or other.rotates):
            continue
        if (not other.established, other.created, other.uid) < (not claim.established, claim.created, claim.uid):
            # Another namespace's resources are not this namespace's to see: not named.
            holder = other.label if other.namespace == claim.namespace else "an ApplicationToken in another namespace"
            return (f"application token {other.token[2]} is already used by {holder}, and "
                    f"{'this resource' if claim.rotates else 'that one'} rotates it: two resources would fight over "
                    "one token. Point this resource at another token, or leave out applicationTokenId with "
                    "renewal.strategy Rotate so that tokensync creates one for it")
    return None


# ---- Rotate: finding a token whose create answer was lost ------------------------------------


def tagged_expiration(now: datetime, lifetime: timedelta, uid: str) -> int:
    """The ExpirationTime (Unix ms) a rotation asks for: now + lifetime with its milliseconds set
    from the resource's uid and the second, so that a listing can tell this create's token from
    another resource's created in the same second. Always in the future by at least the lifetime."""
    base = int((now + lifetime).timestamp()) * 1000
    tag = int.from_bytes(hashlib.sha256(f"{uid}\0{base}".encode()).digest()[:4], "big") % 1000
    return base + 1000 + tag


@dataclass(frozen=True)
class Listed:
    """What a listing says of one token (the client's ListedApplicationToken, reduced)."""

    token_id: str
    expiration_ms: int | None
    create_time: datetime | None


def find_created(listed: Iterable[Listed], pending: Mapping[str, Any], known_ids: set[str]) -> str | None:
    """The token a recorded create made, if the listing holds it: the exact ExpirationTime sent,
    created in the window around the recorded start, and not a token any resource already knows.

    Whether the cloud keeps the milliseconds it is sent is not documented: if no token carries
    the exact time, a single unknown one whose time is that second rounded is taken (two rotations
    of one application in one second, both with lost answers, are then told apart by nothing)."""
    try:
        wanted = int(pending["expirationTime"])
    except (KeyError, TypeError, ValueError):
        return None
    started = parse_rfc3339(pending.get("startedAt"))
    candidates = [
        token for token in listed
        if token.token_id not in known_ids and token.expiration_ms is not None
        and abs(token.expiration_ms - wanted) < 1000
        and not (started is not None and token.create_time is not None
                 and abs(token.create_time - started) > CREATE_WINDOW)
    ]
    exact = [token for token in candidates if token.expiration_ms == wanted]
    if exact:
        return exact[0].token_id
    rounded = [token for token in candidates if token.expiration_ms is not None and token.expiration_ms % 1000 == 0]
    return rounded[0].token_id if len(rounded) == 1 else None


def create_outlived(pending: Mapping[str, Any], cloud_now: datetime) -> bool:
    """The token a recorded create asked for has expired by ``cloud_now`` (a lost answer found late)."""
    try:
        return int(pending["expirationTime"]) <= cloud_now.timestamp() * 1000
    except (KeyError, TypeError, ValueError):
        return False


def unsettled_from_status(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Creates whose answer was lost and that were given up on: their token may still appear."""
    return [c for c in status.get("unsettledCreates") or [] if isinstance(c, dict) and "expirationTime" in c]


def still_unsettled(create: Mapping[str, Any], now: datetime) -> bool:
    """A create that got no answer is watched for this long: no gateway holds a request longer."""
    started = parse_rfc3339(create.get("startedAt"))
    return started is not None and now - started < UNSETTLED_FOR


def settle_time(*, now: datetime, expiration_time: datetime | None) -> timedelta:
    """How long a create that got no answer is given to show up in a listing before another is
    sent: CREATE_SETTLE, but at most a quarter of the time the current token has left."""
    if expiration_time is None:
        return CREATE_SETTLE
    return max(min(CREATE_SETTLE, (expiration_time - now) / 4), timedelta(0))


# ---- Rotate: retiring what was replaced -----------------------------------------------------


@dataclass(frozen=True)
class Retiring:
    token_id: str
    retire_at: datetime | None  # None: rollout restarts still owed
    attempts: int = 0  # retirements the cloud refused so far

    def as_status(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"applicationTokenId": self.token_id}
        if self.retire_at is not None:
            entry["retireAt"] = rfc3339(self.retire_at)
        if self.attempts:
            entry["failedAttempts"] = self.attempts
        return entry


def retiring_from_status(status: Mapping[str, Any]) -> list[Retiring]:
    entries = []
    for item in status.get("retiringTokens") or []:
        if isinstance(item, dict) and isinstance(item.get("applicationTokenId"), str):
            attempts = item.get("failedAttempts")
            entries.append(Retiring(item["applicationTokenId"], parse_rfc3339(item.get("retireAt")),
                                    attempts if isinstance(attempts, int) and attempts > 0 else 0))
    return entries


def retiring_as_status(entries: Iterable[Retiring]) -> list[dict[str, Any]] | None:
    return [entry.as_status() for entry in entries] or None


def add_retiring(entries: Sequence[Retiring], token_id: str | None, *, current: str | None) -> list[Retiring]:
    """Record a replaced token (once; never the current one)."""
    if not token_id or token_id == current or any(e.token_id == token_id for e in entries):
        return list(entries)
    return [*entries, Retiring(token_id, None)]


def schedule_retirements(entries: Sequence[Retiring], *, restarts_owed: bool, now: datetime,
                         retire_after: timedelta) -> list[Retiring]:
    """Once the Secret holds the new value and every rollout restart was made, the grace starts."""
    if restarts_owed:
        return list(entries)
    return [e if e.retire_at is not None else Retiring(e.token_id, _whole_seconds(now + retire_after))
            for e in entries]


def without_held(entries: Sequence[Retiring], held: set[str]) -> list[Retiring]:
    """Never retire a token some resource holds now (its own current one after a spec edit back,
    or one another resource, in any namespace, has come to use)."""
    return [entry for entry in entries if entry.token_id not in held]


# The least time the retirements before a create get, all at once: one cloud attempt's timeout.
RETIRE_BUDGET_LEAST = timedelta(seconds=10)
RETIRE_RETRY = timedelta(minutes=1)  # a refused retirement is tried again after this, doubling
RETIRE_RETRY_MOST = timedelta(minutes=30)


def retry_retirement(entry: Retiring, now: datetime, *, first: timedelta, most: timedelta) -> Retiring:
    """A retirement the cloud refused: try again after ``first``, doubling with each refusal up to
    ``most`` (a refused permission is not fixed by asking every second)."""
    wait = min(first * 2 ** min(entry.attempts, 20), most)
    return Retiring(entry.token_id, _whole_seconds(now + wait), entry.attempts + 1)


def retirements_due(entries: Sequence[Retiring], now: datetime) -> list[Retiring]:
    return [e for e in entries if e.retire_at is not None and e.retire_at <= now]


def remember_retired(retired: Sequence[Mapping[str, Any]], token_id: str, how: str) -> list[dict[str, Any]]:
    """Record a token retired by Disable or Keep (still counted by the token limit)."""
    if how not in ("disabled", "kept"):
        return [dict(r) for r in retired]
    kept = [dict(r) for r in retired if r.get("applicationTokenId") != token_id]
    return [*kept, {"applicationTokenId": token_id, "how": how}][-RETIRED_MEMORY:]


def next_retirement(entries: Sequence[Retiring]) -> datetime | None:
    moments = [e.retire_at for e in entries if e.retire_at is not None]
    return min(moments) if moments else None


def _whole_seconds(moment: datetime) -> datetime:
    """Status times are whole seconds: round up, so a retirement is never due before it is shown."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0) + (timedelta(seconds=1) if moment.microsecond else timedelta(0))


# ---- at deletion: what a resource leaves behind in IDaaS -------------------------------------

@dataclass(frozen=True)
class Release:
    """What a deleted resource's tokens become: ``retire`` are retired now (``spec.renewal.retire``),
    ``kept`` is the token a Secret that outlives the resource still holds, ``creates`` are creates
    whose answer was lost (a token of theirs that is listed never reached a Secret: deleted)."""

    retire: list[str]
    kept: str | None
    creates: list[dict[str, Any]]

    def __bool__(self) -> bool:
        return bool(self.retire or self.creates)


def made_by_tokensync(spec_token_id: str | None, status: Mapping[str, Any]) -> str | None:
    """The current token when tokensync created it (by a rotation, or as Rotate's first token);
    None when it is the token the spec names (the user's)."""
    current = current_token_id(spec_token_id, status)
    return current if current is not None and current != spec_token_id else None


def release_at_deletion(spec_token_id: str | None, status: Mapping[str, Any], *, secret_outlives: bool,
                        held: set[str]) -> Release:
    """Pure: the tokens a resource made or replaced, as its deletion leaves them. A token some
    other resource holds is never touched; the token a retained Secret holds is kept."""
    retire = [entry.token_id for entry in retiring_from_status(status)]
    left_by_edit = replaced_by_spec_edit(spec_token_id, status)
    if left_by_edit:
        retire.append(left_by_edit)
    made = made_by_tokensync(spec_token_id, status)
    kept = made if made is not None and secret_outlives and made not in held else None
    if made is not None and not secret_outlives:
        retire.append(made)
    pending = status.get("pendingRotation")
    creates = [*([pending] if isinstance(pending, dict) and "expirationTime" in pending else []),
               *unsettled_from_status(status)]
    return Release([t for t in dict.fromkeys(retire) if t not in held], kept, creates)


def wants_finalizer(strategy: Strategy, spec_token_id: str | None, status: Mapping[str, Any]) -> bool:
    """Rotate may create a token at any moment, so the finalizer is set before its first create;
    after a switch away from Rotate it stays while anything it made is left."""
    if strategy == "Rotate":
        return True
    return bool(release_at_deletion(spec_token_id, status, secret_outlives=False, held=set()))
