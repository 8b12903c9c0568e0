"""Numbers you can trust, on real runs: `dgm run --problem ... --seeds 1-3` (the real CLI,
the real gateway serving a scripted model, every program scored by the problem's
evaluator in the real Docker sandbox), the held-out score taken at the end of each run and
shown by `dgm report`, `dgm problem score --heldout`, and `dgm compare` over the runs: the
PNG written, the table's numbers equal to what the archive holds.

The problem: `value()` is the loss (lower is better); each child the script writes adds
`BONUS += 1.0`, so each generation is one better. Its held-out split doubles the loss.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from archive.info import objective
from tests.processes import run_dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

PROBLEM = {
    "name": "steps",
    "description": "value() returns the loss; make it small.",
    "program": ["p.py"],
    "evaluator": {"module": "evaluator.py"},
    "score": "loss",
    "direction": "min",
    "timeout_s": 60,
    "heldout": ["heldout.json"],
}
PROGRAM = "BONUS = 0.0\n\n\ndef value():\n    return 10.0 - BONUS\n"
EVALUATOR = """import importlib.util
import json
import os
from pathlib import Path


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loss = float(module.value())
    if os.environ.get("DGM_SPLIT") == "heldout":
        loss *= json.loads((Path(__file__).parent / "heldout.json").read_text())["factor"]
    return {"loss": loss}
