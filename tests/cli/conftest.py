"""The CLI as a user runs it: the real entry point in a subprocess, a small archive, and a
working folder of the bad files a careless user hands dgm (the bad-input table refers to the
template archive and those files by name)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from archive import open_archive
from dgm.config import RunConfig

ENTRY = "import sys; from dgm.cli import main; sys.argv[0] = 'dgm'; main()"


def dgm(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one line on stderr holding every needle, no traceback; that line."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links as their target) by relative path -> sha256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def bench_archive(tmp_path: Path) -> tuple[Path, str, str]:
    """(archive file, run id, agent id): a bench run with two evaluations and patches."""
    db = tmp_path / "a.db"
    with open_archive(db) as arch:
        run_id = arch.create_run("b", kind="bench")
        agent_id = arch.add_agent(run_id, {"__main__.py": b"print('hi')\n", "pkg/x.py": b"x = 1\n"})
        for task, patch in (("t-1", "diff a"), ("t-2", "diff b")):
            arch.record_evaluation(agent_id, task, 0, "bench", True, 1.0, {}, 1.0, patch=patch)
        arch.set_agent_status(agent_id, "evaluated")
        arch.set_agent_score(agent_id, "bench", 1.0)
    return db, run_id, agent_id


SEED = {"agent/__main__.py": b"print('seed')\n", "agent/tools.py": b"X = 1\n"}
CHILD = {"agent/__main__.py": b"print('child')\n", "agent/tools.py": b"X = 2\n"}

# The files each case finds in its working folder (the table names them).
FILES: Mapping[str, bytes] = {
    "ok.yaml": b"workers: 1\nsuite: swe-mini\n",
    "bad-yaml.yaml": b"workers: 2\n  oops: [\n",
    "tab-yaml.yaml": b"workers:\t2\n\tsuite: x\n",
    "not-utf8.yaml": b"\xff\xfe workers: 2\n",
    "list.yaml": b"- 1\n- 2\n",
    "scalar.yaml": b"just a string\n",
    "python-tag.yaml": b"workers: !!python/object/apply:os.system ['true']\n",
    "empty.yaml": b"",
    "bool-workers.yaml": b"workers: yes\n",
    "no-stage-tasks.yaml": b"stages:\n  - name: s\n    tasks: []\n",
    "bool-memory.yaml": b"agent_limits:\n  memory_mb: true\n",
    "script.yaml": b"- pattern: capital\n  content: Paris.\n",
    "bad-script.yaml": b"- pattern: [unclosed\n",
    "instance.json": (
        b'{"instance_id": "x__x-1", "repo": "x/x", "base_commit": "abc", "problem_statement": "p",'
        b' "patch": "", "test_patch": "", "FAIL_TO_PASS": ["t::a"], "PASS_TO_PASS": []}'
    ),
    "two-instances.jsonl": (
        b'{"instance_id": "a", "repo": "x/x", "base_commit": "c", "problem_statement": "p", "patch": "", "test_patch": ""}\n'
        b'{"instance_id": "b", "repo": "x/x", "base_commit": "c", "problem_statement": "p", "patch": "", "test_patch": ""}\n'
    ),
    "numbers.json": b"[1, 2, 3]",
    "object-no-fields.json": b'{"a": 1}',
    "wrong-types.json": (
        b'[{"instance_id": "w", "repo": ["x"], "base_commit": "c", "problem_statement": "p",'
        b' "patch": "", "test_patch": ""}]'
    ),
    "wrong-f2p.json": (
        b'[{"instance_id": "w", "repo": "x/x", "base_commit": "c", "problem_statement": "p",'
        b' "patch": "", "test_patch": "", "FAIL_TO_PASS": 7}]'
    ),
    "f2p-not-json.json": (
        b'[{"instance_id": "w", "repo": "x/x", "base_commit": "c", "problem_statement": "p",'
        b' "patch": "", "test_patch": "", "FAIL_TO_PASS": "[oops"}]'
    ),
    "garbage.json": b"garbage\n",
    "nested.json": b"[" * 100_000 + b"]" * 100_000,
    "nested.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "corrupt.parquet": b"PAR1 this is not a parquet file PAR1",
    "empty.jsonl": b"",
    "traversal.json": (
        b'[{"instance_id": "../../../../x", "repo": "x/x", "base_commit": "c",'
        b' "problem_statement": "p", "patch": "", "test_patch": ""}]'
    ),
    "twice.jsonl": (
        b'{"instance_id": "a", "repo": "x/x", "base_commit": "c", "problem_statement": "p", "patch": "", "test_patch": ""}\n'
        b'{"instance_id": "a", "repo": "x/x", "base_commit": "c", "problem_statement": "q", "patch": "", "test_patch": ""}\n'
    ),
    "openevolve-neg/config.yaml": b"evaluator:\n  timeout: -5\n",
    "openevolve-nan/config.yaml": b"evaluator:\n  timeout: .nan\n",
    "openevolve-inf/config.yaml": b"evaluator:\n  timeout: .inf\n",
    "openevolve-huge/config.yaml": b"evaluator:\n  timeout: 1e300\n",
    "garbage.jsonl": b'{"a": 1}\nnot json\n',
    "binary.json": b"\xff\xfe\x00\x01",
    "blank.json": b"\n",
    "log.txt": b"PASSED t::a\n",
    "not-a-db.db": b"this is not an archive\n",
    "empty.db": b"",
    "empty-dir/.keep": b"",
    "no-main/agent.py": b"print('no __main__')\n",
    "problem-empty/readme.txt": b"nothing here\n",
    "problem-binary/problem.yaml": b"\xff\xfe name: x\n",
    "problem-nan/problem.yaml": (
        b"name: x\ndirection: min\nprogram: [p.py]\nevaluator: {command: [python3, e.py]}\n"
        b"timeout_s: .nan\n"
    ),
    "problem-nan/p.py": b"x = 1\n",
    "problem-huge/problem.yaml": (
        b"name: x\ndirection: min\nprogram: [p.py]\nevaluator: {command: [python3, e.py]}\n"
        b"memory_mb: 99999999999\n"
    ),
    "problem-huge/p.py": b"x = 1\n",
    "problem-binprog/problem.yaml": (
        b"name: x\ndirection: min\nprogram: [p.py]\nevaluator: {command: [python3, e.py]}\n"
    ),
    "problem-binprog/p.py": b"\xff\xfe\n",
    "openevolve-binary/initial_program.py": b"\xff\xfe\n",
    "openevolve-binary/evaluator.py": b"def evaluate(p):\n    return {}\n",
    "program.py": b"def f():\n    return 1\n",
    **{
        f"openevolve-{k}/{name}": text
        for k in ("neg", "nan", "inf", "huge")
        for name, text in (
            ("initial_program.py", b"def f():\n    return 1\n"),
            ("evaluator.py", b"def evaluate(p):\n    return {'combined_score': 1.0}\n"),
        )
    },
    "pg-str/python/exercises/practice/ex/.meta/config.json": b'{"files": {"solution": "x.py"}}',
    "pg-list/python/exercises/practice/ex/.meta/config.json": b'{"files": [1]}',
    "pg-binary/python/exercises/practice/ex/.meta/config.json": b"\xff",
    "pg-binsrc/python/exercises/practice/ex/.meta/config.json": (
        b'{"files": {"solution": ["s.py"], "test": ["s_test.py"], "example": [".meta/e.py"]}}'
    ),
    "pg-binsrc/python/exercises/practice/ex/.meta/e.py": b"def f():\n    pass\n",
    "pg-binsrc/python/exercises/practice/ex/.docs/instructions.md": b"Do it.\n",
    "pg-binsrc/python/exercises/practice/ex/s.py": b"\xff\xfe",
    "pg-binsrc/python/exercises/practice/ex/s_test.py": b"import s\n",
}


@dataclass(frozen=True)
class Ids:
    """Ids in the template archive, for the table's {run}, {agent} ... placeholders."""

    run: str
    agent: str
    child: str
    twin: str
    bench_run: str


