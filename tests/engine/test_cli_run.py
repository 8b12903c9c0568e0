"""`dgm run` end to end in the real Docker sandbox, driven by a scripted model served
through the real gateway.

The seed is the bundled seed agent with one handicap: its editor's str_replace refuses to
edit. The scripted model (a) tells the agents the gold edit for four swe-mini tasks,
and (b) answers the diff operator's prompt with a SEARCH/REPLACE block that removes the
handicap. So the parent really resolves nothing, and its child really resolves the tasks:
graded by the real grader on the real tasks, in sandboxes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from archive import Archive, open_archive
from benchmarks.suites import open_suite, select_tasks
from benchmarks.task import Task
from dgm.agent_contract import agent_files
from dgm.suite_run import SEED_AGENT_DIR
from tests.processes import DGM, Deadline, dgm_process, wait_for_archive

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

WORKING = "def str_replace(path: Path, old: str, new: str) -> str:\n    if not path.is_file():"
HANDICAP = (
    "def str_replace(path: Path, old: str, new: str) -> str:\n"
    '    return "error: editing is disabled"\n'
    "    if not path.is_file():"
)
# swe-mini tasks whose gold patches the script turns into editor calls (verified to resolve).
TEST_TASKS = [
    "ledgerly__ledgerly-1",
    "ledgerly__ledgerly-4",
    "ledgerly__ledgerly-5",
    "ledgerly__ledgerly-7",
]
DIFF_PROMPT = re.escape("Change the agent's code to fix this")


def hunks(patch: str) -> list[tuple[str, str]]:
    """(old lines, new lines) of each change in a unified diff."""
    out, old, new = [], [], []
    for line in patch.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
        elif old or new:
            out.append(("\n".join(old), "\n".join(new)))
            old, new = [], []
    if old or new:
        out.append(("\n".join(old), "\n".join(new)))
    return out


def gold_entry(task: Task) -> dict[str, Any]:
    """The scripted answer to a task's problem: its gold patch as editor calls."""
    title = task.problem_statement.strip().splitlines()[0]
    path = re.search(r"^\+\+\+ b/(\S+)", task.patch, re.M).group(1)  # type: ignore[union-attr]
    calls = [
        {
            "name": "editor",
            "arguments": {"command": "str_replace", "path": path, "old_str": o, "new_str": n},
        }
        for o, n in hunks(task.patch)
    ]
    return {"pattern": re.escape(title), "tool_calls": calls}


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


PROPOSAL = {
    "log_summarization": "Every str_replace call answered 'error: editing is disabled', so no patch was made.",
    "potential_improvements": ["make the editor edit"],
    "improvement_proposal": "Remove the early return that disables str_replace in tools.py.",
    "implementation_suggestion": 'Delete the line `return "error: editing is disabled"` in tools.py.',
    "problem_description": "The editor tool's str_replace never edits: it always returns 'error: editing is disabled'.",
}


def write_setup(
    tmp: Path, iterations: int, workers: int, operator: str = "diff", seed: int = 3
) -> Path:
    agent = tmp / "handicapped"
    for rel, data in agent_files(SEED_AGENT_DIR).items():
        (agent / rel).parent.mkdir(parents=True, exist_ok=True)
        (agent / rel).write_bytes(data)
    tools = (agent / "tools.py").read_text()
    assert WORKING in tools, "the seed agent's str_replace changed: update this test's handicap"
    (agent / "tools.py").write_text(tools.replace(WORKING, HANDICAP))

    main_line = next(
        ln for ln in (agent / "__main__.py").read_text().splitlines() if ln.startswith("def main(")
    )
    entries: list[dict] = [
        # self_modify, step 2: the diagnosis (a well-formed proposal).
        {
            "pattern": "Answer with one JSON object",
            "content": "```json\n" + json.dumps(PROPOSAL) + "\n```",
        },
        # self_modify, step 3: the handicapped agent, working on its own code, fixes it with bash.
        {
            "pattern": "# Improve this coding agent",
            "tool_calls": [
                {
                    "name": "bash",
                    "arguments": {"command": "sed -i '/editing is disabled/d' tools.py"},
                }
            ],
        },
        # The prompt for the handicapped agent (its code is in the prompt): remove the handicap.
        {
            "pattern": rf"(?s)(?=.*editing is disabled\").*{DIFF_PROMPT}",
            "content": block("tools.py", HANDICAP, WORKING),
        },
        # Any other agent: a harmless change, so later iterations make children too.
        {
            "pattern": DIFF_PROMPT,
            "content": block("__main__.py", main_line, f"# evolved\n{main_line}"),
        },
        # The agent's editor answered (edited, or refused): it is done.
        {"pattern": r"^(edited|error|\[exit code)", "content": "Done."},
    ]
    entries += [
        gold_entry(task) for task in select_tasks(open_suite("swe-mini").tasks(), TEST_TASKS)
    ]
    script = tmp / "script.yaml"
    script.write_text(yaml.safe_dump(entries, sort_keys=False))
    config = tmp / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": f"scripted:{script}",
                "operator": operator,
                "selector": "best",
                "seed_agent": str(agent),
                "max_iterations": iterations,
                "workers": workers,
                "prompt_chars": 200000,
                "seed": seed,
                "stages": [{"name": "small", "tasks": TEST_TASKS}],
                # The script gives every child of a parent the same edit, and these tests
                # count each child's evaluations: the duplicate check (tests/engine/
                # test_novelty.py) would reject the repeats unevaluated.
                "novelty": {"duplicates": False},
            }
        )
    )
    return config


