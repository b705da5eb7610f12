"""`tokensync sandbox --exit-after-demo`: the README's "run it" command, as a new user runs it.

It must bring up both emulators and the operator, apply every example, and print each resource
as `kubectl get` would (the CRDs' printer columns), every one Ready, with Secret values masked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tokensync.sandbox import example_documents

CUSTOM_KINDS = ("ApplicationToken", "RamApplication", "CloudAccess", "ClusterCloudAccess")
HEADERS = {
    "ApplicationToken": ["NAMESPACE", "NAME", "READY", "TOKEN", "SECRET", "EXPIRES", "NEXT REFRESH",
                         "LAST SYNC", "AGE"],
    "RamApplication": ["NAMESPACE", "NAME", "READY", "INSYNC", "APP NAME", "APP TYPE", "LAST SYNC", "AGE"],
    "CloudAccess": ["NAMESPACE", "NAME", "READY", "REGION", "ACCOUNT", "AGE"],
    "ClusterCloudAccess": ["NAME", "READY", "REGION", "ACCOUNT", "AGE"],
}


def tables(output: str) -> dict[str, list[dict[str, str]]]:
    """The printed tables, by kind: a line "Kind:", a header line, then one line per object (cells are
    separated by at least two spaces, as kubectl does)."""
    found: dict[str, list[dict[str, str]]] = {}
    lines = output.splitlines()
    for number, line in enumerate(lines):
        kind = line.removesuffix(":")
        if kind in CUSTOM_KINDS and number + 1 < len(lines):
            header = re.split(r"\s{2,}", lines[number + 1].strip())
            rows = found.setdefault(kind, [{"__header__": " | ".join(header)}])
            for row in lines[number + 2:]:
                if not row or row.startswith(" "):
                    break
                rows.append(dict(zip(header, re.split(r"\s{2,}", row.strip()), strict=True)))
    return found


def test_the_sandbox_shows_every_example_ready_in_kubectl_columns_with_values_masked(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    result = subprocess.run(
        [sys.executable, "-m", "tokensync", "sandbox", "--exit-after-demo", "--kubeconfig", str(kubeconfig)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert kubeconfig.exists()

    printed = tables(result.stdout)
    for kind, header in HEADERS.items():
        assert printed[kind][0]["__header__"] == " | ".join(header), output
    examples = [d for d in example_documents() if d["kind"] in CUSTOM_KINDS]
    assert {d["kind"] for d in examples} == set(CUSTOM_KINDS)
    for document in examples:
        meta = document["metadata"]
        row = next((r for r in printed[document["kind"]][1:] if r["NAME"] == meta["name"]
                    and r.get("NAMESPACE", "") == meta.get("namespace", "")), None)
        assert row is not None, f"{document['kind']} {meta['name']} not printed:\n{output}"
        assert row["READY"] == "True", f"{document['kind']} {meta['name']} not Ready:\n{output}"
        if document["kind"] == "RamApplication":
            # The example's expect matches the demo application: no drift in a fresh sandbox.
            assert row["INSYNC"] == "True", output
            assert (row["APP NAME"], row["APP TYPE"]) == ("demo-portal", "WebApp"), output
        if document["kind"] == "ApplicationToken":
            assert row["SECRET"] == document["spec"]["secret"]["name"], output
            assert row["TOKEN"] != "<none>", output
            assert row["EXPIRES"] != "<none>" and row["LAST SYNC"] != "<none>", output
        if meta["name"] == "billing-api":  # an hour's token: still in the future however slow the machine
            # Shown as times, not ages: a real API server prints a future "date" column as <invalid>.
            now = datetime.now(UTC)
            for column in ("EXPIRES", "NEXT REFRESH"):
                assert datetime.fromisoformat(row[column].replace("Z", "+00:00")) > now, output
        if "ACCOUNT" in row:
            assert row["ACCOUNT"] == "1234567890123456", output
    assert "Drifted" not in output

    # Secrets and ConfigMaps it wrote, each value as its first four characters and its length.
    assert "Secret demo/billing-api-token (from ApplicationToken/billing-api), values masked:" in output
    assert "ConfigMap demo/portal-oauth (from RamApplication/portal), values masked:" in output
    token_line = next(line for line in output.splitlines() if line.startswith("  token: "))
    assert re.fullmatch(r"  token: \S{4}…\(\d{2,} chars\)", token_line), token_line
    assert re.search(r"  Authorization: Bear…\(\d+ chars\)", output), output
    assert "demo-access-key-secret" not in output
    # No long run of a token's alphabet anywhere: the demo tokens are ~100 such characters.
    assert not re.search(r"SAT[A-Za-z0-9_-]{20,}", output), output
