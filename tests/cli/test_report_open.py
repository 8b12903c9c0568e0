"""`dgm report --open` says when nothing could open the report: no opener installed, or an
opener that fails (xdg-open on a machine with no viewer), instead of exiting silently."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.conftest import Ids
from tests.cli.runner import dgm


def report(workdir: Path, ids: Ids, path: str) -> tuple[int, str]:
    out = dgm(
        ["report", ids.run, "--out", str(workdir / "rep"), "--open"],
        workdir,
        env={"DGM_ARCHIVE": str(workdir / "a.db"), "PATH": path},
    )
    assert (workdir / "rep" / "report.md").is_file(), out  # the report itself is written
    return out.code, out.stderr


def test_no_opener_installed_is_said(workdir: Path, template: tuple[Path, Ids]) -> None:
    empty = workdir / "empty-bin"
    empty.mkdir()
    code, err = report(workdir, template[1], str(empty))
    assert code == 0 and "no viewer found (xdg-open/open is not installed)" in err, err


def test_an_opener_that_fails_is_said_with_its_reason(
    workdir: Path, template: tuple[Path, Ids]
) -> None:
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    opener.write_text("#!/bin/sh\necho 'xdg-open: no method available for opening' >&2\nexit 3\n")
    opener.chmod(0o755)
    code, err = report(workdir, template[1], f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    assert code == 0, err
    assert "xdg-open could not open the report (exit 3: xdg-open: no method available" in err
    assert "yourself" in err


def test_an_opener_that_works_is_quiet(workdir: Path, template: tuple[Path, Ids]) -> None:
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    seen = workdir / "opened.txt"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    opener.chmod(0o755)
    code, err = report(workdir, template[1], f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    assert code == 0 and "could not open" not in err and "no viewer" not in err, err
    assert seen.read_text().strip() == str(workdir / "rep" / "report.md")
