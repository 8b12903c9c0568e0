"""Archive URLs (archive/db.py): any --archive text becomes a SQLAlchemy URL or one
ArchiveError line; turning a URL into a URL changes nothing; a path round-trips through
its sqlite URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.db import to_url
from archive.errors import ArchiveError
from archive.sqlite_file import sqlite_file
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(120)

schemes = st.sampled_from(["sqlite", "postgresql", "postgresql+psycopg", "mysql", "foo", ""])
urls = st.builds(
    lambda scheme, rest: f"{scheme}://{rest}",
    schemes,
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
)
paths = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: "://" not in s)


@FEW
@given(st.one_of(urls, paths))
def test_any_archive_text_is_a_url_or_one_line(text: str) -> None:
    try:
        url = to_url(text)
    except ArchiveError as e:
        assert "\n" not in str(e) and str(e)
        return
    assert "://" in url
    assert to_url(url) == url  # idempotent


@FEW
@given(paths)
def test_a_path_round_trips_through_its_sqlite_url(text: str) -> None:
    try:
        url = to_url(text)
    except ArchiveError as e:  # a path a URL cannot hold, or a ~user that does not exist
        assert ("?" in text and "contains '?'" in str(e)) or (
            text.startswith("~") and str(e).startswith("invalid archive path")
        ), e
        return
    expected = Path(os.path.expanduser(text)).resolve()
    assert sqlite_file(url) == expected
