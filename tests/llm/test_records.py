"""Records, budget events, caching and replay against a real (SQLite) archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dgm.llm import Budget, Gateway, open_provider
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.request import canonical, request_key
from tests.llm.conftest import FAKE_KEY, FAST, ask, post_chat


def _gateway(upstream: FakeUpstream, store: Any, run_id: str, **kw: Any) -> Gateway:
    return Gateway(
        open_provider("openai/fake-model", api_base=upstream.base_url),
        archive=store,
        run_id=run_id,
        retry=FAST,
        **kw,
    )


def test_every_attempt_is_recorded_with_its_kind_attribution_and_no_secret(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    agent = store.add_agent(run, {"agent/__main__.py": b"print(1)\n"})
    upstream.plan("429", "drop")
    with _gateway(upstream, store, run) as gw:
        s = gw.open_session(agent_id=agent, task_id="task-1", purpose="agent")
        # a client that (wrongly) puts a key in the body must not get it recorded
        status, body, _ = post_chat(
            gw.socket_path, s.token, ask("hello", api_key="sk-client-secret", temperature=0.5)
        )
        assert status == 200
        gw.flush()
    calls = store.llm_calls(run)
    assert [c.error_kind for c in calls] == ["rate_limit", "connection", None]
    ok = calls[-1]
    assert (ok.run_id, ok.agent_id, ok.task_id, ok.purpose, ok.model) == (
        run,
        agent,
        "task-1",
        "agent",
        "openai/fake-model",
    )
    assert ok.tokens_in > 0 and ok.tokens_out > 0 and ok.latency_s > 0
    assert json.loads(ok.response)["choices"][0]["message"]["content"] == "echo: hello"
    assert all(
        c.request == calls[0].request and c.request_key == calls[0].request_key for c in calls
    )
    recorded = json.loads(calls[0].request)
    assert "api_key" not in recorded and recorded["model"] == "openai/fake-model"
    assert calls[0].request_key == request_key(
        canonical(ask("hello", temperature=0.5), "openai/fake-model")
    )
    everything = b"".join(c.request + (c.response or b"") for c in calls)
    assert FAKE_KEY.encode() not in everything and b"sk-client-secret" not in everything
    assert s.token.encode() not in everything


def test_budget_refusals_are_recorded_and_logged_as_events(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    with _gateway(upstream, store, run, budget=Budget(max_calls=1)) as gw:
        s = gw.open_session(task_id="t9", purpose="mutate")
        assert post_chat(gw.socket_path, s.token, ask("one"))[0] == 200
        status, body, _ = post_chat(gw.socket_path, s.token, ask("two"))
        assert status == 429 and body["error"]["type"] == "budget_exceeded"
        gw.flush()
    assert [c.error_kind for c in store.llm_calls(run)] == [None, "budget_exceeded"]
    [event] = store.events(run, kinds=["llm_budget_exceeded"])
    assert event.payload["task_id"] == "t9" and "1 of 1 calls" in event.payload["message"]


def test_temperature_zero_requests_are_answered_from_the_archive(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    with _gateway(upstream, store, run) as gw:
        s = gw.open_session()
        _, _, first = post_chat(gw.socket_path, s.token, ask("deterministic", temperature=0))
        gw.flush()
        _, _, again = post_chat(gw.socket_path, s.token, ask("deterministic", temperature=0))
        assert again == first
        post_chat(gw.socket_path, s.token, ask("creative", temperature=0.8))
        post_chat(gw.socket_path, s.token, ask("creative", temperature=0.8))
        gw.flush()
        assert gw.usage(s).calls == 4
    assert [r["body"]["messages"][0]["content"] for r in upstream.requests] == [
        "deterministic",
        "creative",
        "creative",
    ]
    assert [c.cost_usd for c in store.llm_calls(run)] == [0.0] * 4


def test_unknown_agent_is_recorded_without_attribution_rather_than_lost(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    with _gateway(upstream, store, run) as gw:
        s = gw.open_session(agent_id="not-in-archive", task_id="t")
        assert post_chat(gw.socket_path, s.token, ask("x"))[0] == 200
    [call] = store.llm_calls(run)
    assert call.agent_id is None and call.task_id == "t"


def test_replay_serves_the_recorded_bodies_byte_for_byte(
    upstream: FakeUpstream, store: Any
) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "bash", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    conversation = [
        ask("first question"),
        ask("second", temperature=0.7),
        ask("use a tool", tools=tools),
        ask("first question"),
    ]
    original_run = store.create_run("original")
    upstream.plan("ok", "ok", "tool_call")
    with _gateway(upstream, store, original_run) as gw:
        s = gw.open_session(task_id="t")
        originals = [post_chat(gw.socket_path, s.token, req)[2] for req in conversation]
    n_upstream = len(upstream.requests)

    replay_run = store.create_run("replay")
    with Gateway(
        open_provider(f"replay:{original_run}", archive=store), archive=store, run_id=replay_run
    ) as gw:
        s = gw.open_session(task_id="t")
        assert s.env["DGM_LLM_MODEL"] == "openai/fake-model"
        replayed = [post_chat(gw.socket_path, s.token, req)[2] for req in conversation]
        status, body, _ = post_chat(gw.socket_path, s.token, ask("never asked before"))
        assert status == 404 and body["error"]["type"] == "replay_miss"
    assert replayed == originals
    assert (
        json.loads(replayed[2])["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
        == "bash"
    )
    assert len(upstream.requests) == n_upstream  # the replay cost nothing upstream
    assert [c.response for c in store.llm_calls(replay_run) if c.error_kind is None] == originals


def test_replay_matches_requests_that_differ_by_the_callers_position(
    upstream: FakeUpstream, store: Any
) -> None:
    """Run B's agents ask in their own words (their prompts hold their own ids): each call
    gets the answer RUN's agent at the same position got for the same task, purpose and step."""

    def grow(run: str, gw: Gateway) -> list[bytes]:
        answers = []
        seed = store.add_agent(run, {"a.py": b"x = 0\n"})
        child = store.add_agent(run, {"a.py": b"x = 1\n"}, parent_id=seed)
        for agent, task, purpose in [
            (seed, "t1", "agent"),
            (seed, "t1", "agent"),
            (seed, "t2", "agent"),
            (seed, None, "mutate"),
            (child, "t1", "agent"),
        ]:
            s = gw.open_session(agent_id=agent, task_id=task, purpose=purpose)
            answers.append(
                post_chat(gw.socket_path, s.token, ask(f"I am {agent}, step {len(answers)}"))[2]
            )
        return answers

    recorded = store.create_run("recorded")
    with _gateway(upstream, store, recorded) as gw:
        originals = grow(recorded, gw)
    assert len(set(originals)) == 5  # each answer echoes its own question
    replay_run = store.create_run("replay")
    with Gateway(
        open_provider(f"replay:{recorded}", archive=store), archive=store, run_id=replay_run
    ) as gw:
        assert grow(replay_run, gw) == originals
        s = gw.open_session(agent_id=store.agents(replay_run)[1].id, task_id="t1", purpose="agent")
        status, body, _ = post_chat(
            gw.socket_path, s.token, ask("a step the recorded run never took")
        )
        assert status == 404 and body["error"]["type"] == "replay_miss"


