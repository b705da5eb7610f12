"""The admin API under /_emulator/: what a script or another process uses to drive the emulator."""

from __future__ import annotations

import httpx
import pytest

from tokensync.cloud.errors import NotFoundError, ThrottledError

from .conftest import DEMO, RAM_APP, Cloud


@pytest.fixture
async def admin(cloud: Cloud) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{cloud.url}/_emulator")


async def test_state_and_counters(cloud: Cloud, admin: httpx.AsyncClient) -> None:
    async with admin:
        state = (await admin.get("/state")).json()
        assert [t["applicationTokenId"] for t in state["tokens"]] == ["token_demo", "token_demo_short"]
        await cloud.client().obtain_application_token(**DEMO)
        counters = (await admin.get("/counters")).json()
        assert counters == {"total": 1, "calls": {"ObtainApplicationToken": 1},
                            "codes": {"ObtainApplicationToken": {"Success": 1}}}
        assert (await admin.delete("/counters")).json()["total"] == 0
        assert cloud.emu.calls() == 0


async def test_access_keys(cloud: Cloud, admin: httpx.AsyncClient) -> None:
    async with admin:
        answer = await admin.put("/access-keys/ci-key", json={"accessKeySecret": "ci-secret"})
        assert answer.status_code == 200 and "ci-secret" not in answer.text
        assert (await cloud.client("ci-key", "ci-secret").get_caller_identity()).value.arn
        assert (await admin.put("/access-keys/bad", json={})).status_code == 400


async def test_tokens(cloud: Cloud, admin: httpx.AsyncClient) -> None:
    client = cloud.client()
    async with admin:
        put = await admin.put("/tokens/token_new", json={"instanceId": "idaas_x", "applicationId": "app_x",
                                                          "lifetime": 60, "value": "fixed-value"})
        assert put.status_code == 200
        ids = {"instance_id": "idaas_x", "application_id": "app_x", "application_token_id": "token_new"}
        assert (await client.obtain_application_token(**ids)).value.token.get_secret_value() == "fixed-value"
        await admin.patch("/tokens/token_new", json={"status": "disabled"})
        assert (await client.obtain_application_token(**ids)).value.status == "disabled"
        # What IDaaS never changes cannot be patched: the value and the identity.
        for change in ({"value": "other"}, {"applicationTokenId": "token_x"}, {"createTime": 0}):
            refused = await admin.patch("/tokens/token_new", json=change)
            assert refused.status_code == 400 and "cannot change" in refused.json()["error"]
        assert (await admin.get("/tokens/token_new")).json()["value"] == "fixed-value"
        # Nothing re-mints: there is no rotate route any more.
        assert (await admin.post("/tokens/token_new/rotate")).status_code == 404
        expired = (await admin.post("/tokens/token_new/expire")).json()
        token = (await client.obtain_application_token(**ids)).value
        assert token.expiration_time < cloud.clock.now() and token.token.get_secret_value() == "fixed-value"
        assert expired["value"] == "fixed-value"
        used = (await admin.post("/tokens/token_new/use")).json()
        assert (await client.obtain_application_token(**ids)).value.last_used_time == cloud.clock.now()
        assert used["lastUsedTime"]
        await admin.delete("/tokens/token_new")
        with pytest.raises(NotFoundError):
            await client.obtain_application_token(**ids)
        assert (await admin.get("/tokens/token_new")).status_code == 404


async def test_ram_applications(cloud: Cloud, admin: httpx.AsyncClient) -> None:
    async with admin:
        patched = await admin.patch(f"/ram-applications/{RAM_APP}", json={"RedirectUris": ["https://a.example/cb"]})
        assert patched.json()["RedirectUris"] == {"RedirectUri": ["https://a.example/cb"]}
        assert (await cloud.client().get_application(app_id=RAM_APP)).value.redirect_uris == ["https://a.example/cb"]
        bad = await admin.put("/ram-applications/7", json={"AppType": "Toaster"})
        assert bad.status_code == 400


async def test_faults(cloud: Cloud, admin: httpx.AsyncClient) -> None:
    async with admin:
        created = await admin.post("/faults", json={"action": "ObtainApplicationToken", "status": 503,
                                                     "code": "ServiceUnavailable", "retryAfter": 3})
        assert created.status_code == 201
        with pytest.raises(ThrottledError) as caught:  # an error with a retry-after is throttling
            await cloud.client().obtain_application_token(**DEMO)
        assert caught.value.retry_after == 3
        listed = (await admin.get("/faults")).json()
        assert [(f["code"], f["hits"]) for f in listed] == [("ServiceUnavailable", 1)]
        assert (await admin.post("/faults", json={"colour": "red"})).status_code == 400
        await admin.delete(f"/faults/{created.json()['id']}")
        assert (await cloud.client().obtain_application_token(**DEMO)).value
