"""The seed agent with the real bundled local model (SmolLM2-135M), end to end: real
gateway, real Docker sandbox, real grading. It is a weak model: the test asserts that
the whole path runs and is recorded, not that it solves the task."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dgm.seed_agent
from archive import open_archive
from benchmarks.suites import open_suite
from dgm.evaluator import EvalLimits, evaluate
from dgm.llm import Gateway, open_provider
from tests.conftest import missing

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    from sandbox import EngineUnavailable, open_backend

    try:
        be = open_backend("docker", run_label="tests-local-model")
    except EngineUnavailable as e:
        missing("docker", f"no Docker engine: {e}")
    yield be
    be.close()


def test_seed_agent_with_the_local_model_runs_a_task(backend: Any, tmp_path: Path) -> None:
    suite = open_suite("swe-mini")
    task = next(t for t in suite.tasks() if t.instance_id == "ledgerly__ledgerly-1")
    seed = Path(dgm.seed_agent.__file__).parent
    with open_archive(tmp_path / "a.db") as arch:
        run_id = arch.create_run("local", kind="bench")
        agent_id = arch.add_agent(run_id, {p.name: p.read_bytes() for p in seed.glob("*.py")})
        with Gateway(open_provider("local"), archive=arch, run_id=run_id) as gw:
            result = evaluate(
                seed,
                task,
                suite,
                backend,
                gw,
                archive=arch,
                agent_id=agent_id,
                limits=EvalLimits(agent_timeout_s=900, max_steps=3),
            )
        trajectory = json.loads(result.trajectory)
        assert result.agent_exit_code == 0, result.agent_log
        assert trajectory["info"]["tool_mode"] == "text" and trajectory["info"]["model"] == "local"
        assert 1 <= trajectory["info"]["steps"] <= 3
        replies = [m for m in trajectory["messages"] if m["role"] == "assistant"]
        assert replies and all(isinstance(m["content"], str) for m in replies)
        assert result.grade is not None and result.grade.error_kind in (
            None,
            "empty_patch",
            "patch_failed",
        )
        (ev,) = arch.evaluations(agent_id)
        assert ev.resolved == result.resolved
        calls = arch.llm_calls(run_id)
        assert len(calls) == trajectory["info"]["steps"] and all(c.model == "local" for c in calls)
        assert all(c.error_kind is None and c.tokens_out > 0 for c in calls)
        print(
            f"local model: resolved={result.resolved} steps={trajectory['info']['steps']} "
            f"tokens={result.tokens} {result.duration_s:.0f}s error={result.error_kind}"
        )
