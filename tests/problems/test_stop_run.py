"""`dgm run stop --problem parity` end to end: STOP's seed improver, then a child made by
the stop operator (the seed improving itself), each scored by its meta-utility on the
training split (the held-out one reported), in real Docker sandboxes, with a scripted model through the real gateway."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from tests.problems.test_stop import BEST_OF, GOOD, WEAK

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]
DGM = Path(sys.executable).parent / "dgm"


def fenced(code: str) -> str:
    return f"An idea, then its code.\n```python\n{code}```\n"


def test_dgm_run_stop_grows_a_better_improver(tmp_path: Path) -> None:
    # Asked to improve an improver: the best-of improver. The parity program's samples, in
    # order: the seed's evaluation draws 2 (weak), then the child's making and its own
    # evaluation draw 4 per downstream run, a good one third.
    script = [
        {"pattern": r"def improve_algorithm\(initial_solution", "content": fenced(BEST_OF)},
        *[fenced(c) for c in [WEAK, WEAK] + [WEAK, WEAK, GOOD, WEAK] * 3],
    ]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"responses": script}))
    config = {
        "operator": "stop",
        "selector": "best",
        "workers": 1,
        "max_iterations": 1,
        "stop": {"runs": 1, "lm_calls": 2, "samples_per_call": 2, "utility_calls": 4},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [
            str(DGM),
            "run",
            "run.yaml",
            "--problem",
            "parity",
            "--quiet",
            "--archive",
            "a.db",
            "--model",
            f"scripted:{tmp_path / 'script.yaml'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / "a.db", create=False)
    (run,) = archive.runs()
    seed, child = archive.agents(run.id)
    assert child.parent_id == seed.id and child.operator == "stop"
    assert BEST_OF.strip() in archive.agent_files(child.id)["improver.py"].decode()
    assert seed.score is not None and child.score is not None and child.score > seed.score
    assert archive.best_agent(run.id).id == child.id  # type: ignore[union-attr]
    purposes = Counter(c.purpose for c in archive.llm_calls(run.id, bodies=False))
    assert purposes == {"stop": 2 + 2 + 2 * 4 + 4}
    assert archive.run(run.id).status == "finished"
