"""`dgm run` end to end in the real Docker sandbox: replaying a whole run, and what a priced
model costs (the archive, `dgm runs`, `dgm llm usage`, `dgm report`, and the budgets).

Replay: a single-worker run driven by the scripted model of test_cli_run, then the same
configuration with `--model replay:RUN`: the same tree (parents, operators, code, scores,
per-task results), every call answered from RUN; and a run on a priced model replayed at
zero cost while the original paid.

Cost: a real OpenAI-protocol HTTP server (dgm/llm/fake_upstream.py) serves the model name
openai/gpt-4o-mini, so litellm prices every call from its bundled price map. The server
answers every request with a tool call of 10 prompt and 5 completion tokens, so an agent
keeps calling until its budget stops it, and every call costs the same known amount.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from archive import Archive, open_archive
from dgm.display import usd as fmt_usd
from dgm.llm import open_provider
from dgm.llm.fake_upstream import FakeUpstream
from tests.engine.test_cli_run import TEST_TASKS, dgm, write_setup

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


def code_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + files[path] + b"\0")
    return h.hexdigest()


def tree(archive: Archive, run_id: str) -> list[tuple[Any, ...]]:
    """The run as positions: parent's position, operator, status, code, score, results."""
    agents = archive.agents(run_id)
    position = {a.id: i for i, a in enumerate(agents)}
    return [
        (
            position.get(a.parent_id) if a.parent_id else None,
            a.operator,
            a.status,
            code_hash(archive.agent_files(a.id)),
            a.score,
            sorted((e.task_id, e.resolved) for e in archive.evaluations(a.id)),
        )
        for a in agents
    ]