def dgm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DGM), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_a_child_really_resolves_more_tasks_than_its_parent(tmp_path: Path) -> None:
    config = write_setup(tmp_path, iterations=1, workers=2)
    proc = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, child = archive.agents(run.id)
    assert child.parent_id == seed.id and child.operator == "diff"
    seed_evals, child_evals = archive.evaluations(seed.id), archive.evaluations(child.id)
    n = len(TEST_TASKS)
    assert len(seed_evals) == len(child_evals) == n
    assert sum(e.resolved for e in seed_evals) == 0
    assert sum(e.resolved for e in child_evals) == n
    assert seed.score == 0.0 and child.score == 1.0
    assert archive.best_agent(run.id).id == child.id  # type: ignore[union-attr]
    assert 'return "error: editing is disabled"' in archive.diff(child.id)
    assert all(v == "PASSED" for e in child_evals for v in e.tests.values())
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes["mutate"] == 1 and purposes["agent"] >= 2 * n
    assert archive.run(run.id).status == "finished"


def test_self_modification_the_parent_agent_fixes_its_own_code(tmp_path: Path) -> None:
    # The seed's patches are all empty, so DGM's draw must pick a special case (seed 5 draws
    # stochasticity): its unresolved pool, empty patches excluded, is empty.
    config = write_setup(tmp_path, iterations=1, workers=2, operator="self_modify", seed=5)
    proc = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, child = archive.agents(run.id)
    assert child.operator == "self_modify" and child.status == "evaluated"
    origin = archive.agent(child.id).origin
    assert origin["diagnosis"]["improvement_proposal"] == PROPOSAL["improvement_proposal"]
    assert origin["problem_statement"].startswith("# Improve this coding agent")
    assert origin["focus"]["kind"] in {"empty_patch", "stochasticity", "unresolved"}
    diff = archive.diff(child.id)
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == ['-    return "error: editing is disabled"']
    assert not [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert seed.score == 0.0 and child.score == 1.0
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes["diagnose"] == 1 and purposes["self_modify"] == 2  # the bash call, then "Done."
    assert "1 (1 evaluated)" in proc.stderr  # the end summary's children row


def child_evaluation_begun(archive: Archive) -> bool:
    """The seed is evaluated and the child's evaluation has begun."""
    runs = archive.runs()
    agents = archive.agents(runs[0].id) if runs else []
    recorded = sum(len(archive.evaluations(a.id)) for a in agents)
    return len(agents) >= 2 and recorded >= 5


def test_kill_9_mid_evaluation_then_resume_loses_nothing_and_repeats_nothing(
    tmp_path: Path, deadline: Deadline
) -> None:
    config = write_setup(tmp_path, iterations=2, workers=1)
    db = tmp_path / ".dgm" / "archive.db"
    with dgm_process(["run", str(config), "--quiet"], tmp_path) as proc:
        wait_for_archive(db, child_evaluation_begun, "the child's evaluation began", proc, deadline)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    before = {
        (a.id, e.task_id): e.resolved
        for a in archive.agents(run.id)
        for e in archive.evaluations(a.id)
    }
    assert archive.run(run.id).status == "running"  # nobody had the chance to say otherwise
    n = len(TEST_TASKS)
    assert n < len(before) < 3 * n, "killed mid-evaluation"

    resumed = dgm("run", "--resume", run.id[:6], "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    agents = archive.agents(run.id)
    pairs = [(a.id, e.task_id) for a in agents for e in archive.evaluations(a.id)]
    after = {(a.id, e.task_id): e.resolved for a in agents for e in archive.evaluations(a.id)}
    assert len(pairs) == len(set(pairs)), "nothing is evaluated twice"
    assert {k: after[k] for k in before} == before, "nothing evaluated is lost"
    assert len(agents) == 3 and all(a.status == "evaluated" for a in agents)
    assert len(pairs) == 3 * n, "the evaluation in flight was redone"
    assert [a.score for a in agents] == [0.0, 1.0, 1.0]
    sessions = archive.events(run.id, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True]
    assert archive.run(run.id).status == "finished"


def some_evaluation(archive: Archive) -> str | None:
    """The run's id, once one of its agents has an evaluation."""
    runs = archive.runs()
    if runs and any(archive.evaluations(a.id) for a in archive.agents(runs[0].id)):
        return runs[0].id
    return None


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path: Path, deadline: Deadline) -> None:
    config = write_setup(tmp_path, iterations=2, workers=2)
    db = tmp_path / ".dgm" / "archive.db"
    with dgm_process(["run", str(config), "--quiet"], tmp_path, stdout=subprocess.PIPE) as proc:
        run_id = wait_for_archive(db, some_evaluation, "an evaluation", proc, deadline)
        twice = dgm("run", "--resume", run_id, "--quiet", cwd=tmp_path)
        assert (
            twice.returncode == 2
            and f"is being run right now by process {proc.pid}" in twice.stderr
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=deadline.left(30))
    assert proc.returncode == 0, err
    archive = open_archive(db, create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "stopped"
    (stopped,) = archive.events(run.id, kinds=["session_stopped"])
    assert stopped.payload == {"reason": "interrupted", "status": "stopped"}
    # every job that started was finished and recorded: no stage was left half-announced
    started = sum(len(e.payload["tasks"]) for e in archive.events(run.id, kinds=["stage_started"]))
    recorded = sum(len(archive.evaluations(a.id)) for a in archive.agents(run.id))
    assert 0 < recorded < 3 * len(TEST_TASKS) and recorded <= started
    resumed = dgm("run", "--resume", run.id, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert archive.run(run.id).status == "finished"
    pairs = [(a.id, e.task_id) for a in archive.agents(run.id) for e in archive.evaluations(a.id)]
    assert len(pairs) == len(set(pairs)) == 3 * len(TEST_TASKS)


def test_no_docker_engine_is_one_line_and_leaves_no_run(tmp_path: Path) -> None:
    config = write_setup(tmp_path, iterations=1, workers=1)
    proc = subprocess.run(
        [str(DGM), "run", str(config), "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"},
    )
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert (
        len(errors) == 1
        and "no Docker engine answers" in errors[0]
        and "Traceback" not in proc.stderr
    )
    # checked before the run, and its archive, were created: nothing written
    assert not (tmp_path / ".dgm").exists()


def test_invalid_config_is_one_line(tmp_path: Path) -> None:
    proc = dgm("run", "--workers", "0", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: invalid config field 'workers': out of range (got 0; valid: at least 1 and at most "
        "64); fix it in the YAML or on the command line"
    ]


@pytest.mark.local_model
def test_a_short_run_with_the_real_local_model_completes(tmp_path: Path) -> None:
    """Whatever it scores: the bundled SmolLM2-135M is weak; the run must still end cleanly."""
    config = tmp_path / "local.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": "local",
                "operator": "self_modify",
                "max_iterations": 1,
                "workers": 1,
                "seed": 0,
                "diagnosis_retries": 1,
                "prompt_chars": 3000,
                "agent_limits": {"timeout_s": 300, "max_steps": 2},
                "self_modify_limits": {"timeout_s": 300, "max_steps": 2},
                "stages": [{"name": "small", "tasks": TEST_TASKS[:1]}],
            }
        )
    )
    proc = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    assert archive.run(run.id).status == "finished"
    agents = archive.agents(run.id)
    assert agents[0].status == "evaluated" and len(archive.evaluations(agents[0].id)) == 1
    expansions = len(agents) - 1 + len(archive.events(run.id, kinds=["expansion_failed"]))
    assert expansions == 1  # the one iteration happened: a child, or a recorded failure
    calls = archive.llm_calls(run.id, bodies=False)
    assert {c.purpose for c in calls} >= {"agent", "diagnose"} and all(
        c.model == "local" for c in calls
    )


def test_the_summary_names_failed_expansions_and_their_most_common_reason() -> None:
    from dgm.cli.run import failed_expansions

    assert failed_expansions([]) is None
    assert failed_expansions(["no valid diagnosis", "sandbox timeout", "no valid diagnosis"]) == (
        "3 (most often: no valid diagnosis)"
    )


def test_the_summary_points_to_a_run_that_improves_when_no_child_beat_the_seed() -> None:
    from dataclasses import replace

    from archive import AgentInfo
    from dgm.cli.run import stalled_hint

    seed = AgentInfo(
        id="s", run_id="r", parent_id=None, second_parent_id=None, generation=0,
        operator="seed", status="evaluated", reason=None, score=0.0, scores={}, n_children=1,
        n_evaluated=1, n_resolved=0, cost_usd=0.0, files_changed=0, lines_added=0,
        lines_removed=0, created_at=0.0,
    )  # fmt: skip
    scored = replace(seed, id="c", parent_id="s", generation=1, operator="diff")
    unscored = replace(scored, score=None, status="rejected")
    assert "--problem rastrigin" in (stalled_hint(seed, [scored]) or "")
    assert stalled_hint(scored, [scored]) is None  # a child is the best
    assert stalled_hint(seed, [unscored]) is None  # nothing was scored: nothing to compare
    assert stalled_hint(None, []) is None


def test_the_budget_line_shows_dollars_as_display_does() -> None:
    from dgm.cli.run import budget_line

    assert budget_line(0.5, 0.01, 0.0051) == "budget: 50% of $0.0100 spent ($0.0051)"
    assert budget_line(0.8, 2.0, 1.6) == "budget: 80% of $2.00 spent ($1.60)"
    assert budget_line(0.5, 0.0001, 0.00005) == "budget: 50% of $0.00010 spent ($0.000050)"
