"""`tokensync sandbox --exit-after-demo`: the README's "run it" command, as a new user runs it.

It must bring up both emulators and the operator, apply every example, and print each resource
as `kubectl get` would (the CRDs' printer columns), every one Ready, with Secret values masked,
then the renewals to watch and how. That those renewals do happen within a minute, seen with
the real kubectl, is tests/test_sandbox_kubectl.py; here, that the examples are built for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.api.common import parse_duration
from tokensync.emulators.cloud import demo_state
from tokensync.sandbox import example_documents, watchable_renewals

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
        if meta["name"] == "orders-api":  # Rotate without applicationTokenId: tokensync made the token
            assert re.search(r"demo/orders-api: Synced: Secret orders-api-token holds token token_[0-9a-f]+;", output)
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
    assert "Secret demo/orders-api-token (from ApplicationToken/orders-api), values masked:" in output
    assert "demo-access-key-secret" not in output
    # No long run of a token's alphabet anywhere: the demo tokens are ~100 such characters.
    assert not re.search(r"SAT[A-Za-z0-9_-]{20,}", output), output

    # How to watch the renewals, with this sandbox's own kubeconfig and cloud emulator URL.
    cloud_url = re.search(r"^Alibaba Cloud emulator:\s+(http://\S+)", output, re.MULTILINE)
    assert cloud_url is not None, output
    assert "Renewals to watch in the next minute:" in output
    for line in watchable_renewals(example_documents()):
        assert f"  {line}\n" in output, output
    assert f"KUBECONFIG={kubeconfig} kubectl -n demo get events -w -o custom-columns=" in output
    assert f"curl -s {cloud_url[1]}/_emulator/state" in output


def application_tokens() -> dict[str, ApplicationTokenSpec]:
    return {d["metadata"]["name"]: ApplicationTokenSpec.model_validate(d["spec"])
            for d in example_documents() if d["kind"] == "ApplicationToken"}


def test_the_examples_show_an_extension_and_a_rotation_within_a_minute() -> None:
    """The README's tour promises Extended, Rotated, RolloutRestarted and Retired within a minute of
    `tokensync sandbox`: the examples' timings must add up to that (the kubectl test sees it happen)."""
    tokens, documents = application_tokens(), example_documents()
    demo_tokens = {t.application_token_id: t for t in demo_state().tokens.values()}
    minute = timedelta(minutes=1)

    extend = tokens["reports-api"]
    assert (extend.renewal.strategy, extend.application_token_id) == ("Extend", "token_demo_short")
    assert extend.refresh is not None and extend.refresh.renew_before and extend.renewal.lifetime
    margin, lifetime = parse_duration(extend.refresh.renew_before), parse_duration(extend.renewal.lifetime)
    # The first extension: the demo token's own lifetime less renewBefore; then every lifetime - renewBefore.
    own = demo_tokens["token_demo_short"].lifetime
    assert own is not None
    assert timedelta(0) < own - margin <= minute / 2 and timedelta(seconds=20) <= lifetime - margin <= minute / 2

    rotate = tokens["orders-api"]
    assert rotate.renewal.strategy == "Rotate" and rotate.application_token_id is None
    assert rotate.refresh is not None and rotate.refresh.renew_before and rotate.renewal.lifetime
    every = parse_duration(rotate.renewal.lifetime) - parse_duration(rotate.refresh.renew_before)
    retire_after = parse_duration(rotate.renewal.retire_after)
    # Retired before the next rotation (which would retire it at once), and all within the minute.
    assert rotate.renewal.retire == "Delete" and timedelta(0) < retire_after < every - every / 10
    assert every + retire_after <= minute - timedelta(seconds=10)
    deployments = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert rotate.rollout_restart_targets and {t.name for t in rotate.rollout_restart_targets} <= deployments

    # Both are named in what the sandbox prints; billing-api's first renewal is 40 minutes away.
    watched = watchable_renewals(documents)
    assert [line.split(":")[0] for line in watched] == ["demo/reports-api", "demo/orders-api"]
    assert "Extend about every 30s" in watched[0] and "Rotate about every 30s" in watched[1]
