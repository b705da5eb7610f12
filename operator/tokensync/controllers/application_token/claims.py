"""Who holds which application token: the index behind rotation conflicts and "never retire a token in use"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tokensync.controllers.renewal_policy import (
    TokenClaim,
    claims_of,
    retiring_from_status,
    rotation_conflict,
)
from tokensync.controllers.synced_resource import (
    Key,
)

logger = logging.getLogger(__name__)


class TokenClaims:
    """Which resource holds which cloud token (in its spec, or current in its status), so that two
    resources that would fight over one token are refused, and a token another resource still
    uses is never retired. Kept in step with the controller's objects on every event."""

    def __init__(self, objects: dict[Key, dict[str, Any]], wake: Callable[..., None]) -> None:
        self._objects = objects
        self._wake = wake
        self._claims: dict[Key, list[TokenClaim]] = {}
        self._holders: dict[tuple[str, str, str], set[Key]] = {}

    def of(self, key: Key) -> list[TokenClaim]:
        return self._claims.get(key, [])

    def index(self, key: Key) -> None:
        """Keep the token holders in step with the resource; wake the resources a released token
        was refused to (only those that failed)."""
        released: set[tuple[str, str, str]] = set()
        for claim in self._claims.pop(key, []):
            holders = self._holders.get(claim.token, set())
            holders.discard(key)
            released.add(claim.token)
            if not holders:
                self._holders.pop(claim.token, None)
        body = self._objects.get(key)
        claims = claims_of(body) if body is not None else []
        if claims:
            self._claims[key] = claims
        for claim in claims:
            self._holders.setdefault(claim.token, set()).add(key)
            released.discard(claim.token)
        for token in released:
            for other in self._holders.get(token, set()):
                self._wake(other, "a resource holding the same token let go of it", only_failing=True)
            # A resource that replaced the token kept it listed, unretired, while it was held: now it may go.
            for other, other_body in self._objects.items():
                if other != key and any(e.token_id == token[2]
                                        for e in retiring_from_status(other_body.get("status") or {})):
                    self._wake(other, "a token it replaced is no longer used by another resource")

    def rivals(self, key: Key) -> list[TokenClaim]:
        rivals: list[TokenClaim] = []
        for claim in self.of(key):
            for other in self._holders.get(claim.token, set()) - {key}:
                rivals.extend(c for c in self._claims.get(other, []) if c.token == claim.token)
        return rivals

    def held_by_others(self, key: Key, *, waiting_too: bool = False) -> set[str]:
        """Tokens another resource holds now: current in its synced status, or named in its spec
        unless it is refused for that (it fights a rotating holder). Never retired for this one,
        in any namespace; they stay listed until let go. ``waiting_too``: also the tokens a refused
        resource waits for; at this one's deletion those are handed over, not retired (a rotation,
        on the other hand, revokes the token it replaced, whoever waits for it)."""
        held: set[str] = set()
        spec = (self._objects.get(key) or {}).get("spec") or {}
        application = (spec.get("instanceId"), spec.get("applicationId"))  # only its own application's tokens
        for token, keys in self._holders.items():
            if token[:2] != application:
                continue
            for other in keys - {key}:
                claim = next((c for c in self._claims.get(other, []) if c.token == token), None)
                if claim is not None and (waiting_too or claim.established or rotation_conflict(
                        self._claims.get(other, []), self.rivals(other)) is None):
                    held.add(token[2])
                    break
        return held

    def known_token_ids(self) -> set[str]:
        """Every token any resource holds or retires: a listed token among them was not made by a lost create."""
        known: set[str] = set()
        for body in self._objects.values():
            spec, status = body.get("spec") or {}, body.get("status") or {}
            known.update(str(v) for v in (spec.get("applicationTokenId"), status.get("applicationTokenId")) if v)
            known.update(entry.token_id for entry in retiring_from_status(status))
        return known
