"""Writes never clobber: one rule for `bench export -o`, `report --out`, `archive export`
and the archive `dgm run` creates (dgm/outputs.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import dgm, one_line_error, snapshot


def test_export_over_the_archive_is_refused_even_with_force(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    (tmp_path / "link.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    for target in (
        str(db),
        "a.db",
        "sub/../a.db",
        "link.db",
        "hard.db",
        f"{db}-wal",
        f"{db}-shm",
    ):
        for force in ([], ["--force"]):
            proc = dgm(
                "bench", "export", run_id, "-o", target, *force, "--archive", str(db), cwd=tmp_path
            )
            one_line_error(proc, target, "is the archive itself", "--force never")
    assert snapshot(tmp_path) == before  # the archive byte for byte, and nothing new beside it


def test_export_refuses_an_existing_file_unless_forced(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    out = tmp_path / "preds.jsonl"
    out.write_text("mine\n")
    before = snapshot(tmp_path)
    proc = dgm("bench", "export", run_id, "-o", str(out), "--archive", str(db), cwd=tmp_path)
    one_line_error(proc, str(out), "already exists", "--force")
    assert snapshot(tmp_path) == before
    forced = dgm(
        "bench", "export", run_id, "-o", str(out), "--force", "--archive", str(db), cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    assert [json.loads(x)["instance_id"] for x in out.read_text().splitlines()] == ["t-1", "t-2"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "preds.jsonl"]  # no temp left


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("adir", "is a folder"),
        ("missing/preds.jsonl", "no folder"),
        ("afile/preds.jsonl", "no folder"),
        ("/proc/preds.jsonl", "cannot write"),
        ("/proc/self/nope/preds.jsonl", "no folder"),
    ],
)
def test_export_to_an_odd_path_is_one_line(
    tmp_path: Path, bench_archive: tuple[Path, str, str], target: str, message: str
) -> None:
    db, run_id, _ = bench_archive
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    proc = dgm("bench", "export", run_id, "-o", target, "--archive", str(db), cwd=tmp_path)
    one_line_error(proc, target, message)
    assert snapshot(tmp_path) == before


def test_report_refuses_a_folder_with_files_unless_forced(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.md").write_text("my notes\n")
    (out / "keep.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    proc = dgm("report", run_id, "--out", str(out), "--archive", str(db), cwd=tmp_path)
    one_line_error(proc, f"--out {out}", "already exists", "--force")
    assert snapshot(tmp_path) == before
    forced = dgm("report", run_id, "--out", str(out), "--force", "--archive", str(db), cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (out / "keep.txt").read_text() == "mine\n"  # --force replaces ours, keeps theirs
    assert "my notes" not in (out / "report.md").read_text()
    assert (out / "tree.png").read_bytes()[:4] == b"\x89PNG"


def test_report_into_the_archive_file_or_an_odd_path(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    for out, message in (
        (str(db), "is the archive itself"),
        ("afile", "is a file"),
        ("missing/rep", "no folder"),
        ("/proc/rep", "cannot write"),
    ):
        proc = dgm("report", run_id, "--out", out, "--force", "--archive", str(db), cwd=tmp_path)
        one_line_error(proc, out, message)
    assert snapshot(tmp_path) == before


def test_report_default_folder_is_made_whole(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    proc = dgm("report", run_id, "--archive", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    made = tmp_path / "dgm-report" / run_id
    assert sorted(p.name for p in made.iterdir()) == [
        "cost.png",
        "manifest.json",
        "progress.png",
        "report.md",
        "tree.png",
    ]
    assert [p.name for p in (tmp_path / "dgm-report").iterdir()] == [run_id]  # no temp left
    again = dgm("report", run_id, "--archive", str(db), cwd=tmp_path)
    one_line_error(again, "already exists", "--force")


def test_archive_export_follows_the_same_rule(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, _, agent_id = bench_archive
    dest = tmp_path / "agent"
    ok = dgm("archive", "export", agent_id, str(dest), "--archive", str(db), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (dest / "pkg" / "x.py").read_text() == "x = 1\n"
    before = snapshot(tmp_path)
    again = dgm("archive", "export", agent_id, str(dest), "--archive", str(db), cwd=tmp_path)
    one_line_error(again, str(dest), "already exists", "--force")
    for odd, message in (
        (str(db), "is the archive itself"),
        (str(dest / "__main__.py"), "is a file"),
        ("/proc/agent", "cannot write"),
    ):
        proc = dgm(
            "archive", "export", agent_id, odd, "--force", "--archive", str(db), cwd=tmp_path
        )
        one_line_error(proc, odd, message)
    assert snapshot(tmp_path) == before
    forced = dgm(
        "archive", "export", agent_id, str(dest), "--force", "--archive", str(db), cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr


def test_archive_export_never_writes_over_the_archive_inside_the_folder(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    """An agent holding a file named like the archive, forced into the archive's folder."""
    from archive import open_archive

    db, run_id, _ = bench_archive
    with open_archive(db) as arch:
        sneaky = arch.add_agent(run_id, {"__main__.py": b"", "a.db": b"not an archive"})
    before = snapshot(tmp_path)
    proc = dgm(
        "archive", "export", sneaky, str(tmp_path), "--force", "--archive", str(db), cwd=tmp_path
    )
    one_line_error(proc, "is the archive itself")
    assert snapshot(tmp_path) == before


