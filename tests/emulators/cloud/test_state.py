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
    demo, short = state.tokens["token_demo"], state.tokens["token_demo_short"]
    state.settle(START)
    assert (demo.create_time, demo.expiration_time) == (START, START + timedelta(hours=1))
    assert (short.create_time, short.expiration_time) == (START, START + timedelta(minutes=2))
    assert demo.status == short.status == "enabled" and demo.last_used_time is None
    # The undocumented corners default to: expired reads answer 200, enabled tokens cannot be deleted,
    # no bounds and no token limit.
    assert (state.expired_token_read, state.delete_enabled_token) == ("ok", "refuse")
    assert state.min_token_lifetime is None and state.max_token_lifetime is None
    assert state.max_tokens_per_application is None
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


def test_the_state_file_sets_the_undocumented_behaviours(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text("expiredTokenRead: error\ndeleteEnabledToken: allow\nminTokenLifetime: 86400\n"
                    "maxTokenLifetime: 94608000\nmaxTokensPerApplication: 5\n"
                    "tokens:\n  - applicationTokenId: token_year\n")
    state = load_state(path)
    assert (state.expired_token_read, state.delete_enabled_token) == ("error", "allow")
    assert (state.min_token_lifetime, state.max_token_lifetime) == (timedelta(days=1), timedelta(days=1095))
    assert state.max_tokens_per_application == 5
    state.settle(START)
    token = state.tokens["token_year"]  # no lifetime given: CreateApplicationToken's default, one year
    assert token.expiration_time == START + timedelta(days=365)
    assert state.to_document()["expiredTokenRead"] == "error"


def test_a_state_file_asking_for_re_minting_is_refused(tmp_path: Path) -> None:
    """IDaaS never issues a new value for a token ID: an old state file saying so must not load quietly."""
    path = tmp_path / "old.yaml"
    path.write_text("tokens:\n  - applicationTokenId: t\n    remint: true\n")
    with pytest.raises(ValidationError, match="remint"):
        load_state(path)


def test_a_bad_state_file_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tokens:\n  - applicationTokenId: t\n    status: sleeping\n")
    with pytest.raises(ValidationError, match="status"):
        load_state(path)
