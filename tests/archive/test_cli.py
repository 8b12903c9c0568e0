"""`dgm runs` and `dgm archive ...` through the real CLI: output content and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from archive import Archive, LLMCallRecord, open_archive
from archive.db import to_url
from dgm.cli import app
from tests.archive.conftest import agent_files, edit

DGM = str(Path(sys.executable).parent / "dgm")


@pytest.fixture
def grown(archive_url: str) -> tuple[str, dict[str, str]]:
    """A small run, in SQLite and in PostgreSQL (the CLI takes either by --archive)."""
    return archive_url, grow(archive_url)


@pytest.fixture
def grown_file(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The same run in a SQLite file (for what only a file has: a default location)."""
    path = str(tmp_path / "archive.db")
    return path, grow(path)


def grow(path: str) -> dict[str, str]:
    """A small run: seed -> a (0.4) -> b (0.9, best) ; seed -> c (rejected)."""
    with open_archive(path) as a:
        run = a.create_run("demo-run", config={"selector": "best"})
        files = agent_files(n=3)
        seed = a.add_agent(run, files)
        fa = edit(files, "agent/mod001.py", b"x * 3 + 1", b"x * 3 + 11")
        ia = a.add_agent(
            run, fa, parent_id=seed, operator="self_modify", origin={"diagnosis": "wrong offset"}
        )
        ib = a.add_agent(run, edit(fa, "agent/mod002.py", b"x * 4 + 2", b"x * 4 - 2"), parent_id=ia)
        ic = a.add_agent(run, files | {"agent/broken.py": b"def (:\n"}, parent_id=seed)
        for agent, score in [(seed, 0.1), (ia, 0.4), (ib, 0.9)]:
            a.set_agent_status(agent, "evaluated")
            a.set_agent_score(agent, "small", score)
        a.set_agent_status(ic, "rejected", reason="does not compile: agent/broken.py line 1")
        a.record_evaluation(
            ib,
            "ledgerly__ledgerly-3",
            0,
            "small",
            True,
            1.0,
            {"tests/test_x.py::test_a": "PASSED", "tests/test_x.py::test_b": "PASSED"},
            4.2,
        )
        a.record_evaluation(
            ib, "ledgerly__ledgerly-4", 0, "small", False, 0.0, {}, 1.0, error_kind="timeout"
        )
        a.record_llm_call(
            LLMCallRecord(
                run, ib, None, "diagnose", "local", 10, 5, 0.25, 1.0, b"q", b"a", None, "k"
            )
        )
    return {"run": run, "seed": seed, "a": ia, "b": ib, "c": ic}


