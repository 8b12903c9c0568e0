"""DGM-H's parent choice with a real archive and the real Docker sandbox: the newest
candidate's own selector picks, and a selector that crashes, loops forever, answers
unknown ids or no JSON is replaced by the run's rule, the fallback recorded. The
selector sees no secret of the host and reaches no network."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import Archive, open_archive
from dgm.dgmh import EVENT, SELECTOR, HyperModifier, procedure_files, selection_line
from dgm.executors import ExecutorSpec
from dgm.executors.local import LocalExecutor, LocalNode
from dgm.selectors import SELECTORS, member_children
from dgm.suite_run import SEED_AGENT_DIR
from sandbox import Limits, SandboxBackend, open_backend

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

SECRET = "sk-dgmh-test-secret-0123456789"

NEWEST = b"def select(summary):\n    return [summary['agents'][-1]['id']]\n"
CRASH = b"def select(summary):\n    raise RuntimeError('selector fell over')\n"
LOOP = b"def select(summary):\n    while True:\n        pass\n"
UNKNOWN = b"def select(summary):\n    return ['no-such-agent']\n"
NOT_JSON = b"def select(summary):\n    return {1, 2}\n"  # a set: json.dump refuses it
EMPTY = b"def select(summary):\n    return []\n"
HOG = b"def select(summary):\n    block = bytearray(1 << 30)\n    return [block]\n"


def prying(port: int) -> bytes:
    """A selector that looks for the host's secret and network, and answers with the
    oldest agent only if it found neither (else an id that makes the engine fall back)."""
    return f"""
import os, socket
def select(summary):
    found = []
    seen = dict(os.environ)
    for path in ("/proc/1/environ", "/proc/self/environ"):
        try:
            seen[path] = open(path, "rb").read().decode(errors="replace")
        except OSError:
            pass
    if any({SECRET!r} in v for v in seen.values()):
        found.append("secret")
    for host in ("172.17.0.1", "host.docker.internal", "10.0.2.2", "1.1.1.1"):
        try:
            socket.create_connection((host, {port}), timeout=2).close()
            found.append("network:" + host)
        except OSError:
            pass
    print("found:", found)
    return [summary["agents"][0]["id"]] if not found else ["LEAK " + ",".join(found)]
