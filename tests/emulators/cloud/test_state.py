"""The demo state and state files (YAML or JSON, lists or maps)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tokensync.cloud.client import HttpPool
from tokensync.emulators.cloud import demo_state, load_state, running_cloud_emulator

from .conftest import DEMO, START, Cloud, FakeClock

STATE_YAML = """
accountId: "5550000000000001"
accessKeys:
  - accessKeyId: ci-key
    accessKeySecret: ci-secret
instances:
  idaas_ci:
    applications: [app_ci]
tokens:
  - applicationTokenId: token_ci
    instanceId: idaas_ci
    applicationId: app_ci
    lifetime: 120
    value: ci-token-value
ramApplications:
  - AppId: "777"
    AppName: ci-app
    AppType: ServerApp
    RedirectUris: ["https://ci.example.com/cb"]
"""


def test_the_demo_state_is_what_the_docs_promise() -> None:
    state = demo_state(START)
    key = state.access_keys["demo-access-key-id"]
    assert key.access_key_secret == "demo-access-key-secret" and key.account_id == "1234567890123456"
    assert key.principal_arn() == "acs:ram::1234567890123456:user/tokensync-demo"
    assert set(state.tokens) == {"token_demo", "token_demo_short"}
    assert state.tokens["token_demo"].lifetime == timedelta(hours=1) and state.tokens["token_demo"].remint
    assert state.tokens["token_demo_short"].lifetime == timedelta(seconds=20)
    assert "app_demo" in state.instances["idaas_demo"].applications
    assert state.ram_applications["4724570903440410000"]["AppName"] == "demo-portal"
    assert "acs:ram::1234567890123456:role/tokensync-demo" in state.roles
    assert len(state.token_values()) == 2 and all(state.token_values())
    assert "demo-access-key-secret" not in repr(state) and state.token_values()[0] not in repr(state)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
async def test_a_state_file_is_served(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"state{suffix}"
    document = yaml.safe_load(STATE_YAML)
    path.write_text(STATE_YAML if suffix == ".yaml" else json.dumps(document))
    clock = FakeClock()
    async with running_cloud_emulator(load_state(path), clock=clock) as emu:
        cloud = Cloud(emu, clock, HttpPool())
        client = cloud.client("ci-key", "ci-secret")
        token = (await client.obtain_application_token(
            instance_id="idaas_ci", application_id="app_ci", application_token_id="token_ci")).value
        assert token.token.get_secret_value() == "ci-token-value"
        assert token.expiration_time == START + timedelta(minutes=2)
        app = (await client.get_application(app_id="777")).value
        assert (app.account_id, app.redirect_uris, app.app_type) == (
            "5550000000000001", ["https://ci.example.com/cb"], "ServerApp")
        await cloud.pool.aclose()


async def test_the_admin_state_document_loads_back(cloud: Cloud, tmp_path: Path) -> None:
    await cloud.client().obtain_application_token(**DEMO)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(cloud.emu.state.to_document()))
    again = load_state(path)
    assert again.tokens["token_demo"].value == cloud.emu.token_value("token_demo")
    assert again.tokens["token_demo"].expiration_time == cloud.emu.token("token_demo").expiration_time


def test_a_bad_state_file_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tokens:\n  - applicationTokenId: t\n    status: sleeping\n")
    with pytest.raises(ValidationError, match="status"):
        load_state(path)
