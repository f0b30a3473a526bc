import pytest


@pytest.mark.asyncio
async def test_rates_outage_answers_503(hardened_async_client, faults, clock):
    faults.fail("rates", 500, times=1)
    assert (await hardened_async_client.get("/rate")).status_code == 503
    clock.advance(5)
    assert (await hardened_async_client.get("/rate")).json() == {"eur": 1.08}


@pytest.mark.asyncio(loop_scope="module")
async def test_module_scoped_loop(hardened_async_client, faults):
    faults.timeout("rates")
    assert (await hardened_async_client.get("/rate")).status_code == 503


@pytest.mark.anyio
async def test_anyio_marked_tests_work_beside_asyncio_ones(hardened_async_client, faults):
    assert (await hardened_async_client.get("/rate")).json() == {"eur": 1.08}
    faults.assert_called("rates", times=1)