def build_archive(path: Path) -> Ids:
    config = RunConfig(suite="swe-mini", sandbox="local", model="scripted:script.yaml")
    with open_archive(path) as a:
        run = a.create_run("demo", config=config.model_dump(), seed=0)
        seed = a.add_agent(run, SEED, status="evaluated")
        child = a.add_agent(run, CHILD, parent_id=seed, operator="self_modify")
        a.set_agent_score(seed, "small", 0.5)
        a.set_agent_status(child, "evaluated")
        a.set_agent_score(child, "small", 1.0)
        a.record_evaluation(
            child, "x__x-1", 1, "small", True, 1.0, {"t::a": "PASSED"}, 1.5, patch="diff"
        )
        a.append_event(run, "session_started", {"resumed": False})
        a.set_run_status(run, "stopped")
        twin = a.create_run("twin", config=config.model_dump(), seed=0)
        a.create_run("twin", config=config.model_dump(), seed=0)
        bench = a.create_run("bench-x", kind="bench", config={"suite": "swe-mini"})
        a.set_run_status(bench, "finished")
    return Ids(run=run, agent=seed, child=child, twin=twin, bench_run=bench)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ids]:
    """The archive every case starts from (built once; each case gets a fresh copy)."""
    folder = tmp_path_factory.mktemp("template")
    ids = build_archive(folder / "a.db")
    for side in ("a.db-wal", "a.db-shm"):
        assert not (folder / side).exists(), "the template archive was left open"
    return folder / "a.db", ids


@pytest.fixture
def workdir(tmp_path: Path, template: tuple[Path, Ids]) -> Path:
    """A folder with a copy of the template archive (a.db) and the bad files of FILES."""
    shutil.copy(template[0], tmp_path / "a.db")
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return tmp_path
