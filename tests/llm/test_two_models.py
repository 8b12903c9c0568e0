"""One gateway serving two priced models (ReEvo's generator and reflector): the run's USD
budget holds across both, exact to one call, and the archive, `dgm llm usage` and
`dgm runs` agree on what was spent. The models are served by the real OpenAI-protocol
test server; litellm prices them from its bundled map."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive import open_archive
from dgm.cli import app
from dgm.display import usd as fmt_usd
from dgm.llm import Budget, Gateway, open_provider
from dgm.llm.budget import tally
from dgm.llm.fake_upstream import FakeUpstream
from dgm.mutators.chat import GatewayChat
from tests.llm.conftest import FAST

GENERATOR, REFLECTOR = "openai/gpt-4o-mini", "openai/gpt-4o"
PROMPT = [{"role": "user", "content": "word " * 2000}]


def test_the_run_budget_holds_across_two_models_exact_to_one_call(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    db = tmp_path / "archive.db"
    generator = open_provider(GENERATOR, api_base=upstream.base_url)
    reflector = open_provider(REFLECTOR, api_base=upstream.base_url)
    with open_archive(db) as store:
        # Room for two generator calls and less than one more reflector call on top.
        with Gateway(generator, retry=FAST) as probe:
            GatewayChat(probe).complete(PROMPT, purpose="probe")
            one_generator = probe.usage().cost_usd
        with Gateway(reflector, retry=FAST) as probe:
            GatewayChat(probe).complete(PROMPT, purpose="probe")
            one_reflector = probe.usage().cost_usd
        assert 0 < one_generator < one_reflector
        run = store.create_run("budgeted")
        budget = 2 * one_generator + 0.5 * one_reflector
        with Gateway(
            generator, archive=store, run_id=run, budget=Budget(max_usd=budget), retry=FAST
        ) as gw:
            gw.add_model(reflector)
            gen, ref = GatewayChat(gw), GatewayChat(gw, model=REFLECTOR)
            gen.complete(PROMPT, purpose="crossover")
            ref.complete(PROMPT, purpose="reflect_short")  # crosses the budget, completes
            with pytest.raises(Exception, match="budget exceeded"):
                gen.complete(PROMPT, purpose="mutate")  # the next call, of either model, is refused
            with pytest.raises(Exception, match="budget exceeded"):
                ref.complete(PROMPT, purpose="reflect_long")
            live = gw.usage().cost_usd
            gw.flush()
        calls = store.llm_calls(run, bodies=False)
        assert [(c.model, c.error_kind) for c in calls] == [
            (GENERATOR, None),
            (REFLECTOR, None),
            (GENERATOR, "budget_exceeded"),
            (REFLECTOR, "budget_exceeded"),
        ]
        spent = tally(calls).cost_usd
        assert spent == pytest.approx(one_generator + one_reflector) == pytest.approx(live)
        assert budget < spent < budget + one_reflector  # over by less than the one crossing call
        listed = next(r for r in store.runs() if r.id == run)
        assert listed.cost_usd == pytest.approx(spent)

    usage = CliRunner().invoke(app, ["llm", "usage", run, "--archive", str(db)])
    assert usage.exit_code == 0, usage.output
    assert f", {fmt_usd(spent)}" in usage.output and "2 refused" in usage.output
    assert GENERATOR in usage.output and REFLECTOR in usage.output
    runs = CliRunner().invoke(app, ["runs", "--archive", str(db)])
    assert runs.exit_code == 0, runs.output
    assert fmt_usd(spent) in runs.output


def test_a_session_for_a_model_the_gateway_does_not_serve_is_refused(
    upstream: FakeUpstream,
) -> None:
    with Gateway(open_provider(GENERATOR, api_base=upstream.base_url), retry=FAST) as gw:
        with pytest.raises(ValueError, match="does not serve 'openai/gpt-4o'"):
            gw.open_session(model=REFLECTOR)


def test_two_different_models_of_one_name_are_refused(tmp_path: Path) -> None:
    from dgm.errors import UserError

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "s.yaml").write_text(f"- from {d}\n")
    first = open_provider(f"scripted:{tmp_path / 'a' / 's.yaml'}")
    with Gateway(first) as gw:
        gw.add_model(first)  # the same provider again: nothing changes
        with pytest.raises(UserError, match="both named 'scripted:s.yaml'"):
            gw.add_model(open_provider(f"scripted:{tmp_path / 'b' / 's.yaml'}"))
