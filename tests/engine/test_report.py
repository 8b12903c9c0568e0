"""`dgm report`: the markdown and the plots, from an archive grown by the real loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dgm.report import progress_curve, tree_layout, write_report
from tests.engine.conftest import Harness, config, learn

DGM = Path(sys.executable).parent / "dgm"
PNG = b"\x89PNG\r\n\x1a\n"


def agent(
    i: str, parent: str | None, gen: int, status: str = "evaluated", score: float | None = 0.0
) -> SimpleNamespace:
    return SimpleNamespace(id=i, parent_id=parent, generation=gen, status=status, score=score)


def test_progress_curve_counts_only_admitted_agents() -> None:
    agents = [
        agent("a", None, 0, score=0.2),
        agent("b", "a", 1, score=0.6),
        agent("c", "a", 1, status="rejected", score=0.9),
        agent("d", "b", 2, score=0.4),
    ]
    curve = progress_curve(agents)
    assert curve.best == [0.2, 0.6, 0.6, 0.6]
    assert curve.mean == pytest.approx([0.2, 0.4, 0.4, 0.4])


def test_tree_layout_centres_parents_over_children() -> None:
    pos = tree_layout(
        [agent("a", None, 0), agent("b", "a", 1), agent("c", "a", 1), agent("d", "c", 2)]
    )
    assert pos == {"b": (0.0, -1), "d": (1.0, -2), "c": (1.0, -1), "a": (0.5, 0)}


def test_report_of_a_real_run(harness: Harness, tmp_path: Path) -> None:
    cfg = config(selector="best", max_iterations=3)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1"), "no edit here", "still none", "nope", learn("t2")])
    path = write_report(harness.archive, run, tmp_path / "out")
    text = path.read_text()
    best = harness.archive.best_agent(run)
    assert best is not None and best.score == pytest.approx(2 / 6)
    assert f"best: `{best.id}` score 0.333 (generation 2)" in text
    lineage_rows = [
        ln
        for ln in text.split("## Best lineage")[1].split("\n## ")[0].splitlines()
        if ln.startswith("| ") and ("| seed |" in ln or "| diff |" in ln)
    ]
    assert len(lineage_rows) == 3  # seed -> child -> grandchild
    children = [
        ln
        for ln in text.split("## Children")[1].split("\n## ")[0].splitlines()
        if ln.startswith("| `")
    ]
    assert len(children) == 2 and all("| evaluated |" in row for row in children)
    assert (
        "expansions that failed: 1" in text
        and "expansion failed, no applicable SEARCH/REPLACE edit" in text
    )
    for name in ("progress.png", "tree.png", "cost.png"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000


def test_cli_report_and_bad_run_id(harness: Harness, tmp_path: Path) -> None:
    cfg = config(max_iterations=1)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")])
    ok = subprocess.run(
        [str(DGM), "report", run[:5], "--archive", str(harness.path), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "r" / "report.md").is_file() and ok.stdout.strip() == str(
        tmp_path / "r" / "report.md"
    )
    bad = subprocess.run(
        [str(DGM), "report", "zzzz", "--archive", str(harness.path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "zzzz" in bad.stderr
    )
