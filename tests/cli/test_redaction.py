"""Secrets are redacted in every message and log (dgm/redact.py): URL passwords, tokens,
API keys, and the host's own secret variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dgm.redact import host_secrets, redact
from tests.cli.conftest import dgm, one_line_error, snapshot
from tests.properties.settings import FEW

PASSWORD = "hunter2-s3cret-pw"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"cannot open postgresql://alice:{PASSWORD}@db.example:5432/dgm", "alice:***@db.example"),
        (f"mysql+pymysql://bob:{PASSWORD}@h/x and more", "bob:***@h/x and more"),
        (f"url https://u:p@ss{PASSWORD}@host/v1 ok", "u:***@host/v1 ok"),
        (f"GET /v1?api_key={PASSWORD}&x=1", "?api_key=***&x=1"),
        (f"Authorization: Bearer {PASSWORD}", "Bearer ***"),
        (f"key sk-proj-{PASSWORD}abcdef rejected", "sk-*** rejected"),
        (f"OPENAI_API_KEY={PASSWORD} DGM_CANARY_SECRET: {PASSWORD}", "DGM_CANARY_SECRET: ***"),
    ],
)
def test_secret_shapes_are_masked(text: str, kept: str) -> None:
    out = redact(text, secrets=[])
    assert PASSWORD not in out and kept in out, out


def test_ordinary_text_is_left_alone() -> None:
    for text in (
        "http://localhost:8080/v1/models",
        "max_tokens: 512, temperature 0.2",
        "d[key] = value; a@b.c wrote x:y",
        "sqlite:////tmp/a.db",
    ):
        assert redact(text, secrets=[]) == text


def test_host_secrets_are_masked_by_value() -> None:
    env = {"MY_SERVICE_TOKEN": "tok-0123456789", "HOME": "/root", "SHORT_KEY": "abc"}
    assert host_secrets(env) == ["tok-0123456789"]
    assert redact("echoed tok-0123456789 back", host_secrets(env)) == "echoed *** back"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+asyncpg://alice:{PASSWORD}@localhost/dgm",  # driver missing
        f"mysql://alice:{PASSWORD}@localhost/dgm",  # driver missing
        f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:1/dgm",  # nothing listens there
    ],
)
def test_archive_url_errors_hide_the_password(tmp_path: Path, url: str) -> None:
    before = snapshot(tmp_path)
    proc = dgm("runs", "--archive", url, cwd=tmp_path)
    line = one_line_error(proc, "alice:***@")
    assert PASSWORD not in proc.stdout + proc.stderr, line
    assert snapshot(tmp_path) == before


def test_log_records_are_redacted_whatever_prints_them() -> None:
    code = (
        "import logging; from dgm.redact import redact_logs; redact_logs(); "
        "log = logging.getLogger('x'); "
        f"log.warning('connecting to %s', 'postgresql://a:{PASSWORD}@h/db'); "
        "exec('try:\\n    raise ValueError(\"Bearer " + PASSWORD + '")\\n'
        'except ValueError:\\n    log.exception("failed")\')'
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "a:***@h/db" in proc.stderr and "Bearer ***" in proc.stderr
    assert "ValueError" in proc.stderr and PASSWORD not in proc.stderr


URL_PASSWORD = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="/?#@"),
    min_size=1,
    max_size=40,
)


@settings(FEW, max_examples=100)  # FEW's health checks and deadline; hypothesis's count
@given(password=URL_PASSWORD, user=st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True))
def test_any_url_password_is_masked(password: str, user: str) -> None:
    shown = f"postgresql+psycopg://{user}:***@db.example:5432/dgm"
    assume(password not in shown)
    text = f"cannot use postgresql+psycopg://{user}:{password}@db.example:5432/dgm: refused"
    assert password not in redact(text, secrets=[])
    assert shown in redact(text, secrets=[])