def test_replay_of_a_single_worker_run_rebuilds_its_archive_at_no_cost(tmp_path: Path) -> None:
    config = write_setup(tmp_path, iterations=2, workers=1)
    first = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (recorded,) = archive.runs()

    again = dgm("run", str(config), "--model", f"replay:{recorded.id}", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (replayed,) = [r for r in archive.runs() if r.id != recorded.id]

    original = tree(archive, recorded.id)
    assert len(original) == 3 and original[-1][4] == 1.0  # a real tree: children, one resolves all
    assert tree(archive, replayed.id) == original
    calls = archive.llm_calls(replayed.id, bodies=False)
    assert len(calls) == len(
        [c for c in archive.llm_calls(recorded.id, bodies=False) if c.error_kind is None]
    )
    assert all(c.error_kind is None and c.cost_usd == 0.0 for c in calls)
    assert next(r for r in archive.runs() if r.id == replayed.id).cost_usd == 0.0


def priced_setup(tmp_path: Path, upstream: FakeUpstream, **fields: Any) -> Path:
    config = write_setup(tmp_path, iterations=1, workers=1)
    data = yaml.safe_load(config.read_text())
    data.update(
        model="openai/gpt-4o-mini",
        api_base=upstream.base_url,
        stages=[{"name": "small", "tasks": TEST_TASKS[:2]}],
        agent_limits={"max_steps": 8},
        **fields,
    )
    config.write_text(yaml.safe_dump(data))
    return config


def one_call_usd() -> float:
    """What each of the server's answers costs (10 tokens in, 5 out) at gpt-4o-mini's price."""
    usd = open_provider("openai/gpt-4o-mini", api_base="http://127.0.0.1:1/v1").cost(10, 5)  # type: ignore[attr-defined]
    assert usd > 0
    return float(usd)


def test_replay_of_a_priced_run_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original paid for every call; its replay rebuilds the same tree and pays $0."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeUpstream(default="tool_call") as up:
        config = priced_setup(tmp_path, up)
        first = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (recorded,) = archive.runs()
    assert recorded.cost_usd >= one_call_usd() > 0  # the original was priced

    # The upstream is gone: every answer of the replay comes from the archive.
    again = dgm("run", str(config), "--model", f"replay:{recorded.id}", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (replayed,) = [r for r in archive.runs() if r.id != recorded.id]
    assert tree(archive, replayed.id) == tree(archive, recorded.id)
    calls = archive.llm_calls(replayed.id, bodies=False)
    paid = [c for c in archive.llm_calls(recorded.id, bodies=False) if c.error_kind is None]
    assert len(calls) == len(paid) > 0
    assert all(c.error_kind is None and c.cost_usd == 0.0 for c in calls)
    assert next(r for r in archive.runs() if r.id == replayed.id).cost_usd == 0.0


def test_a_priced_model_costs_dollars_everywhere_and_the_task_budget_caps_each_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    call = one_call_usd()
    cap = 2.5 * call
    with FakeUpstream(default="tool_call") as up:
        proc = dgm(
            "run", str(priced_setup(tmp_path, up, task_budget_usd=cap)), "--quiet", cwd=tmp_path
        )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    calls = archive.llm_calls(run.id, bodies=False)
    spent = sum(c.cost_usd for c in calls)
    assert spent > 0 and run.cost_usd == pytest.approx(spent)

    seed = archive.agents(run.id)[0]
    for task in TEST_TASKS[:2]:
        mine = [
            c for c in calls if c.agent_id == seed.id and c.task_id == task and c.purpose == "agent"
        ]
        task_spent = sum(c.cost_usd for c in mine)
        assert cap <= task_spent <= cap + call + 1e-12, (
            task,
            task_spent,
        )  # stopped at the cap, one call over at most
        assert mine[-1].error_kind == "budget_exceeded"  # the agent's next call was refused

    runs = dgm("runs", cwd=tmp_path)
    assert runs.returncode == 0 and fmt_usd(run.cost_usd) in runs.stdout and fmt_usd(spent) != "$0"
    usage = dgm("llm", "usage", run.id[:6], cwd=tmp_path)
    assert (
        usage.returncode == 0
        and f", {fmt_usd(spent)}" in usage.stdout
        and "refused" in usage.stdout
    )
    report = dgm("report", run.id[:6], "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert f"cost: {fmt_usd(spent)}" in text


def test_the_run_budget_stops_a_real_run_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    call = one_call_usd()
    cap = 5.5 * call  # the seed's first task alone would spend 8 calls
    with FakeUpstream(default="tool_call") as up:
        proc = dgm(
            "run",
            str(priced_setup(tmp_path, up)),
            "--budget-usd",
            str(cap),
            "--quiet",
            cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    calls = archive.llm_calls(run.id, bodies=False)
    spent = sum(c.cost_usd for c in calls)
    assert cap <= spent <= cap + call + 1e-12  # one call over the cap at most
    assert any(c.error_kind == "budget_exceeded" for c in calls)
    (stopped,) = archive.events(run.id, kinds=["session_stopped"])
    assert "USD budget" in stopped.payload["reason"]
    assert len(archive.agents(run.id)) == 1  # no child was made after the money ran out
    marks = archive.events(run.id, kinds=["budget_mark"])
    assert [m.payload["fraction"] for m in marks] == [0.5, 0.8], "each announced once"
    assert "budget: 50% of $" in proc.stderr and "budget: 80% of $" in proc.stderr


def test_an_agent_past_the_context_window_gets_an_evaluation_of_kind_context_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upstream refuses every request as too long: DGM's context-length focus
    (dgm/mutators/focus.py) then finds the evaluation by its kind."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeUpstream(default="context") as up:
        config = priced_setup(tmp_path, up, max_iterations=0)
        data = yaml.safe_load(config.read_text())
        data["stages"] = [{"name": "small", "tasks": TEST_TASKS[:1]}]
        config.write_text(yaml.safe_dump(data))
        proc = dgm("run", str(config), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    (seed,) = archive.agents(run.id)
    (evaluation,) = archive.evaluations(seed.id)
    assert not evaluation.resolved and evaluation.error_kind == "context_length"
    calls = archive.llm_calls(run.id, bodies=False)
    assert calls and {c.error_kind for c in calls} == {"context_length"}
