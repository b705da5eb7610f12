"""The emulated cloud as an object tests drive: its state, faults and counters, and helpers
that change the state the way a person in the console would (``server`` serves it).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.emulators.cloud.auth import NonceCache
from tokensync.emulators.cloud.faults import BodyFault, Fault, FaultSet
from tokensync.emulators.cloud.state import (
    AccessKey,
    Application,
    EmulatorState,
    Instance,
    Token,
    demo_state,
    ram_application_record,
    truncate_ms,
)


class CloudEmulator:
    """One emulated Alibaba Cloud. ``url`` is set once it serves."""

    def __init__(self, state: EmulatorState | None = None, *, clock: Clock = SYSTEM_CLOCK,
                 fault_seed: int | None = None) -> None:
        self.clock = clock
        self.state = state if state is not None else demo_state()
        self.state.settle(clock.now())
        self.faults = FaultSet(fault_seed)
        self.nonces = NonceCache()
        self.counters: Counter[str] = Counter()
        self.codes: Counter[tuple[str, str]] = Counter()
        self.url = ""

    def __repr__(self) -> str:
        return f"CloudEmulator(url={self.url!r})"

    # --- counters -------------------------------------------------------------------------
    def calls(self, action: str | None = None) -> int:
        """API calls received (every answer counts, errors and faults too); ``None``: all actions."""
        return self.counters[action] if action is not None else sum(self.counters.values())

    def answers(self, action: str, code: str = "Success") -> int:
        """Calls of ``action`` answered with ``code`` (``Success`` for a 200)."""
        return self.codes[(action, code)]

    def reset_counters(self) -> None:
        self.counters.clear()
        self.codes.clear()

    def counters_document(self) -> dict[str, Any]:
        codes: dict[str, dict[str, int]] = {}
        for (action, code), count in sorted(self.codes.items()):
            codes.setdefault(action, {})[code] = count
        return {"total": self.calls(), "calls": dict(sorted(self.counters.items())), "codes": codes}

    # --- faults ---------------------------------------------------------------------------
    def inject_fault(
        self,
        *,
        action: str | None = None,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        latency_ms: float = 0.0,
        body: BodyFault | None = None,
        reset: bool = False,
        rate: float = 1.0,
        times: int | None = None,
    ) -> Fault:
        """Add a fault (see ``Fault``); it lasts until ``clear_faults`` or its ``times`` run out."""
        return self.faults.add(Fault(action=action, status=status, code=code, message=message,
                                     retry_after=retry_after, latency_ms=latency_ms, body=body, reset=reset,
                                     rate=rate, times=times))

    def throttle(self, *, action: str | None = None, retry_after: float | None = None,
                 times: int | None = None, rate: float = 1.0) -> Fault:
        """Answer ``400 Throttling.User`` as the gateway does; ``retry_after`` (seconds) is sent as
        ``x-acs-retry-after`` in milliseconds."""
        return self.inject_fault(action=action, status=400, code="Throttling.User",
                                 message="Request was denied due to user flow control.",
                                 retry_after=retry_after, times=times, rate=rate)

    def clear_faults(self) -> None:
        self.faults.clear()

    # --- access keys and instances --------------------------------------------------------
    def add_access_key(self, access_key_id: str, access_key_secret: str, *, account_id: str | None = None,
                       arn: str | None = None, allowed_actions: Iterable[str] = ("*",),
                       enabled: bool = True) -> AccessKey:
        key = AccessKey(access_key_id=access_key_id, access_key_secret=access_key_secret,
                        account_id=account_id or self.state.account_id, arn=arn,
                        allowed_actions=list(allowed_actions), enabled=enabled)
        self.state.access_keys[access_key_id] = key
        return key

    def remove_access_key(self, access_key_id: str) -> None:
        self._pop(self.state.access_keys, access_key_id, "access key")

    def add_instance(self, instance_id: str, application_ids: Iterable[str] = (), *,
                     account_id: str | None = None) -> Instance:
        instance = self.state.instances.get(instance_id) or Instance(instance_id=instance_id, account_id=account_id)
        for application_id in application_ids:
            instance.applications.setdefault(application_id, Application(application_id=application_id))
        self.state.instances[instance_id] = instance
        return instance

    def remove_instance(self, instance_id: str) -> None:
        self._pop(self.state.instances, instance_id, "instance")

    # --- application tokens ---------------------------------------------------------------
    # Helpers stand for what a person or another system does (console, SCIM use), never for
    # something IDaaS does by itself: a token's value never changes.
    def token(self, token_id: str) -> Token:
        """The token as the cloud holds it."""
        token = self.state.tokens.get(token_id)
        if token is None:
            raise KeyError(f"no application token {token_id!r}")
        token.settle(self.clock.now())
        return token

    def token_value(self, token_id: str) -> str:
        return self.token(token_id).value

    def tokens_of(self, instance_id: str = "idaas_demo", application_id: str = "app_demo") -> list[Token]:
        """Every token of one application, oldest first (what ListApplicationTokens lists)."""
        tokens = self.state.application_tokens(instance_id, application_id)
        for token in tokens:
            token.settle(self.clock.now())
        return tokens

    def add_token(
        self,
        token_id: str,
        *,
        lifetime: timedelta = timedelta(hours=1),
        instance_id: str = "idaas_demo",
        application_id: str = "app_demo",
        status: Literal["enabled", "disabled"] = "enabled",
        value: str | None = None,
        token_type: str = "bearer_token",  # noqa: S107 - a type name
        description: str = "",
    ) -> Token:
        """Add (or replace) a token created now, valid for ``lifetime`` (a token made in the
        console); its instance and application are made if missing. No quota or bounds apply."""
        fields: dict[str, Any] = {"value": value} if value is not None else {}
        token = Token(application_token_id=token_id, instance_id=instance_id, application_id=application_id,
                      application_token_type=token_type, status=status, lifetime=lifetime,
                      description=description, **fields)
        token.settle(self.clock.now())
        self.state.ensure_application(instance_id, application_id)
        self.state.tokens[token_id] = token
        return token

    def set_token_status(self, token_id: str, status: Literal["enabled", "disabled"]) -> None:
        """Enable or disable the token (EnableApplicationToken / DisableApplicationToken)."""
        self.token(token_id).status = status

    def set_token_expiration(self, token_id: str, expiration_time: datetime) -> None:
        """Move the token's expiry, same value (UpdateApplicationTokenExpirationTime; no bounds apply)."""
        self.token(token_id).expiration_time = truncate_ms(expiration_time)

    def expire_token(self, token_id: str) -> None:
        """The token's expiry is now (time passed, or a person shortened it); it stays expired
        until its expiration time is moved again."""
        self.token(token_id).expiration_time = truncate_ms(self.clock.now() - timedelta(seconds=1))

    def use_token(self, token_id: str, at: datetime | None = None) -> None:
        """An outside system used the token for SCIM (LastUsedTime; reads never move it)."""
        self.token(token_id).last_used_time = truncate_ms(at or self.clock.now())

    def set_token_value(self, token_id: str, value: str) -> None:
        """Test-only, NOT a cloud behaviour (IDaaS never changes a token's value): replace the
        value held for ``token_id``, e.g. to feed odd values to the operator."""
        self.token(token_id).value = value

    def delete_token(self, token_id: str) -> None:
        """Remove the token whatever its status (DeleteApplicationToken's enabled-token rule is not applied)."""
        self._pop(self.state.tokens, token_id, "application token")

    # --- RAM applications -----------------------------------------------------------------
    def ram_application(self, app_id: str) -> dict[str, Any]:
        """A copy of the application as GetApplication returns it."""
        app = self.state.ram_applications.get(app_id)
        if app is None:
            raise KeyError(f"no RAM application {app_id!r}")
        copied: dict[str, Any] = copy.deepcopy(app)
        return copied

    def add_ram_application(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or replace) a RAM application given in GetApplication's shape (missing fields get defaults)."""
        record = ram_application_record(dict(fields), self.state.account_id, self.clock.now())
        self.state.ram_applications[record["AppId"]] = record
        copied: dict[str, Any] = copy.deepcopy(record)
        return copied

    def update_ram_application(self, app_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields (API names, e.g. ``RedirectUris={"RedirectUri": [...]}``); UpdateDate becomes now."""
        current = self.ram_application(app_id)
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.add_ram_application({**current, "UpdateDate": stamp, **fields, "AppId": app_id})

    def delete_ram_application(self, app_id: str) -> None:
        self._pop(self.state.ram_applications, app_id, "RAM application")

    def replace_state(self, state: EmulatorState) -> None:
        state.settle(self.clock.now())
        self.state = state

    @staticmethod
    def _pop(collection: dict[str, Any], key: str, what: str) -> None:
        if collection.pop(key, None) is None:
            raise KeyError(f"no {what} {key!r}")
