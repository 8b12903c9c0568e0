"""Shared test configuration. Each room's fixtures live in tests/<room>/conftest.py.

A test that needs a component (a Docker engine, PostgreSQL, bubblewrap, the local model, Ray)
FAILS when it is missing, it never turns into a skip: a green run means everything ran.
To run without a component, deselect its tests by marker (`-m "not docker and not
postgres"`); `scripts/test.sh --fast` does that for Docker, PostgreSQL and the model.
Tests that use a component's fixture get its marker here, so deselection cannot miss them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import NoReturn

import pytest

PG_URL_ENV = "DGM_TEST_POSTGRES_URL"
PG_MISSING = f'{PG_URL_ENV} is not set: start PostgreSQL with: eval "$(bash scripts/postgres.sh)"'

# fixture name -> the marker of the component it needs
FIXTURE_MARKERS = {
    "docker_backend": "docker",
    "postgres_url": "postgres",
    "local_backend": "bwrap",
    "ray_cluster": "ray",
}


def missing(component: str, why: str) -> NoReturn:
    """A component this test needs is missing: fail, naming it and how to get it."""
    pytest.fail(
        f"{component} is missing: {why} (or deselect with -m 'not {component}')", pytrace=False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in names:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if backend in ("docker", "local"):
            item.add_marker("docker" if backend == "docker" else "bwrap")


def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = os.environ.get(PG_URL_ENV)
    if not url:
        missing("postgres", PG_MISSING)
    name = "dgm_test_" + secrets.token_hex(6)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this test."""
    yield from fresh_postgres_database()
