"""What a service handler gets: the parameters, who called, the state and the time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tokensync.emulators.cloud.auth import Principal
from tokensync.emulators.cloud.state import EmulatorState


@dataclass(frozen=True)
class CallContext:
    params: dict[str, str]
    principal: Principal | None  # None only for anonymous operations
    state: EmulatorState
    now: datetime

    @property
    def account_id(self) -> str:
        return self.principal.account_id if self.principal is not None else self.state.account_id


Handler = Callable[[CallContext], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    """One API action of one product version."""

    product: str  # the RAM action prefix: eiam, ram, sts
    action: str
    version: str
    handler: Handler
    anonymous: bool = False  # the request proves itself another way (AssumeRoleWithOIDC)
    authorized: bool = True  # the caller's allowedActions must cover product:action
