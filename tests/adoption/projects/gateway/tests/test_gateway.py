import pytest


async def test_users_outage_opens_the_breaker_then_it_recovers(
    hardened_async_client, faults, clock, breakers
):
    faults.fail("users", 503)
    for _ in range(3):
        assert (await hardened_async_client.get("/users/1")).status_code == 502
    assert breakers.state("users") == "OPEN"
    assert (await hardened_async_client.get("/users/1")).status_code == 503
    faults.heal("users")
    clock.advance(30)  # the breaker's stored time.monotonic moves too
    assert (await hardened_async_client.get("/users/1")).status_code == 200
    assert breakers.state("users") == "CLOSED"


async def test_every_request_carries_the_api_key(hardened_async_client, faults):
    assert (await hardened_async_client.get("/users/7")).status_code == 200
    faults.assert_called("users", times=1)
    refused = await hardened_async_client.get("/users/7", headers={"X-API-Key": "wrong"})
    assert refused.status_code == 401


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop_scope(hardened_async_client, faults, breakers):
    faults.refuse("users")
    assert (await hardened_async_client.get("/users/2")).status_code == 502
    assert breakers.state("users") == "CLOSED"


def test_sync_tests_sit_beside_async_ones(hardened_client, faults):
    faults.fail("users", 500)
    assert hardened_client.get("/users/3").status_code == 502
