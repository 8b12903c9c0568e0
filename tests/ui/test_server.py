"""The server's JSON and headers on SQLite and PostgreSQL; read-only; token and Host checks; CLI."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from archive import Archive, ArchiveError, LLMCallRecord, open_archive
from tests.ui import sample
from tests.ui.conftest import serving

DGM = [sys.executable, "-c", "from dgm.cli import main; main()"]


def get(server, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def get_json(server, path: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = get(server, path)
    assert r.status == 200, r.read()
    assert r.getheader("Content-Type") == "application/json"
    return json.loads(r.read())


def test_json_on_both_backends(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        ids = sample.build(archive)
    with serving(archive_url) as server:
        tree = get_json(server, f"/api/runs/{ids['run']}/tree")
        assert tree["total"] == 5 and tree["best"] == ids["cross"]
        nodes = {n["id"]: n for n in tree["nodes"]}
        assert set(nodes) == {ids[k] for k in ("seed", "child", "other", "cross", "bad")}
        assert (
            nodes[ids["cross"]]["p"] == ids["child"] and nodes[ids["cross"]]["p2"] == ids["other"]
        )
        assert nodes[ids["seed"]]["n"] == 5 and nodes[ids["seed"]]["sb"] == 0.75
        assert [n["b"] for n in (nodes[ids["seed"]], nodes[ids["child"]], nodes[ids["cross"]])] == [
            True
        ] * 3
        kids = get_json(server, f"/api/runs/{ids['run']}/tree?node={ids['child']}")
        assert [n["id"] for n in kids["nodes"]] == [ids["cross"], ids["bad"]] and kids["more"] == 0
        leaf = get_json(server, f"/api/runs/{ids['run']}/tree?node={ids['bad']}")
        assert leaf["nodes"] == [] and leaf["more"] == 0

        live = get_json(server, f"/runs/{ids['run']}/live")
        assert set(live["sections"]) == {"summary", "progress", "workers", "cost", "failures"}
        assert (
            "&lt;script&gt;" in live["sections"]["failures"]
            and "<script>" not in live["sections"]["failures"]
        )
        assert get_json(server, f"/runs/{ids['run']}/live?v={live['v']}") == {
            "v": live["v"]
        }  # unchanged
        with open_archive(archive_url, create=False) as writer:
            writer.append_event(
                ids["run"], "job_started", {"job": "expand", "iteration": 6, "parent": ids["seed"]}
            )
        again = get_json(server, f"/runs/{ids['run']}/live?v={live['v']}")
        assert again["v"] != live["v"] and "iteration 6" in again["sections"]["workers"]

        runs = get_json(server, "/live")
        assert ids["run"] in runs["sections"]["runs"]
        for path in (
            f"/agents/{ids['child']}",
            f"/agents/{ids['child']}/diff",
            f"/agents/{ids['child']}/evals/2",
            f"/calls/{ids['call']}",
            f"/runs/{ids['run'][:6]}",
            f"/agents/{ids['child'][:7]}",
            "/runs/sample%2Drun",
        ):
            r = get(server, path)
            assert r.status == 200, path
            assert "<script>window" not in r.read().decode()


def test_security_headers_and_errors(sample_run: tuple[str, dict[str, str]]) -> None:
    url, ids = sample_run
    with serving(url) as server:
        r = get(server, f"/runs/{ids['run']}")
        csp = r.getheader("Content-Security-Policy")
        assert (
            "script-src 'self'" in csp
            and "default-src 'none'" in csp
            and "unsafe-inline" not in csp
        )
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        assert get(server, "/agents/zzz").status == 404
        assert get(server, "/agents/0123456789abcdef").status == 404
        assert get(server, "/static/../server.py").status == 404
        for host in ("127.0.0.1:1", "localhost", "LOCALHOST:8000", "[::1]:80", "127.0.0.2"):
            assert get(server, "/runs", {"Host": host}).status == 200, host
        # DNS rebinding: a name the attacker owns, however it starts, is refused.
        for host in ("evil.example:80", "127.evil.example", "127.0.0.1.evil.example"):
            assert get(server, "/runs", {"Host": host}).status == 403, host
        # The standard library's own error pages carry the same headers.
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
        conn.request("POST", "/runs")
        r = conn.getresponse()
        assert r.status == 501 and "default-src 'none'" in r.getheader("Content-Security-Policy")
        assert get(server, "/static/app.js").getheader("Content-Type").startswith("text/javascript")


def test_the_server_cannot_write(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        sample.build(archive)
    url = archive_url
    with serving(url) as server:
        with pytest.raises(ArchiveError, match="readonly|read-only"):
            server.app.archive.create_run("should-not-exist")
        assert get(server, "/runs").status == 200
    with open_archive(url, create=False) as archive:
        assert [r.name for r in archive.runs()] == ["sample-run"]


def test_token_off_loopback(sample_run: tuple[str, dict[str, str]]) -> None:
    url, _ = sample_run
    with serving(url, host="0.0.0.0") as server:
        assert server.token and f"?token={server.token}" in server.url
        assert get(server, "/runs").status == 401
        assert get(server, "/runs?token=nope").status == 401
        r = get(server, f"/runs?token={server.token}")
        assert r.status == 303 and r.getheader("Location") == "/runs"
        cookie = r.getheader("Set-Cookie").split(";")[0]
        assert "HttpOnly" in r.getheader("Set-Cookie")
        assert cookie.startswith(f"dgm_ui_token_{server.server_address[1]}=")  # one per port
        assert get(server, "/runs", {"Cookie": cookie}).status == 200
        # Another app's malformed cookie on the same host does not hide ours.
        assert get(server, "/runs", {"Cookie": f'x={{"a b"}}; {cookie}; y'}).status == 200
        assert get(server, "/runs", {"Cookie": cookie.split("=")[0] + "=wrong"}).status == 401
        # The redirect stays on this server, whatever the path looks like.
        for path in ("/\\evil.example/", "/\\/evil.example/"):
            r = get(server, f"{path}?token={server.token}")
            assert r.getheader("Location") == "/evil.example/", path


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DGM, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None,
        cwd=Path(__file__).parents[2],
    )


def test_cli_errors_are_one_line(tmp_path: Path, sample_run: tuple[str, dict[str, str]]) -> None:
    r = run_cli("ui", "--archive", str(tmp_path / "missing.db"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no archive at" in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = run_cli("ui", "--archive", sample_run[0], "--port", str(busy.getsockname()[1]))
    assert r.returncode == 2 and "--port" in r.stderr and "Traceback" not in r.stderr
    for port in ("70000", "-1"):
        r = run_cli("ui", "--archive", sample_run[0], "--port", port)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and f"--port {port}" in r.stderr


def test_cli_serves_and_prints_the_url(sample_run: tuple[str, dict[str, str]]) -> None:
    proc = subprocess.Popen(
        [*DGM, "ui", "--archive", sample_run[0], "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in line and "token" not in line
        port = int(line.rsplit(":", 1)[1].strip("/\n "))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/runs")
        assert b"sample-run" in conn.getresponse().read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_browser_that_hangs_up_leaves_no_traceback(
    sample_run: tuple[str, dict[str, str]],
) -> None:
    """A browser that closes its tab while a page is being made resets the connection;
    the server keeps serving and says nothing on its stderr (it printed a traceback)."""
    url, ids = sample_run
    proc = subprocess.Popen(
        [*DGM, "ui", "--archive", url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        port = int(line.rsplit(":", 1)[1].strip("/\n "))
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(f"GET /runs/{ids['run']} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                # Linger 0: the close is a reset, as a browser's hang-up mid-page is.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/runs/{ids['run']}")
        assert conn.getresponse().status == 200  # still serving
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "Exception" not in err, err


def test_the_newest_runs_are_warmed_at_start(sample_run: tuple[str, dict[str, str]]) -> None:
    url, ids = sample_run
    with serving(url) as server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not server.app.trees.cached(ids["run"]):
            time.sleep(0.05)
        assert server.app.trees.cached(ids["run"])


def odd_run(archive: Archive) -> dict[str, str]:
    """Data the archive accepts but no well-behaved run writes: the pages must still render."""
    deep = b"[" * 5000 + b"]" * 5000  # deeper than Python's recursion limit
    run = archive.create_run("odd", config={"budget_usd": 10**400, "model": ["a", None]})
    seed = archive.add_agent(
        run, {"a.py": b"x = 1\n"}, origin={"plan": json.loads("[" * 600 + "]" * 600)}
    )
    trajectory = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": 5}, {"type": "image"}]},
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": 1, "arguments": "[" * 3000}}],
            },
            7,
            None,
        ]
    }
    archive.record_evaluations(
        seed,
        [
            dict(
                task_id="t",
                stage="s",
                resolved=False,
                tests={"a": None, "b": 3},
                trajectory=json.dumps(trajectory),
            ),
            dict(
                task_id="t",
                stage="s",
                resolved=False,
                tests={"x": "PASSED"},
                trajectory=deep,
                logs=b"\xff\x00",
            ),
        ],
    )
    call = archive.record_llm_call(
        LLMCallRecord(
            run,
            seed,
            None,
            "p",
            "m",
            1,
            1,
            0.0,
            0.1,
            request=deep,
            response=b'{"choices": [3]}',
            error_kind=None,
            request_key="odd",
        )
    )
    return {"run": run, "seed": seed, "call": call}


def test_odd_archive_data_renders(sample_run: tuple[str, dict[str, str]]) -> None:
    url, _ = sample_run
    with open_archive(url) as archive:
        ids = odd_run(archive)
    with serving(url) as server:
        for path in (
            f"/runs/{ids['run']}",
            f"/runs/{ids['run']}/live",
            f"/agents/{ids['seed']}",
            f"/agents/{ids['seed']}/evals/1",
            f"/agents/{ids['seed']}/evals/2",
            f"/calls/{ids['call']}",
        ):
            r = get(server, path)
            assert r.status == 200, (path, r.read()[:300])


def test_bad_requests_get_a_clean_page(sample_run: tuple[str, dict[str, str]]) -> None:
    url, ids = sample_run
    agent = ids["child"]
    with open_archive(url) as archive:  # 17 agents: two share a first hex digit
        agents = [ids[k] for k in ("seed", "child", "other", "cross", "bad")]
        agents += [archive.add_agent(ids["run"], {"a.py": b"%d" % i}) for i in range(12)]
    shared = Counter(a[0] for a in agents).most_common(1)[0][0]
    with serving(url) as server:
        for path in (
            "/runs/zzz",
            "/runs/%00",
            "/runs/%ff%fe",
            "/agents/abc%0a",
            "/agents/ABC",
            f"/agents/{agent}/evals/99999999999999999999999999",
            f"/agents/{agent}/evals/%D9%A1",  # an Arabic-Indic digit one
            f"/agents/{agent}/evals/-1",
            f"/agents/{agent}/diff?against=%00",
            f"/api/runs/{ids['run']}/tree?node=%ff",
            "/calls/%00",
            "/runs/" + "a" * 5000,
            "/static/..%2fserver.py",
            "/nowhere",
        ):
            r = get(server, path)
            body = r.read().decode()
            assert r.status in (400, 404), (path, r.status)
            assert "<h1>" in body and "Traceback" not in body, path
        # An ambiguous prefix names the candidates instead of guessing.
        r = get(server, "/agents/" + shared)
        assert r.status == 404 and "ambiguous" in r.read().decode()
        assert get(server, "/runs?x=%ff&&&=&v").status == 200  # a malformed query is ignored


def test_an_idle_connection_is_closed(
    sample_run: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dgm.ui.server import Handler

    monkeypatch.setattr(Handler, "timeout", 1)
    with serving(sample_run[0]) as server, socket.create_connection(server.server_address) as s:
        s.settimeout(30)
        assert s.recv(100) == b""  # closed by the server, not by our 30 s
