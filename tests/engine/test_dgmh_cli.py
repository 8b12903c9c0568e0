"""`dgm run` with the dgmh operator end to end: a swe-mini task in the real Docker sandbox,
graded by the real grader, a scripted model served through the real gateway (the setup of
test_cli_run.py, the seed agent's editor working so that every agent resolves the task and
is admitted). Each self-modification rewrites the agent's own selector; the choices that
follow show whose selector ran. A crashing selector falls back, counted in the summary and
the report; kill -9 then --resume repeats no iteration."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import yaml

from archive import Archive, open_archive
from dgm.config import read_yaml, validate
from dgm.dgmh import EVENT, INSTRUCTIONS, SELECTOR, procedure_files
from tests.engine.test_cli_run import HANDICAP, TEST_TASKS, WORKING, dgm, write_setup
from tests.engine.test_replay_and_cost_e2e import tree
from tests.processes import Deadline, dgm_process, first_run, wait_for_archive

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

# The seed's rule: the oldest agent. Its self-modification switches the flag, so every
# child's rule is the newest agent.
FLAGGED = (
    b"NEWEST = False\n\n\n"
    b"def select(summary):\n"
    b"    agents = summary['agents']\n"
    b"    return [agents[-1]['id'] if NEWEST else agents[0]['id']]\n"
)
CRASHING = b"def select(summary):\n    raise RuntimeError('selector fell over')\n"
HEADING = re.escape("# Improve this agent, and the way it improves")
SELF_EDIT = (
    "sed -i 's/^NEWEST = False/NEWEST = True/' meta/select_parent.py"
    " && echo '- Keep changes small.' >> meta/improve.md"
)


def dgmh_setup(tmp: Path, iterations: int, selector: bytes) -> Path:
    config = write_setup(tmp, iterations=iterations, workers=1, operator="dgmh")
    agent = tmp / "handicapped"
    tools = agent / "tools.py"
    tools.write_text(tools.read_text().replace(HANDICAP, WORKING))  # every agent resolves
    (agent / "meta").mkdir()
    (agent / INSTRUCTIONS).write_bytes(procedure_files()[INSTRUCTIONS])
    (agent / SELECTOR).write_bytes(selector)
    script = tmp / "script.yaml"
    entries = yaml.safe_load(script.read_text())
    # The agent on its own code (its instructions' heading): edit the selector and the
    # instructions with bash (first match wins: before the task entries).
    edit = {
        "pattern": HEADING,
        "tool_calls": [{"name": "bash", "arguments": {"command": SELF_EDIT}}],
    }
    script.write_text(yaml.safe_dump([edit, *entries], sort_keys=False))
    data = yaml.safe_load(config.read_text())
    data.update(
        selector="score_child_prop",
        stages=[{"name": "small", "tasks": TEST_TASKS[:1]}],
        # After the first child every self-modification makes the same selector edit (its
        # flag is already set) and adds the same line: the duplicate check would reject
        # grandchildren that differ from their parents' siblings only by that line.
        novelty={"duplicates": False},
    )
    config.write_text(yaml.safe_dump(data))
    return config


def flat(text: str) -> str:
    """A summary's words in order: rich's table frames and line wraps taken out."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def selections(archive: Archive, run_id: str) -> dict[int, dict]:
    return {e.payload["iteration"]: e.payload for e in archive.events(run_id, kinds=[EVENT])}


def test_the_dgm_h_preset_is_valid() -> None:
    cfg = validate(read_yaml("dgm-h"))
    assert cfg.operator == "dgmh" and cfg.selector == "score_child_prop"
    assert cfg.dgmh.selector_timeout_s == 30


