"""Fixtures shared by the fault tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tokensync.emulators.cloud import app as cloud_app
from tokensync.emulators.cloud.context import CallContext

OBTAIN = "ObtainApplicationToken"

Reshape = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def reshaped_answers(monkeypatch: pytest.MonkeyPatch) -> Callable[[Reshape | None], None]:
    """Make the emulator's ObtainApplicationToken answer pass through ``reshape`` (None: as is).

    The emulator's own faults cover HTTP-level failures; an answer missing fields or with wrong
    types is made here, by wrapping the emulated action."""
    original = cloud_app.OPERATIONS[OBTAIN]
    current: list[Reshape | None] = [None]

    def handler(ctx: CallContext) -> dict[str, Any]:
        answer = original.handler(ctx)
        reshape = current[0]
        return reshape(answer) if reshape is not None else answer

    monkeypatch.setitem(cloud_app.OPERATIONS, OBTAIN, dataclasses.replace(original, handler=handler))

    def use(reshape: Reshape | None) -> None:
        current[0] = reshape

    return use