"""
EDIT = (
    "problem/p.py\n<<<<<<< SEARCH\ndef value():\n=======\n"
    "BONUS += 1.0\n\n\ndef value():\n>>>>>>> REPLACE\n"
)
SEEDS = [1, 2, 3]
ITERATIONS = 3


def write_problem(tmp: Path) -> Path:
    root = tmp / "steps"
    root.mkdir()
    (root / "problem.yaml").write_text(yaml.safe_dump(PROBLEM))
    (root / "p.py").write_text(PROGRAM)
    (root / "evaluator.py").write_text(EVALUATOR)
    (root / "heldout.json").write_text(json.dumps({"factor": 2.0}))
    (tmp / "script.yaml").write_text(yaml.safe_dump([{"pattern": ".", "content": EDIT}]))
    return root


def run_ids_of(stdout: str) -> list[str]:
    return re.findall(r"^[0-9a-f]{16}$", stdout, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three scripted runs of one config, seeds 1-3, in one archive: (folder, run ids)."""
    tmp = tmp_path_factory.mktemp("sweep")
    root = write_problem(tmp)
    proc = run_dgm(
        "run", "--problem", str(root), "--operator", "diff", "--model", "scripted:script.yaml",
        "--max-iterations", str(ITERATIONS), "--workers", "1", "--seeds", "1-3", "--quiet",
        cwd=tmp,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ids = run_ids_of(proc.stdout)
    assert len(ids) == len(SEEDS), proc.stdout
    assert f"dgm compare {' '.join(ids)}" in " ".join(proc.stderr.split())
    return tmp, ids


def test_the_seeds_are_runs_of_one_config_at_equal_budgets(sweep: tuple[Path, list[str]]) -> None:
    tmp, ids = sweep
    with open_archive(tmp / ".dgm" / "archive.db", read_only=True) as archive:
        runs = [archive.run(r) for r in ids]
        assert [r.seed for r in runs] == SEEDS
        assert all(r.status == "finished" and r.direction == "min" for r in runs)
        configs = [{k: v for k, v in r.config.items() if k not in ("seed", "name")} for r in runs]
        assert configs[0] == configs[1] == configs[2]
        assert all(r.config["max_iterations"] == ITERATIONS for r in runs)
        for r in runs:  # the script's edit made every child one better than its parent
            best = archive.best_agent(r.id)
            assert best is not None and objective(best.score, "min") < 10.0


def test_each_run_took_its_held_out_score_and_the_report_shows_it(
    sweep: tuple[Path, list[str]],
) -> None:
    tmp, ids = sweep
    with open_archive(tmp / ".dgm" / "archive.db", read_only=True) as archive:
        for run_id in ids:
            (event,) = archive.events(run_id, kinds=["heldout_scored"])
            best = archive.best_agent(run_id)
            assert best is not None and event.payload["agent"] == best.id
            run_score = objective(best.score, "min")
            assert event.payload["ok"] and event.payload["run_score"] == run_score
            assert event.payload["score"] == 2 * run_score  # the held-out split doubles it
    out = tmp / "report"
    proc = run_dgm("report", ids[0], "--out", str(out), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    line = next(ln for ln in report.splitlines() if "held-out score" in ln)
    with open_archive(tmp / ".dgm" / "archive.db", read_only=True) as archive:
        best = archive.best_agent(ids[0])
        assert best is not None
        raw = objective(best.score, "min")
        assert raw is not None
        assert f"held-out score {2 * raw:.3f} (run score {raw:.3f})" in line


def test_a_resume_of_a_finished_run_does_not_score_it_again(
    sweep: tuple[Path, list[str]],
) -> None:
    tmp, ids = sweep
    proc = run_dgm("run", "--resume", ids[0], "--quiet", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "held-out score" in proc.stderr  # still said, from the run's own event
    with open_archive(tmp / ".dgm" / "archive.db", read_only=True) as archive:
        assert len(archive.events(ids[0], kinds=["heldout_scored"])) == 1


def test_problem_score_heldout_scores_a_program_on_the_split(
    sweep: tuple[Path, list[str]], tmp_path: Path
) -> None:
    tmp, _ = sweep
    program = tmp_path / "better.py"
    program.write_text("BONUS = 3.0\n\n\ndef value():\n    return 10.0 - BONUS\n")
    train = run_dgm(
        "problem", "score", str(tmp / "steps"), "--program", str(program), "--json", cwd=tmp
    )
    held = run_dgm(
        "problem", "score", str(tmp / "steps"), "--program", str(program), "--heldout", "--json",
        cwd=tmp,
    )  # fmt: skip
    assert train.returncode == 0 and held.returncode == 0, train.stderr + held.stderr
    t, h = json.loads(train.stdout), json.loads(held.stdout)
    assert (t["split"], t["score"]) == ("train", 7.0)
    assert (h["split"], h["score"]) == ("heldout", 14.0)
    # finite in training, infinite once the held-out split doubles it: a failure, as ever
    program.write_text("def value():\n    return 1e308\n")
    held = run_dgm(
        "problem", "score", str(tmp / "steps"), "--program", str(program), "--heldout", "--json",
        cwd=tmp,
    )  # fmt: skip
    failed = json.loads(held.stdout)
    assert held.returncode == 1 and not failed["ok"] and failed["score"] is None
    assert "not a finite number" in failed["failure"]


def test_compare_draws_the_runs_and_its_table_is_the_archives(
    sweep: tuple[Path, list[str]],
) -> None:
    tmp, ids = sweep
    png = tmp / "cmp.png"
    proc = run_dgm("compare", *ids, "--out", str(png), "--json", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    doc = json.loads(proc.stdout)
    assert doc["direction"] == "min" and doc["png"] == str(png)
    rows = {r["run_id"]: r for r in doc["runs"]}
    assert list(rows) == ids
    with open_archive(tmp / ".dgm" / "archive.db", read_only=True) as archive:
        for run_id in ids:
            r, agents = rows[run_id], archive.agents(run_id)
            best = archive.best_agent(run_id)
            assert best is not None
            children = [a for a in agents if a.parent_id is not None]
            assert r["final_best"] == objective(best.score, "min")
            assert r["first_best"] == 10.0  # the seed's loss
            assert r["heldout_best"] == 2 * r["final_best"]
            assert r["evaluations"] == sum(a.n_evaluated for a in agents)
            assert r["usd"] == sum(c.cost_usd for c in archive.llm_calls(run_id))
            assert r["children_born"] == len(children) == ITERATIONS
            assert r["children_valid"] == sum(a.status == "evaluated" for a in children)
            assert r["children_duplicate"] == sum(  # a copy of another agent, or of its parent
                a.status == "rejected"
                and (
                    "duplicate" in (a.reason or "")
                    or (a.reason or "").startswith("changes nothing")
                )
                for a in children
            )
            # the best was reached after at most every evaluation of the run
            assert 1 < r["evaluations_to_95"] <= r["evaluations"]
    # again, as people read it: a table, and the PNG refused because it exists
    again = run_dgm("compare", *[i[:8] for i in ids], "--out", str(png), cwd=tmp)
    assert again.returncode == 2 and "already exists" in again.stderr
    table = run_dgm("compare", *ids, cwd=tmp)
    assert table.returncode == 0, table.stderr
    written = tmp / table.stderr.split("wrote ", 1)[1].strip()
    assert written.parent.name == "dgm-compare" and written.stat().st_size > 10_000
    assert "evals to 95%" in table.stdout and "min: lower is better" in table.stdout
    for run_id in ids:  # one row per run, whole
        row = next(ln for ln in table.stdout.splitlines() if run_id[:8] in ln)
        assert f"{rows[run_id]['final_best']:.3f}" in row


@pytest.mark.local_model
@pytest.mark.timeout(900)
def test_compare_a_bundled_model_run_with_a_scripted_one(tmp_path: Path) -> None:
    """One short run of the bundled model (two children) beside a scripted run of the same
    problem: two configs (the model differs), two lines, one row each."""
    root = write_problem(tmp_path)
    for model in ("local", "scripted:script.yaml"):
        proc = run_dgm(
            "run", "--problem", str(root), "--operator", "diff", "--model", model,
            "--max-iterations", "2", "--workers", "1", "--seed", "0", "--quiet",
            "--set", "diff_max_tries=1", cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    with open_archive(tmp_path / ".dgm" / "archive.db", read_only=True) as archive:
        ids = [r.id for r in sorted(archive.runs(), key=lambda r: r.created_at)]
    assert len(ids) == 2
    proc = run_dgm("compare", *ids, "--json", "--out", str(tmp_path / "c.png"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "c.png").stat().st_size > 10_000
    rows = json.loads(proc.stdout)["runs"]
    with open_archive(tmp_path / ".dgm" / "archive.db", read_only=True) as archive:
        local = archive.run(ids[0])
        assert local.config["model"] == "local"
        calls = archive.llm_calls(ids[0], bodies=False)
        assert calls and all(c.model == "local" for c in calls)
        for r in rows:
            agents = archive.agents(r["run_id"])
            best = archive.best_agent(r["run_id"])
            assert best is not None and r["final_best"] == objective(best.score, "min")
            assert r["evaluations"] == sum(a.n_evaluated for a in agents)
            assert r["children_born"] == sum(a.parent_id is not None for a in agents)
            # the held-out split was scored at the end of each run, whatever the model wrote
            assert r["heldout_best"] == 2 * r["final_best"]
    assert rows[1]["final_best"] < 10.0  # the scripted run improved