def test_run_archive_at_an_odd_path_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    for where in ("/proc/nope/a.db", "afile/a.db"):
        proc = dgm(
            "run", "--archive", where, "--max-iterations", "1", "--sandbox", "local", cwd=tmp_path
        )
        one_line_error(proc, "cannot create an archive at", where)
    assert snapshot(tmp_path) == before


def test_export_never_replaces_a_device_and_writes_through_a_link(
    tmp_path: Path, bench_archive: tuple[Path, str, str]
) -> None:
    db, run_id, _ = bench_archive
    for target in ("/dev/null", "/dev/stdout"):
        proc = dgm(
            "bench", "export", run_id, "-o", target, "--force", "--archive", str(db), cwd=tmp_path
        )
        one_line_error(proc, target, "not a regular file")
    assert Path("/dev/null").is_char_device()
    (tmp_path / "real.jsonl").write_text("old\n")
    (tmp_path / "link.jsonl").symlink_to("real.jsonl")
    (tmp_path / "dangling.jsonl").symlink_to("nowhere.jsonl")
    proc = dgm(
        "bench", "export", run_id, "-o", "dangling.jsonl", "--archive", str(db), cwd=tmp_path
    )
    one_line_error(proc, "dangling.jsonl", "a link to nothing")
    forced = dgm(
        "bench", "export", run_id, "-o", "link.jsonl", "--force", "--archive", str(db), cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "link.jsonl").is_symlink()
    assert "t-1" in (tmp_path / "real.jsonl").read_text()


def test_a_folder_that_fails_half_way_leaves_nothing(tmp_path: Path) -> None:
    from dgm.errors import UserError
    from dgm.outputs import Output, write_folder

    before = snapshot(tmp_path)
    files = {"a": b"x", "a/b": b"y"}  # the second cannot be written: `a` is a file
    with pytest.raises(UserError, match="cannot write DEST"):
        write_folder(Output(tmp_path / "new", "DEST"), files)
    assert snapshot(tmp_path) == before  # neither `new` nor its temporary folder
    with pytest.raises(UserError, match="outside the folder"):
        write_folder(Output(tmp_path / "new", "DEST"), {"../escape": b"x"})
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "location",
    ["{db}", "sqlite:///{db}", "sqlite:///{db}?mode=rwc", "{rel}", "sqlite:///{rel}"],
)
def test_every_spelling_of_the_archive_is_recognised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str
) -> None:
    from dgm.outputs import is_archive

    db = tmp_path / "a.db"
    db.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    where = location.format(db=db, rel="a.db")
    assert is_archive(db, where) and is_archive(Path("a.db-wal"), where)
    assert not is_archive(tmp_path / "b.db", where)
    assert not is_archive(db, "postgresql://u@h/db")