def dgm(path: str, *args: str) -> str:
    result = CliRunner().invoke(
        app,
        [*args, "--archive", path]
        if args[0] == "runs"
        else [args[0], args[1], *args[2:], "--archive", path],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_runs_table(grown: tuple[str, dict[str, str]]) -> None:
    path, ids = grown
    out = dgm(path, "runs")
    assert ids["run"][:8] in out and "demo-run" in out and "running" in out
    assert "0.900" in out and ids["b"][:8] in out and "$0.2500" in out
    rows = json.loads(dgm(path, "runs", "--json"))
    assert (
        rows[0]["id"] == ids["run"]
        and rows[0]["n_agents"] == 4
        and rows[0]["best_agent_id"] == ids["b"]
    )


def test_list_filters_sort_and_json(grown: tuple[str, dict[str, str]]) -> None:
    path, ids = grown
    out = dgm(path, "archive", "list", "demo-run")
    for key in "seed", "a", "b", "c":
        assert ids[key][:8] in out
    assert "rejected" in out and "small=0.90" in out and "1/2" in out
    out = dgm(path, "archive", "list", "demo-run", "--sort", "score", "--limit", "2")
    assert ids["b"][:8] in out and ids["a"][:8] in out and ids["c"][:8] not in out
    assert "4 agent(s)" in out and "showing 2 of 4" in out
    rows = json.loads(dgm(path, "archive", "list", ids["run"][:5], "--sort", "score", "--json"))
    assert [r["id"] for r in rows] == [ids["b"], ids["a"], ids["seed"], ids["c"]]
    rows = json.loads(dgm(path, "archive", "list", "demo-run", "--min-score", "0.3", "--json"))
    assert {r["id"] for r in rows} == {ids["a"], ids["b"]}
    rows = json.loads(dgm(path, "archive", "list", "demo-run", "--status", "rejected", "--json"))
    assert [(r["id"], r["reason"]) for r in rows] == [
        (ids["c"], "does not compile: agent/broken.py line 1")
    ]


def test_show(grown: tuple[str, dict[str, str]]) -> None:
    path, ids = grown
    out = dgm(path, "archive", "show", ids["b"][:6])
    assert ids["b"] in out and "demo-run" in out
    assert f"{ids['seed'][:8]} (0.100) > {ids['a'][:8]} (0.400) > {ids['b'][:8]} (0.900)" in out
    assert "ledgerly__ledgerly-3" in out and "2/2" in out and "timeout" in out
    assert "$0.2500 over 1 LLM call" in out and "1 of 2 evaluations" in out
    out = dgm(path, "archive", "show", ids["c"][:6])
    assert "rejected: does not compile: agent/broken.py line 1" in out
    assert "wrong offset" in dgm(path, "archive", "show", ids["a"])


def test_tree_highlights_the_best_lineage(grown: tuple[str, dict[str, str]]) -> None:
    path, ids = grown
    out = dgm(path, "archive", "tree", "demo-run")
    assert "4 agent(s)" in out
    assert f"{ids['b'][:8]} 0.900 evaluated 1/2  ★ best" in out
    lines = out.splitlines()
    depth = {
        k: next(ln.index(ids[k][:8]) for ln in lines if ids[k][:8] in ln) for k in ids if k != "run"
    }
    assert depth["seed"] < depth["a"] < depth["b"] and depth["c"] == depth["a"]


def test_tree_collapses_large_runs(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    with open_archive(path) as a:
        run = a.create_run("big")
        seed = a.add_agent(run, {"a.py": b"0"})
        level = [seed]
        for _depth in range(3):  # 1 + 8 + 64 + 512 agents
            level = [
                a.add_agent(run, {"a.py": f"{p}{i}".encode()}, parent_id=p)
                for p in level
                for i in range(8)
            ]
        best = level[-5]
        a.set_agent_score(best, "small", 0.99)
    out = dgm(path, "archive", "tree", "big", "--max-nodes", "20")
    assert f"{best[:8]} 0.990" in out and "★ best" in out
    shown = [ln for ln in out.splitlines() if "pending" in ln or "0.990" in ln]
    assert len(shown) == 20
    hidden = sum(int(ln.split("… ")[1].split(" more")[0]) for ln in out.splitlines() if "… " in ln)
    assert hidden + len(shown) == 1 + 8 + 64 + 512


def test_diff_lineage_best_export(grown: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    path, ids = grown
    out = dgm(path, "archive", "diff", ids["b"][:7])
    assert "--- a/agent/mod002.py" in out and "-    return x * 4 + 2\n+    return x * 4 - 2" in out
    assert "mod001" not in out
    out = dgm(path, "archive", "diff", ids["seed"][:7], ids["b"][:7])
    assert "+    return x * 3 + 11" in out and "+    return x * 4 - 2" in out
    out = dgm(path, "archive", "lineage", ids["b"][:7])
    title, table = out.split("\n", 1)
    assert title.startswith(f"lineage of {ids['b'][:8]}: 3 generation(s)")
    assert table.index(ids["seed"][:8]) < table.index(ids["a"][:8]) < table.index(ids["b"][:8])
    out = dgm(path, "archive", "best", "demo-run")
    assert ids["b"] in out and "0.900" in out
    assert json.loads(dgm(path, "archive", "best", "demo-run", "--json"))["id"] == ids["b"]
    out = dgm(path, "archive", "export", ids["b"][:7], str(tmp_path / "exported"))
    assert "wrote 3 file(s)" in out
    with Archive(path) as a:
        expected = a.agent_files(ids["b"])
    got = {
        p.relative_to(tmp_path / "exported").as_posix(): p.read_bytes()
        for p in (tmp_path / "exported").rglob("*")
        if p.is_file()
    }
    assert got == expected


def real_dgm(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DGM, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_input_is_one_line_and_exit_2(
    grown: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    path, _ = grown
    r = real_dgm("archive", "show", "ffffffffff", "--archive", path, cwd=tmp_path)
    assert_one_line_error(r, "no agent matches 'ffffffffff'")
    r = real_dgm("archive", "tree", "nope", "--archive", path, cwd=tmp_path)
    assert_one_line_error(r, "no run matches 'nope'")
    r = real_dgm("archive", "list", "demo-run", "--sort", "age", "--archive", path, cwd=tmp_path)
    assert_one_line_error(r, "cannot sort by 'age'")


def test_ambiguous_prefix_through_the_cli(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    with open_archive(path) as a:
        run = a.create_run("r")
        ids = [a.add_agent(run, {"a.py": str(i).encode()}) for i in range(40)]
    first = [i[0] for i in ids]
    shared = max(set(first), key=first.count)
    assert_one_line_error(
        real_dgm("archive", "show", shared, "--archive", path, cwd=tmp_path),
        f"agent prefix '{shared}' is ambiguous",
        "type more characters",
    )


def test_missing_archive_is_an_error_and_not_created(tmp_path: Path) -> None:
    r = real_dgm("runs", cwd=tmp_path, env={"DGM_ARCHIVE": ""})
    assert_one_line_error(r, "no archive at", ".dgm/archive.db")
    assert not (tmp_path / ".dgm").exists()
    r = real_dgm(
        "archive", "list", "x", cwd=tmp_path, env={"DGM_ARCHIVE": str(tmp_path / "env.db")}
    )
    assert_one_line_error(r, "no archive at", "env.db")
    assert not (tmp_path / "env.db").exists()


def test_default_location_and_env(grown_file: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    path, ids = grown_file
    r = real_dgm("runs", cwd=tmp_path, env={"DGM_ARCHIVE": path})
    assert r.returncode == 0 and "demo-run" in r.stdout
    (tmp_path / ".dgm").mkdir()
    os.link(path, tmp_path / ".dgm" / "archive.db")
    r = real_dgm("archive", "best", "demo-run", cwd=tmp_path, env={"DGM_ARCHIVE": ""})
    assert r.returncode == 0 and ids["b"] in r.stdout


def test_corrupt_and_newer_archives(grown: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    path, _ = grown
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all\n" * 300)
    assert_one_line_error(
        real_dgm("runs", "--archive", str(junk), cwd=tmp_path), "junk.db", "not a database"
    )
    engine = sa.create_engine(to_url(path))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff99'"))
    engine.dispose()
    assert_one_line_error(
        real_dgm("runs", "--archive", path, cwd=tmp_path), "newer dgm", "upgrade dgm"
    )


def test_user_text_is_printed_literally_not_as_markup(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    with open_archive(path) as a:
        run = a.create_run("[bold]run[/]")
        agent = a.add_agent(run, {"a.py": b"x"}, operator="op[x]", origin={"note": "[/oops]"})
        a.set_agent_status(agent, "rejected", reason="SyntaxError [/b] at [line 3]")
        a.record_evaluation(
            agent, "task[1]", 0, "stage[a]", False, None, {}, 1.0, error_kind="agent_crash"
        )
    assert "[bold]run[/]" in dgm(path, "runs")
    out = dgm(path, "archive", "show", agent)
    for text in (
        "SyntaxError [/b] at [line 3]",
        "op[x]",
        "[/oops]",
        "task[1]",
        "stage[a]",
        "agent_crash",
    ):
        assert text in out
    assert "op[x]" in dgm(path, "archive", "list", run) and "op[x]" in dgm(
        path, "archive", "lineage", agent
    )
