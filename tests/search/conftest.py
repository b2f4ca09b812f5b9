"""Fixtures of the search tests that need a server: a PostgreSQL database."""

from __future__ import annotations

import os

import pytest

POSTGRES_ENV = "CODESIGN_TEST_POSTGRES"


@pytest.fixture
def postgres_url() -> str:
    """The URL of a PostgreSQL database for tests (CODESIGN_TEST_POSTGRES); skipped without
    one, except on CI."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set; .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"no PostgreSQL: set {POSTGRES_ENV} to a database URL "
                    "(`bash .ci/postgres.sh` starts one and prints it)")
    return url
