"""Shared test configuration. Each room's fixtures live in tests/<room>/conftest.py.

A test that needs a component (a Docker engine, PostgreSQL, bubblewrap, the local model, Ray,
Chromium) FAILS when it is missing, it never turns into a skip: a green run means everything
ran. To run without a component, deselect its tests by marker (`-m "not docker and not
postgres"`); `scripts/test.sh --fast` deselects every component marker (FAST_DESELECT).
A test that uses a component's fixture must carry its marker, so that the test says what it
needs and deselection cannot miss it: one without fails before it runs.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.processes import Deadline

PG_URL_ENV = "DGM_TEST_POSTGRES_URL"
PG_MISSING = f'{PG_URL_ENV} is not set: start PostgreSQL with: eval "$(bash scripts/postgres.sh)"'

# fixture name -> the marker of the component it needs (a fixture built on one of these
# needs it too: pytest's closure of a test's fixtures holds both)
FIXTURE_MARKERS = {
    "docker_backend": "docker",
    "recycled_backend": "docker",
    "backends": "docker",  # tests/problems: a Docker backend per problem image
    "postgres_url": "postgres",
    "local_backend": "bwrap",
    "ray_cluster": "ray",
    "browser": "chromium",
}
# The markers of components: `scripts/test.sh --fast` deselects them all (it reads this line).
COMPONENT_MARKERS = ("docker", "postgres", "bwrap", "local_model", "ray", "chromium")
FAST_DESELECT = " and ".join(f"not {m}" for m in COMPONENT_MARKERS)
UNMARKED = pytest.StashKey[list[str]]()
STARTED = pytest.StashKey[float]()


def missing(component: str, why: str) -> NoReturn:
    """A component this test needs is missing: fail, naming it and how to get it."""
    pytest.fail(
        f"{component} is missing: {why} (or deselect with -m 'not {component}')", pytrace=False
    )


def unmarked(fixtures: set[str], params: dict[str, object], markers: set[str]) -> list[str]:
    """What a test needs but does not say: 'fixture (marker)' for each component fixture (or
    `backend` parameter: docker, local) among `fixtures` whose marker is not in `markers`."""
    needs = [(f, m) for f, m in FIXTURE_MARKERS.items() if f in fixtures]
    backend = params.get("backend")
    if backend in ("docker", "local"):
        needs.append((f"backend={backend}", "docker" if backend == "docker" else "bwrap"))
    return [f"{f} ({m})" for f, m in needs if m not in markers]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        missing_marks = unmarked(
            set(getattr(item, "fixturenames", ())),
            dict(callspec.params) if callspec is not None else {},
            {m.name for m in item.iter_markers()},
        )
        if missing_marks:
            item.stash[UNMARKED] = missing_marks


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[STARTED] = time.monotonic()  # before any fixture: pytest-timeout counts them
    if missing_marks := item.stash.get(UNMARKED, None):
        pytest.fail(
            f"{item.nodeid} uses {', '.join(missing_marks)} without the marker: add it "
            "(pytestmark or @pytest.mark...) so that deselecting the component deselects it",
            pytrace=False,
        )


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
def deadline(request: pytest.FixtureRequest) -> Deadline:
    """The running test's deadline, for waits that must end inside it (tests/processes.py)."""
    return Deadline(request, started=request.node.stash.get(STARTED, None))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this test."""
    yield from fresh_postgres_database()
