"""A ReEvo run whose reflector is a priced model (served by the real OpenAI-protocol test
server, priced by litellm's map) and whose generator is scripted: the reflector's first
call crosses the run's USD budget, so the generator's next call is refused by the same
gateway and the run stops, over the budget by at most that one call; the archive,
`dgm llm usage` and `dgm runs` agree on the cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archive import open_archive
from dgm.display import usd as fmt_usd
from dgm.llm.fake_upstream import FakeUpstream
from tests.problems.test_reevo_run import write_setup
from tests.processes import run_dgm

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

REFLECTOR = "openai/gpt-4o"
BUDGET = 0.0005  # less than one reflection of the prompts ReEvo sends, at gpt-4o's price


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    with FakeUpstream() as up:
        yield up


def test_the_reflectors_spending_stops_the_generator_and_the_run(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    config = write_setup(tmp_path, max_fe=11, workers=1, init_pop_size=4, reflector=True)
    data = yaml.safe_load(config.read_text())
    data["reevo"]["reflector_model"] = REFLECTOR
    data.update(api_base=upstream.base_url, budget_usd=BUDGET)
    config.write_text(yaml.safe_dump(data))
    proc = run_dgm("run", str(config), "--problem", "tsp", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

    archive = open_archive(tmp_path / ".dgm" / "archive.db", create=False)
    (run,) = archive.runs()
    calls = archive.llm_calls(run.id, bodies=False)
    answered = [c for c in calls if c.error_kind is None]
    priced = [c for c in answered if c.cost_usd > 0]
    assert priced and {c.model for c in priced} == {REFLECTOR}
    spent = sum(c.cost_usd for c in calls)
    # Every call but the last answered one started under the budget: one call over at most.
    assert sum(c.cost_usd for c in answered[:-1]) < BUDGET <= spent
    refused = [c for c in calls if c.error_kind == "budget_exceeded"]
    assert refused and refused[0].model == "scripted:script.yaml"  # the other model, refused
    stopped = archive.events(run.id, kinds=["session_stopped"])[-1]
    assert "USD budget" in stopped.payload["reason"]
    assert run.cost_usd == pytest.approx(spent)

    usage = run_dgm("llm", "usage", run.id[:6], cwd=tmp_path)
    assert usage.returncode == 0 and f", {fmt_usd(spent)}" in usage.stdout
    runs = run_dgm("runs", cwd=tmp_path)
    assert runs.returncode == 0 and fmt_usd(spent) in runs.stdout
