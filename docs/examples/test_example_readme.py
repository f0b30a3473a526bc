"""The README's example: an Exotel outage queues calls, then the breaker recovers."""

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}


def test_exotel_outage_queues_calls_then_recovers(hardened_client, faults, clock, breakers):
    faults.fail("exotel", 503)
    for _ in range(5):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 202  # queued, not lost
    assert breakers.state("exotel") == "OPEN"
    faults.heal("exotel")
    clock.advance(61)  # past the 60 s open timeout, instantly
    for _ in range(2):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    assert breakers.state("exotel") == "CLOSED"