def test_replay_of_an_unknown_run_is_a_user_error(store: Any) -> None:
    from dgm.errors import UserError

    with pytest.raises(UserError, match="cannot replay"):
        open_provider("replay:feedbeef", archive=store)
    with pytest.raises(UserError, match="needs an archive"):
        open_provider("replay:feedbeef")


def test_usage_command_tables_by_purpose_model_and_agent(
    upstream: FakeUpstream, store: Any, tmp_path: Path
) -> None:
    from dgm.cli import app

    run = store.create_run("r")
    agent = store.add_agent(run, {"a.py": b"x"})
    with _gateway(upstream, store, run) as gw:
        for purpose in ("diagnose", "agent", "agent"):
            s = gw.open_session(agent_id=agent, purpose=purpose)
            post_chat(gw.socket_path, s.token, ask(purpose))
    result = CliRunner().invoke(
        app,
        ["llm", "usage", run[:6], "--archive", str(tmp_path / "archive.db")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for phrase in ("by purpose", "by model", "by agent", "diagnose", "openai/fake-model", agent):
        assert phrase in result.output
    row = next(line for line in result.output.splitlines() if "│ agent " in line)
    assert row.split("│")[2].strip() == "2"
    assert "total: 3 calls (0 failed, 0 refused)" in result.output


def test_a_resumed_run_keeps_counting_against_its_budget(
    upstream: FakeUpstream, store: Any
) -> None:
    run = store.create_run("r")
    with _gateway(upstream, store, run, budget=Budget(max_calls=3)) as gw:
        s = gw.open_session()
        assert [post_chat(gw.socket_path, s.token, ask(f"q{i}"))[0] for i in range(2)] == [200, 200]
    with _gateway(upstream, store, run, budget=Budget(max_calls=3)) as gw:  # the run resumes
        assert gw.usage().calls == 2
        s = gw.open_session()
        assert [post_chat(gw.socket_path, s.token, ask(f"r{i}"))[0] for i in range(2)] == [200, 429]
    other = store.create_run("other")
    with _gateway(upstream, store, other) as gw:
        assert gw.usage().calls == 0  # a new run starts from nothing
        resumed = gw.usage(run)
        assert (resumed.calls, resumed.refused) == (3, 1) and resumed.tokens_out > 0


@pytest.mark.postgres
def test_records_reach_a_postgresql_archive_through_the_writer_process(
    upstream: FakeUpstream, postgres_url: str
) -> None:
    from archive import open_archive

    with open_archive(postgres_url) as pg:
        run = pg.create_run("pg")
        with _gateway(upstream, pg, run) as gw:
            s = gw.open_session(task_id="t")
            _, _, first = post_chat(gw.socket_path, s.token, ask("to postgres", temperature=0))
            gw.flush()
            _, _, again = post_chat(gw.socket_path, s.token, ask("to postgres", temperature=0))
        calls = pg.llm_calls(run)
        assert [c.response for c in calls] == [first, first] and again == first
        assert len(upstream.requests) == 1  # the second came from the PostgreSQL cache
