"""STOP as its code runs it (docs/fidelity.md, STOP): the improver that continues is the
newest accepted one (a linear chain), an improver whose meta-utility is 0 is not accepted,
and the held-out split is reported, never used to choose. `dgm run stop --problem parity`
end to end, in real Docker sandboxes, with a scripted model through the real gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from tests.problems.test_stop import GOOD, WEAK

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]
DGM = Path(sys.executable).parent / "dgm"

# An improver worse than STOP's seed, but not worthless: it always returns WEAK (about
# half right). Improving itself, it returns WEAK too: a program that is no improver.
FIXED = f"def improve(solution, utility, language_model):\n    return {WEAK!r}\n"


def fenced(code: str) -> str:
    return f"An idea, then its code.\n```python\n{code}```\n"


def test_the_newest_accepted_improver_continues_the_chain(tmp_path: Path) -> None:
    script = [
        {"pattern": r"def improve_algorithm\(initial_solution", "content": fenced(FIXED)},
        {"pattern": r"def algorithm\(", "content": fenced(GOOD)},
    ]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"responses": script}))
    preset = yaml.safe_load((Path(__file__).parents[2] / "dgm/presets/stop.yaml").read_text())
    config = {
        **preset,
        "max_iterations": 3,
        "stop": {"runs": 1, "lm_calls": 1, "samples_per_call": 1, "utility_calls": 1},
        # The script makes both of FIXED's children alike: each must run to show it fails.
        "novelty": {"duplicates": False},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [str(DGM), "run", "run.yaml", "--problem", "parity", "--quiet", "--archive", "a.db"]
        + ["--model", f"scripted:{tmp_path / 'script.yaml'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=560,
    )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / "a.db", create=False)
    (run,) = archive.runs()
    seed, fixed, *later = archive.agents(run.id)
    assert fixed.parent_id == seed.id and fixed.status == "evaluated"
    # Worse than the seed, yet accepted: the chain continues from it, not from the best.
    assert fixed.score is not None and seed.score is not None and 0 < fixed.score < seed.score
    assert len(later) == 2 and all(c.parent_id == fixed.id for c in later)
    # What FIXED made of itself is no improver: its run fails, counts 0, not accepted.
    for child in later:
        assert child.status == "failed" and "not accepted" in (child.reason or "")
    (evaluation,) = archive.evaluations(fixed.id)
    assert evaluation.score is not None and "heldout_meta_utility" in (evaluation.metrics or {})