""".encode()


class NoRunner:
    """Choosing a parent makes no child: the self-modification must not be called."""

    def run(self, agent_id: str, files: object, problem: str) -> object:
        raise AssertionError("choose_parents ran a self-modification")


@pytest.fixture(scope="module")
def backend() -> Iterator[SandboxBackend]:
    with open_backend("docker", run_label="pytest-dgmh", pool_size=0) as b:
        yield b


def agent(selector: bytes) -> dict[str, bytes]:
    files = {**procedure_files(), SELECTOR: selector}
    files["__main__.py"] = (SEED_AGENT_DIR / "__main__.py").read_bytes()
    return files


def tree(tmp_path: Path, newest_selector: bytes) -> tuple[Archive, str, list[str]]:
    """A run with three evaluated agents (seed, child, grandchild); the grandchild, the
    newest, carries `newest_selector`; the others pick the newest agent."""
    archive = open_archive(tmp_path / "a.db")
    run = archive.create_run("dgmh", kind="evolve", config={"selector": "best"}, seed=0)
    ids: list[str] = []
    for i, selector in enumerate([NEWEST, NEWEST, newest_selector]):
        aid = archive.add_agent(
            run,
            agent(selector),
            parent_id=ids[-1] if ids else None,
            second_parent_id=None,
            operator="seed" if not ids else "dgmh",
            origin={"iteration": i},
            status="pending",
        )
        archive.set_agent_score(aid, "small", [0.2, 0.9, 0.5][i])
        archive.set_agent_status(aid, "evaluated", None)
        ids.append(aid)
    return archive, run, ids


def modifier(
    archive: Archive, run: str, backend: SandboxBackend, timeout_s: float = 20
) -> HyperModifier:
    executor = LocalExecutor(ExecutorSpec(run_label="pytest-dgmh"), LocalNode(backend))
    limits = Limits(timeout_s=timeout_s, memory_mb=256, output_cap_bytes=65536, copy_out_cap_mb=1)
    return HyperModifier(
        NoRunner(),  # type: ignore[arg-type]
        executor,
        archive,
        run,
        "docker",
        limits,
        SELECTORS["best"],  # the fallback: here the best agent (the child, 0.9)
        "best",
    )


def choose(
    archive: Archive, run: str, m: HyperModifier, iteration: int = 1
) -> tuple[list[str], dict]:
    stats = member_children(archive.candidate_stats(run))
    picked = m.choose_parents(iteration, stats, random.Random(iteration))
    event = archive.events(run, kinds=[EVENT])[-1].payload
    return picked, event


def test_the_newest_agents_own_selector_picks(tmp_path: Path, backend: SandboxBackend) -> None:
    oldest = b"def select(summary):\n    return [summary['agents'][0]['id']]\n"
    archive, run, (seed, child, newest) = tree(tmp_path, oldest)
    picked, event = choose(archive, run, modifier(archive, run, backend))
    # The newest agent's rule (the oldest agent), not its ancestors' (the newest), nor the
    # fallback's (the best: the child).
    assert picked == [seed]
    assert event == {
        "iteration": 1,
        "selector": newest,
        "picked": [seed],
        "fallback": None,
        "kind": None,
        "reason": None,
        "node": None,
    }


def test_the_shipped_selector_answers_a_candidate(tmp_path: Path, backend: SandboxBackend) -> None:
    archive, run, ids = tree(tmp_path, procedure_files()[SELECTOR])
    m = modifier(archive, run, backend)
    for i in range(1, 4):
        picked, event = choose(archive, run, m, i)
        assert event["fallback"] is None and event["selector"] == ids[-1]
        assert len(picked) == 1 and picked[0] in ids


@pytest.mark.parametrize(
    ("selector", "kind", "reason"),
    [
        (CRASH, "crashed", "RuntimeError: selector fell over"),
        (LOOP, "timeout", "ran past its 5 s"),
        (UNKNOWN, "invalid", "not a parent candidate: 'no-such-agent'"),
        (NOT_JSON, "crashed", "TypeError: Object of type set is not JSON serializable"),
        (EMPTY, "invalid", "0 ids, 1 wanted"),
        (HOG, "oom", "ran out of its 256 MiB"),
    ],
    ids=["crash", "infinite-loop", "unknown-ids", "not-json", "empty", "memory"],
)
def test_a_failing_selector_falls_back_and_the_fallback_is_recorded(
    tmp_path: Path, backend: SandboxBackend, selector: bytes, kind: str, reason: str
) -> None:
    archive, run, (seed, child, newest) = tree(tmp_path, selector)
    picked, event = choose(archive, run, modifier(archive, run, backend, timeout_s=5))
    assert picked == [child]  # the fallback's choice: `best`
    assert event["selector"] == newest and event["picked"] == [child]
    assert event["fallback"] == "best" and event["kind"] == kind
    assert event["reason"] == reason
    line = selection_line(archive, run)
    assert line == f"0 by agents' selectors, 1 by best (1 {kind})"


def test_an_answer_that_is_not_json_falls_back(tmp_path: Path, backend: SandboxBackend) -> None:
    # The selector writes its own answer file and exits before the runner does.
    raw = b"import os\ndef select(summary):\n    open('/out/selection.json', 'w').write('not json')\n    os._exit(0)\n"
    archive, run, (seed, child, newest) = tree(tmp_path, raw)
    picked, event = choose(archive, run, modifier(archive, run, backend))
    assert picked == [child]
    assert (event["kind"], event["reason"]) == ("invalid", "the answer is not JSON")


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on every host address: a selector that reaches it is not isolated."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_the_selector_sees_no_secret_and_no_network(
    tmp_path: Path,
    backend: SandboxBackend,
    host_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("DGMH_TEST_SECRET", SECRET)
    # The test server is reachable from this host (so "unreachable" below means isolated).
    socket.create_connection(("127.0.0.1", host_server), timeout=2).close()
    archive, run, (seed, child, newest) = tree(tmp_path, prying(host_server))
    picked, event = choose(archive, run, modifier(archive, run, backend))
    assert event["fallback"] is None, event
    assert picked == [seed]
    assert SECRET not in json.dumps([e.payload for e in archive.events(run)])
    assert os.environ["OPENAI_API_KEY"] == SECRET  # the secret was there to be found
