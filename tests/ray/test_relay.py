"""The gateway across nodes: sandbox -> node relay (Unix socket) -> hub (TCP, token) ->
the one Gateway, against a real OpenAI-protocol upstream. Keys stay in the gateway,
budgets are exact to one call across relays, every call is recorded once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from archive import open_archive
from dgm.llm import Gateway, open_provider
from dgm.llm.budget import Budget
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.relay import NodeRelay, RelayHub
from tests.llm.conftest import FAKE_KEY, FAST, post_chat

ASK = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with FakeUpstream() as up:
        yield up


def test_calls_through_two_node_relays_share_one_budget_and_are_recorded_once(
    upstream: FakeUpstream, tmp_path
) -> None:
    archive = open_archive(tmp_path / "a.db", create=True)
    run_id = archive.create_run("relay", kind="evolve", config={}, seed=0)
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(
        provider, archive=archive, run_id=run_id, budget=Budget(max_calls=3), retry=FAST
    ) as gw:
        hub = RelayHub(gw)
        relays = [NodeRelay(hub.address, hub.token, "llm.sock") for _ in range(2)]
        try:
            session = gw.open_session(agent_id=None, task_id="t1")
            answers = [post_chat(relays[i % 2].socket_path, session.token, ASK) for i in range(4)]
            gw.flush()
        finally:
            for r in relays:
                r.close()
            hub.close()
    assert [status for status, _, _ in answers[:3]] == [200, 200, 200]
    status, body, raw = answers[3]
    assert status != 200 and "budget" in body["error"]["message"].lower()
    assert len(upstream.requests) == 3, "the budget holds across relays, exact to one call"
    assert all(r["headers"]["Authorization"] == f"Bearer {FAKE_KEY}" for r in upstream.requests)
    assert all(FAKE_KEY not in raw.decode() for _, _, raw in answers)
    calls = archive.llm_calls(run_id, bodies=False)
    assert sum(c.error_kind is None for c in calls) == 3  # each call once
    assert len(calls) == 4  # and the refused one, once


def test_the_hub_refuses_a_request_without_its_token(upstream: FakeUpstream) -> None:
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, retry=FAST) as gw:
        hub = RelayHub(gw)
        wrong = NodeRelay(hub.address, "not-the-token", "llm.sock")
        try:
            session = gw.open_session()
            status, body, _ = post_chat(wrong.socket_path, session.token, ASK)
            assert status == 401 and "relays only" in body["error"]["message"]
            right = NodeRelay(hub.address, hub.token, "llm.sock")
            try:
                assert post_chat(right.socket_path, session.token, ASK)[0] == 200
                assert post_chat(right.socket_path, "no-such-session", ASK)[0] == 401
            finally:
                right.close()
        finally:
            wrong.close()
            hub.close()
