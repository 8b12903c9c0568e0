"""Running `dgm` in-process exactly as the console script does (`dgm.cli.main`), with stdout
and stderr captured apart, and fingerprints of a folder and of an archive's rows to show that
a refused command changed nothing."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from dgm.cli import main

# SQLite's own side files: present while a connection is open, removed when the last closes.
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """What the user sees, on both streams, without blank lines."""
        return [ln for ln in (self.stdout + self.stderr).splitlines() if ln.strip()]


def dgm(args: Sequence[str], cwd: Path, env: Mapping[str, str | None] | None = None) -> Outcome:
    """`dgm ARGS` run through the console script's entry point, in `cwd`."""
    runner = CliRunner()
    old_argv, old_cwd = sys.argv, os.getcwd()
    with runner.isolation(env={"COLUMNS": "200", **(env or {})}) as (out, err, _mixed):
        sys.argv = ["dgm", *args]
        os.chdir(cwd)
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001 - what a user would see: a traceback, exit 1
            err.write(traceback.format_exc().encode())
            code = 1
        finally:
            sys.argv = old_argv
            os.chdir(old_cwd)
        return Outcome(
            code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")
        )


def folder_print(root: Path) -> dict[str, str]:
    """Every file under `root` (SQLite side files aside) -> sha256 of its bytes; every
    directory -> 'dir'; links -> their target."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        elif not rel.endswith(SIDE_FILES):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def rows_print(db: Path) -> list[str]:
    """Every row of every table of a SQLite archive (its WAL included), as SQL text."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
