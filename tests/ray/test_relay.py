"""The gateway across nodes: sandbox -> node relay (Unix socket) -> hub (TCP, token) ->
the one Gateway, against a real OpenAI-protocol upstream. Keys stay in the gateway,
budgets are exact to one call across relays, every call is recorded once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from archive import open_archive
from dgm.executors.ray_executor import RayNode, RelayLost, _relays
from dgm.llm import Gateway, open_provider
from dgm.llm.budget import Budget
from dgm.llm.fake_upstream import FakeUpstream
from dgm.llm.relay import NodeRelay, RelayHub
from sandbox import EngineUnavailable
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


def test_a_relay_killed_under_a_job_is_the_machinerys_failure(upstream: FakeUpstream) -> None:
    """A job's relay is a process of its own: its death is seen, said as RelayLost (an
    engine failure: the driver runs the job again, never records it), and the next job of
    that worker process gets a new relay."""
    provider = open_provider("openai/fake-model", api_base=upstream.base_url)
    with Gateway(provider, retry=FAST) as gw:
        hub = RelayHub(gw)
        try:
            session = gw.open_session()
            job = RayNode("node-1", hub.address, hub.token, "llm.sock")
            assert post_chat(job.gateway_socket(), session.token, ASK)[0] == 200
            job.check_relay()  # alive: nothing to say
            (relay,) = _relays.values()
            os.kill(relay.pid, signal.SIGKILL)
            with pytest.raises(RelayLost, match="relay of node node-1 died during the job"):
                wait_dead_then_check(job)
            assert issubclass(RelayLost, EngineUnavailable)
            next_job = RayNode("node-1", hub.address, hub.token, "llm.sock")
            assert post_chat(next_job.gateway_socket(), session.token, ASK)[0] == 200
            (new,) = _relays.values()
            assert new is not relay and new.alive()
        finally:
            for r in _relays.values():
                r.close()
            _relays.clear()
            hub.close()


def wait_dead_then_check(job: RayNode) -> None:
    """`check_relay` once the killed relay is gone (SIGKILL is not instant)."""
    for _ in range(100):
        job.check_relay()
        time.sleep(0.05)
