"""The live display names the node an evaluation runs on, when the evaluator knows it
(the executor's evaluators do: `SuiteEvaluator.where`). The engine here is the real one
over a real archive, with the engine tests' rule-based evaluator told its node."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dgm.loop import Engine
from tests.engine.conftest import Harness, SkillEvaluator, config

NODE = "0123456789abcdef" * 3


class PlacedEvaluator(SkillEvaluator):
    """Evaluates on a named node and looks at the display while it does."""

    def __init__(self, archive: Any) -> None:
        super().__init__(archive)
        self.engine: Engine | None = None
        self.seen: list[str] = []

    def where(self, agent_id: str, task_id: str) -> str | None:
        return NODE

    def evaluate(self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str) -> bool:
        assert self.engine is not None
        self.seen += self.engine.progress().workers
        return super().evaluate(agent_id, files, task_id, stage)


def test_the_display_shows_the_node_of_each_evaluation_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path / "archive.db")
    cfg = config(max_iterations=0)
    run_id = h.new_run(cfg)
    evaluator = PlacedEvaluator(h.archive)
    original = Engine.load

    def load(self: Engine) -> bool:  # hand the evaluator its engine once it exists
        evaluator.engine = self
        return original(self)

    monkeypatch.setattr(Engine, "load", load)
    h.run(run_id, cfg, answers=[], evaluator=evaluator)
    evaluating = [line for line in evaluator.seen if line.startswith("evaluating")]
    assert evaluating and all(line.endswith(f"@ node {NODE[:8]}") for line in evaluating)
