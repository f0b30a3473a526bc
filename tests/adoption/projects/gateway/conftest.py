import pytest


@pytest.fixture
def hardening_dev_env():
    return {"GATEWAY_API_KEY": "test-key"}


@pytest.fixture
def hardening_providers():
    return {"users": "https://users.internal.example"}


@pytest.fixture
def hardening_client_headers():
    return {"X-API-Key": "test-key"}
