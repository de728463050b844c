"""Console fixtures: the end-to-end gateway and fake upstream (tests/e2e/conftest.py), in keys
mode with an admin key, and a gateway key to sign in with."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import gateway_url as gateway_url
from tests.e2e.conftest import upstream as upstream
from tests.e2e.keys_helpers import KEYS_MODE, create_key


@pytest.fixture
def console_env() -> dict[str, str]:
    """The gateway's extra environment for console tests: keys mode, an admin key."""
    return KEYS_MODE


@pytest.fixture
def gateway_extra_env(console_env: dict[str, str]) -> dict[str, str]:
    return console_env


@pytest.fixture
async def base_url(gateway_url: str) -> str:
    """The gateway's origin (the console is at ``/console``)."""
    return gateway_url.removesuffix("/v1")


@pytest.fixture
async def api_key(gateway_url: str) -> str:
    """A fresh gateway key (keys mode) for the test to sign in with."""
    created = await create_key(gateway_url, name="console-user")
    key: str = created["key"]
    return key