def test_a_childs_edited_selector_picks_the_next_parents(tmp_path: Path) -> None:
    proc = dgm("run", str(dgmh_setup(tmp_path, 3, FLAGGED)), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, c1, c2, c3 = archive.agents(run.id)
    assert all(a.status == "evaluated" and a.score == 1.0 for a in (seed, c1, c2, c3))
    assert archive.agent_files(seed.id)[SELECTOR] == FLAGGED
    assert b"NEWEST = True" in archive.agent_files(c1.id)[SELECTOR]
    # The seed's rule (the oldest) chose the first parent; from then on the newest agent's
    # edited rule chose (the newest), where the seed's would have chosen the seed again.
    assert (c1.parent_id, c2.parent_id, c3.parent_id) == (seed.id, c1.id, c2.id)
    chosen = selections(archive, run.id)
    assert [(chosen[i]["selector"], chosen[i]["picked"]) for i in (1, 2, 3)] == [
        (seed.id, [seed.id]),
        (c1.id, [c1.id]),
        (c2.id, [c2.id]),
    ]
    assert all(chosen[i]["fallback"] is None for i in (1, 2, 3))
    origin = archive.agent(c2.id).origin
    assert origin["selection"]["selector"] == c1.id and origin["instructions"] == "agent"
    assert origin["problem_statement"].startswith("# Improve this agent, and the way it improves")
    assert "- Keep changes small." in origin["problem_statement"]  # c1's own instructions
    assert "parent selection 3 by agents' selectors, 0 by score_child_prop" in flat(proc.stderr)


def test_a_crashing_selector_falls_back_and_reports_count_it(tmp_path: Path) -> None:
    proc = dgm("run", str(dgmh_setup(tmp_path, 2, CRASHING)), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    agents = archive.agents(run.id)
    assert len(agents) == 3
    chosen = selections(archive, run.id)
    assert sorted(chosen) == [1, 2]
    for c in chosen.values():
        assert c["fallback"] == "score_child_prop" and c["kind"] == "crashed"
        assert c["reason"] == "RuntimeError: selector fell over"
        assert "Traceback" in c["log"]
    # The fallback's parents are the children's parents.
    assert [a.parent_id for a in agents[1:]] == [chosen[1]["picked"][0], chosen[2]["picked"][0]]
    line = "0 by agents' selectors, 2 by score_child_prop (2 crashed)"
    assert f"parent selection {line}" in flat(proc.stderr)
    out = tmp_path / "report"
    report = dgm("report", run.id, "--out", str(out), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert f"- parent selection (DGM-H): {line}" in (out / "report.md").read_text()


def test_kill_9_then_resume_repeats_no_iteration(tmp_path: Path, deadline: Deadline) -> None:
    config = dgmh_setup(tmp_path, 3, FLAGGED)
    db = tmp_path / ".dgm" / "archive.db"
    with dgm_process(["run", str(config), "--quiet"], tmp_path) as proc:
        run_id = wait_for_archive(db, first_run, "a run", proc, deadline)
        # Killed once the second child is in the archive, before the run ends.
        wait_for_archive(
            db, lambda a: len(a.agents(run_id)) >= 3, "the second child", proc, deadline
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    archive = open_archive(db, create=False)
    before = [(a.id, a.parent_id) for a in archive.agents(run_id)]
    assert archive.run(run_id).status == "running"
    resumed = dgm("run", "--resume", run_id[:6], "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    agents = archive.agents(run_id)
    assert [(a.id, a.parent_id) for a in agents[: len(before)]] == before, "nothing lost"
    iterations = [archive.agent(a.id).origin["iteration"] for a in agents[1:]]
    assert sorted(iterations) == [1, 2, 3], "each iteration made one child"
    assert [a.parent_id for a in agents[1:]] == [a.id for a in agents[:-1]]  # still a chain
    pairs = [(a.id, e.task_id) for a in agents for e in archive.evaluations(a.id)]
    assert len(pairs) == len(set(pairs)) == 4, "nothing evaluated twice"
    assert "parent selection 3 by agents' selectors, 0 by" in flat(resumed.stderr)


def test_replay_rebuilds_the_tree_the_selectors_grew(tmp_path: Path) -> None:
    config = dgmh_setup(tmp_path, 2, FLAGGED)
    first = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (recorded,) = archive.runs()
    again = dgm("run", str(config), "--model", f"replay:{recorded.id}", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (replayed,) = [r for r in archive.runs() if r.id != recorded.id]
    original = tree(archive, recorded.id)
    assert [t[0] for t in original] == [None, 0, 1]  # the chain the edited selectors chose
    assert tree(archive, replayed.id) == original
    assert len(selections(archive, replayed.id)) == 2
