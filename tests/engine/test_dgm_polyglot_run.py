"""`dgm run dgm-paper --suite polyglot:PATH` as DGM's polyglot runs go (docs/fidelity.md),
a real run in Docker with a scripted model: a first stage of two of DGM's small subset's
exercises (its Python ones), the seed runs every exercise of the suite once, every exercise
gets one try (DGM's harness, not Aider's two), and the child's self-modification draws its
focus from the seed's failures over the whole suite."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from tests.benchmarks.test_polyglot import add_exercise, make_checkout
from tests.processes import run_dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

PROPOSAL = {
    "log_summarization": "The agent made no edit.",
    "potential_improvements": ["edit the solution file"],
    "improvement_proposal": "Make the agent edit the solution.",
    "implementation_suggestion": "Mark the agent's code as evolved.",
    "problem_description": "The agent should edit the solution file before it stops.",
}
SCRIPT = [
    {"pattern": "Answer with one JSON object", "content": json.dumps(PROPOSAL)},
    {
        "pattern": "# Improve this coding agent",
        "tool_calls": [
            {"name": "bash", "arguments": {"command": "echo '# evolved' >> __main__.py"}}
        ],
    },
    {"pattern": ".", "content": "Done."},  # every other message: stop without editing
]


def test_dgm_paper_on_a_polyglot_checkout(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "bench")  # leap, outside DGM's subsets
    add_exercise(root, "dominoes")  # DGM's small subset's Python exercises
    add_exercise(root, "beer-song")
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(SCRIPT, sort_keys=False))
    proc = run_dgm(
        *("run", "dgm-paper", "--suite", f"polyglot:{root}", "--model", "scripted:script.yaml"),
        *("--max-iterations", "1", "--set"),
        "stages=[{name: small, tasks: [polyglot__python-dominoes, polyglot__python-beer-song]}]",
        *("--set", "workers=1", "--quiet"),
        cwd=tmp_path,
        timeout=840,
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    seed, child = archive.agents(run.id)
    small = ["polyglot__python-beer-song", "polyglot__python-dominoes"]
    seed_evals = {e.task_id: e for e in archive.evaluations(seed.id)}
    assert sorted(seed_evals) == [*small, "polyglot__python-leap"]  # the whole suite, once
    assert seed_evals["polyglot__python-leap"].stage == "suite"
    assert sorted(e.task_id for e in archive.evaluations(child.id)) == small
    assert seed.scores == {"small": 0.0, "suite": 0.0}
    # One try per exercise: one agent session each (Aider's protocol would run two).
    agent_sessions = {
        c.task_id for c in archive.llm_calls(run.id, bodies=False) if c.purpose == "agent"
    }
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes["agent"] == 5 and len(agent_sessions) == 3, purposes
    focus = (archive.agent(child.id).origin or {})["focus"]
    assert focus["task_id"] in seed_evals and focus["kind"] in {
        "stochasticity",
        "empty_patch",
        "unresolved",
    }
    assert "# evolved" in archive.diff(child.id)
