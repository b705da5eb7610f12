"""deploy/manifests/ (for `kubectl apply`) and the chart's crds/ do not drift from their sources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.rendering import CHART_DIR, REPO_ROOT, render_manifests, render_objects

TOP_LEVEL_CRDS = REPO_ROOT / "crds"


def _names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.yaml"))


def test_chart_crds_are_the_top_level_crds_byte_for_byte() -> None:
    # Fix: cp crds/*.yaml deploy/helm/tokensync/crds/ (after `python -m tokensync.api.crds`).
    assert _names(CHART_DIR / "crds") == _names(TOP_LEVEL_CRDS)
    assert len(_names(TOP_LEVEL_CRDS)) == 4
    for name in _names(TOP_LEVEL_CRDS):
        assert (CHART_DIR / "crds" / name).read_bytes() == (TOP_LEVEL_CRDS / name).read_bytes(), name


def test_plain_manifests_are_up_to_date() -> None:
    # Fix: python3 deploy/render_manifests.py
    assert render_manifests.MANIFEST_PATH.read_text() == render_manifests.render_manifests(), (
        "deploy/manifests/tokensync.yaml is stale: run `python3 deploy/render_manifests.py`"
    )


def test_plain_manifests_hold_the_namespace_the_crds_and_the_default_rendering() -> None:
    text = render_manifests.MANIFEST_PATH.read_text()
    assert "python3 deploy/render_manifests.py" in text.splitlines()[3]
    objects = [obj for obj in yaml.safe_load_all(text) if obj is not None]
    assert objects[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tokensync-system"}}
    crds = [obj for obj in objects if obj["kind"] == "CustomResourceDefinition"]
    assert crds == [yaml.safe_load((TOP_LEVEL_CRDS / name).read_text()) for name in _names(TOP_LEVEL_CRDS)]
    rest = [obj for obj in objects[1:] if obj["kind"] != "CustomResourceDefinition"]
    assert rest == render_objects()


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "tokensync.yaml"
    stale.write_text("# stale\n")
    monkeypatch.setattr(render_manifests, "MANIFEST_PATH", stale)
    assert render_manifests.main(["--check"]) == 1
    assert render_manifests.main([]) == 0
    assert render_manifests.main(["--check"]) == 0
