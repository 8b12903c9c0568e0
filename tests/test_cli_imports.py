"""The CLI imports heavy libraries only where they are used (start-up time is measured by
benchmarks.perf.cli_startup; this checks the imports, which do not depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "litellm", "docker", "matplotlib", "pydantic", "yaml", "rich", "alembic")

PROBE = """
import json, sys
sys.argv = ["dgm", *sys.argv[1:]]
from dgm.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def imported_by(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_library() -> None:
    loaded = imported_by("--help")
    assert "typer" in loaded  # the probe really ran the CLI
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    "command",
    [["runs"], ["runs", "--json"], ["archive", "list", "r"], ["archive", "best", "r"]],
)
def test_browsing_a_sqlite_archive_imports_no_sqlalchemy(
    command: list[str], tmp_path: Path
) -> None:
    """A SQLite archive is browsed with the standard library's sqlite3 (archive.sqlite_reader)."""
    from archive import open_archive

    db = tmp_path / "a.db"
    with open_archive(db, create=True) as store:
        agent = store.add_agent(store.create_run("r"), {"a.py": b"x = 1\n"})
        store.set_agent_score(agent, "small", 0.5)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "--archive", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert agent[:8] in proc.stdout, proc.stdout + proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "sqlite3" in loaded  # it did open the archive
    assert loaded.isdisjoint(set(HEAVY) - {"rich"}), sorted(loaded & set(HEAVY))
    assert ("rich" in loaded) == (command != ["runs", "--json"])  # tables only
