"""Agent and problem folders are read without following links (sandbox/folders.py): a link
to /proc/self/environ inside one must never carry dgm's environment anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import dgm.seed_agent as seed_package
from benchmarks.problems import ProblemError, load
from dgm.agent_contract import agent_files
from sandbox.folders import Folder, FolderError, FolderLimits
from tests.cli.conftest import dgm, one_line_error, snapshot

CANARY = "DGM_CANARY_SECRET"
CANARY_VALUE = "canary-7f3a9e1c5b2d4e6f8a0b1c2d3e4f5a6b"
SEED = Path(seed_package.__file__).parent


def copy_agent(dest: Path) -> Path:
    dest.mkdir()
    for rel, data in agent_files(SEED).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
    return dest


def leaky_agent(tmp_path: Path) -> Path:
    agent = copy_agent(tmp_path / "agent")
    (agent / "notes").mkdir()
    (agent / "notes" / "env.txt").symlink_to("/proc/self/environ")
    return agent


def nowhere(folder: Path) -> None:
    """The canary is in no file under `folder` (the archive db, its -wal, anything)."""
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert CANARY_VALUE.encode() not in p.read_bytes(), p


def test_bench_run_refuses_an_agent_folder_with_a_link(tmp_path: Path) -> None:
    agent = leaky_agent(tmp_path)
    db = tmp_path / "a.db"
    proc = dgm(
        "bench", "run", "--agent", str(agent), "--suite", "swe-mini", "--tasks",
        "ledgerly__ledgerly-1", "--model", "local", "--archive", str(db),
        cwd=tmp_path, env={CANARY: CANARY_VALUE},
    )  # fmt: skip
    one_line_error(proc, "notes/env.txt is a symbolic link", "/proc/self/environ")
    assert CANARY_VALUE not in proc.stdout + proc.stderr
    assert not db.exists()  # refused before the archive was touched
    nowhere(tmp_path)


@pytest.mark.docker
def test_run_refuses_a_seed_agent_with_a_link(tmp_path: Path) -> None:
    agent = leaky_agent(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": "local",
                "seed_agent": str(agent),
                "max_iterations": 1,
                "stages": [{"name": "small", "tasks": ["ledgerly__ledgerly-1"]}],
            }
        )
    )
    db = tmp_path / "a.db"
    proc = dgm("run", str(config), "--archive", str(db), cwd=tmp_path, env={CANARY: CANARY_VALUE})
    one_line_error(proc, "seed_agent", "notes/env.txt is a symbolic link")
    assert CANARY_VALUE not in proc.stdout + proc.stderr
    nowhere(tmp_path)  # no file written holds the canary
    assert not db.exists()  # refused before the archive is opened to write


def test_a_link_to_a_folder_a_fifo_and_a_swapped_file_are_refused(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path / "agent")
    (agent / "etc").symlink_to("/etc")
    with pytest.raises(FolderError, match="etc is a symbolic link"):
        Folder(agent, "agent folder").read()
    (agent / "etc").unlink()
    os.mkfifo(agent / "pipe")
    with pytest.raises(FolderError, match="pipe is not a regular file"):
        Folder(agent, "agent folder").read()  # and does not hang on it


def test_links_in_skipped_folders_are_not_read_and_not_refused(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path / "agent")
    (agent / ".git").mkdir()
    (agent / ".git" / "env").symlink_to("/proc/self/environ")
    files = agent_files(agent)
    assert "__main__.py" in files and not any(k.startswith(".git") for k in files)


def test_caps_name_the_limit_and_the_fix(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}.txt").write_bytes(b"x" * 1000)
    with pytest.raises(FolderError, match=r"more than 3 files \(the limit\).*only its code"):
        Folder(folder, "agent folder", limits=FolderLimits(max_files=3)).read()
    (folder / "huge.bin").write_bytes(b"x" * (2 << 20))
    with pytest.raises(FolderError, match=r"huge.bin is 2.0 MiB, over the 1 MiB limit per file"):
        Folder(folder, "agent folder", limits=FolderLimits(max_file_bytes=1 << 20)).read()
    with pytest.raises(FolderError, match=r"more than 2 MiB \(the limit\)"):
        Folder(folder, "agent folder", limits=FolderLimits(max_total_bytes=2 << 20)).read()


def test_a_problem_folder_with_a_link_is_refused(tmp_path: Path) -> None:
    problem = tmp_path / "prob"
    problem.mkdir()
    (problem / "problem.yaml").symlink_to("/proc/self/environ")
    (problem / "program.py").write_text("def f():\n    return 1\n")
    with pytest.raises(ProblemError, match="problem.yaml is a symbolic link") as e:
        load(problem)
    assert CANARY_VALUE not in str(e.value)


def test_problem_score_refuses_a_link_in_one_line(tmp_path: Path) -> None:
    problem = tmp_path / "prob"
    problem.mkdir()
    (problem / "initial_program.py").write_text("x = 1\n")
    (problem / "evaluator.py").write_text("def evaluate(p):\n    return {'combined_score': 1}\n")
    (problem / "data.txt").symlink_to("/proc/self/environ")
    before = snapshot(tmp_path)
    proc = dgm("problem", "score", str(problem), cwd=tmp_path, env={CANARY: CANARY_VALUE})
    one_line_error(proc, "data.txt is a symbolic link")
    assert snapshot(tmp_path) == before


def test_a_reevo_prompt_that_is_a_link_is_refused(tmp_path: Path) -> None:
    from tests.problems.layouts import write_reevo

    problem = write_reevo(tmp_path / "reevo")
    knowledge = tmp_path / "reevo" / "prompts" / "toy_tsp" / "external_knowledge.txt"
    knowledge.unlink()
    knowledge.symlink_to("/proc/self/environ")  # would go into every LLM prompt
    with pytest.raises(ProblemError, match="external_knowledge.txt is a symbolic link"):
        load(problem)
