"""UI fixtures: a sample archive (SQLite or PostgreSQL), a live server on a free port, and
a real headless Chromium driven by selenium through Debian's chromedriver."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from archive import open_archive
from dgm.ui import UIServer, make_server
from tests.ui import sample

PG_URL = os.environ.get("DGM_TEST_POSTGRES_URL")


@contextmanager
def serving(url: str, host: str = "127.0.0.1") -> Iterator[UIServer]:
    """A UI server over the archive at `url`, in a thread, on a free port."""
    archive = open_archive(url, read_only=True)
    server = make_server(archive, host, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        archive.close()


def base_url(server: UIServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "archive.db")
        return
    if not PG_URL:
        pytest.fail(
            'DGM_TEST_POSTGRES_URL is not set: start PostgreSQL with eval "$(bash scripts/postgres.sh)"'
        )
    from tests.archive.conftest import fresh_postgres_database

    yield from fresh_postgres_database()


@pytest.fixture
def sample_run(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A SQLite archive holding the sample run: (its path, the ids by role)."""
    url = str(tmp_path / "archive.db")
    with open_archive(url) as archive:
        return url, sample.build(archive)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = tmp_path / "screenshots"
    out.mkdir()
    return out


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail(
            "Debian's chromium and chromium-driver are needed: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1600",
    ):
        options.add_argument(arg)
    b = webdriver.Chrome(service=Service(driver), options=options)
    b.set_page_load_timeout(30)
    try:
        yield b
    finally:
        b.quit()
