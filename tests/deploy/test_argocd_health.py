"""The Argo CD health check in deploy/README.md, run as Argo CD runs it (Lua, ``obj`` global).

Each state is built by tokensync's own status code (status_report.with_ready), so the snippet is
tested against what tokensync really writes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import LuaRuntime  # type: ignore[import-untyped]

from tokensync.controllers.status_report import with_ready

README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def health_script() -> str:
    section = README.read_text().split("## Argo CD and Flux", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "no Argo CD snippet in deploy/README.md"
    data = yaml.safe_load(block.group(1))["data"]
    return str(data["resource.customizations.health.tokensync.dev_ApplicationToken"])


def argo_health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = LuaRuntime(unpack_returned_tuples=True)
    check = lua.eval(f"function(obj)\n{health_script()}\nend")
    result = check(lua.table_from(obj, recursive=True))
    return str(result["status"]), str(result["message"])


def token(conditions: list[dict[str, Any]] | None, generation: int = 1, observed: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "billing-api", "generation": generation}}
    if conditions is not None:
        body["status"] = {"observedGeneration": observed, "conditions": conditions}
    return body


@pytest.mark.parametrize(("ready", "clears_by_itself", "reason", "expected"), [
    (True, False, "Synced", "Healthy"),
    (False, False, "NotFound", "Degraded"),      # Stalled: a person must act
    (False, True, "CloudUnavailable", "Progressing"),  # Reconciling: it clears by itself
])
def test_argo_cd_reads_what_tokensync_writes(ready: bool, clears_by_itself: bool, reason: str, expected: str) -> None:
    conditions = with_ready(None, ready=ready, reason=reason, message="m", generation=1, now=NOW,
                            clears_by_itself=clears_by_itself)
    status, message = argo_health(token(conditions))
    assert status == expected
    assert message.startswith(f"{reason}: ")


def test_argo_cd_waits_for_a_first_status_and_for_the_latest_spec() -> None:
    assert argo_health(token(None))[0] == "Progressing"
    synced = with_ready(None, ready=True, reason="Synced", message="m", generation=1, now=NOW)
    assert argo_health(token(synced, generation=2, observed=1)) == (
        "Progressing", "waiting for tokensync to act on the latest spec")
