"""Gateway overhead and throughput: prints ONE JSON line.

overhead_ms_p50: the median of a call through the gateway (Unix socket -> gateway ->
litellm -> upstream, recorded in a SQLite archive) minus the median of the same call
sent straight to the upstream. The upstream is dgm's OpenAI-protocol test server running
in its own process; callers use the stdlib only, like a sandboxed agent.
calls_per_s: completed calls per second with 16 concurrent callers (in another process,
one keep-alive connection each). litellm_alone_ms_p50 is the same upstream call made
with litellm directly, in-process: most of the overhead is litellm's own.

    python -m benchmarks.perf.gateway [--calls 300] [--concurrency 16] [--per-caller 25]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from archive import open_archive
from dgm.llm import Gateway, open_provider

BODY = json.dumps(
    {
        "model": "bench",
        "messages": [
            {"role": "system", "content": "You are a careful coding agent."},
            {
                "role": "user",
                "content": "Fix the off-by-one error in the loop of utils.py, line 42.",
            },
        ],
    }
).encode()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def timed_post(conn: http.client.HTTPConnection, headers: dict[str, str]) -> float:
    t = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", BODY, headers)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}")
    return time.perf_counter() - t


# The concurrent callers run in their own process so they do not share the gateway's GIL.
CALLERS = textwrap.dedent("""
    import http.client, json, socket, sys, threading, time
    path, token, n_callers, per_caller = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    body = sys.stdin.buffer.read()
    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(path)
    errors = []
    start = threading.Barrier(n_callers + 1)
    def caller():
        c = C("localhost", timeout=120)
        start.wait()
        for _ in range(per_caller):
            c.request("POST", "/v1/chat/completions", body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = c.getresponse(); r.read()
            if r.status != 200: errors.append(r.status)
    ts = [threading.Thread(target=caller) for _ in range(n_callers)]
    for t in ts: t.start()
    start.wait(); t0 = time.perf_counter()
    for t in ts: t.join()
    print(json.dumps({"seconds": time.perf_counter() - t0, "errors": len(errors)}))
""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300, help="sequential calls measured each way")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-caller", type=int, default=25)
    args = ap.parse_args()

    env = {**os.environ, "OPENAI_API_KEY": "sk-bench-not-a-real-key"}
    os.environ["OPENAI_API_KEY"] = env["OPENAI_API_KEY"]
    upstream = subprocess.Popen(
        [sys.executable, "-m", "dgm.llm.fake_upstream"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        base_url = upstream.stdout.readline().strip()  # type: ignore[union-attr]
        host, port = base_url.removeprefix("http://").removesuffix("/v1").split(":")
        with tempfile.TemporaryDirectory() as tmp, open_archive(Path(tmp) / "bench.db") as store:
            run_id = store.create_run("gateway-bench", kind="bench")
            provider = open_provider(
                "openai/gpt-4o-mini", api_base=base_url
            )  # priced: costs are computed
            with Gateway(provider, archive=store, run_id=run_id) as gw:
                s = gw.open_session(purpose="bench")
                assert gw.socket_path is not None  # started by `with`
                via = UnixHTTPConnection(gw.socket_path)
                direct = http.client.HTTPConnection(host, int(port), timeout=60)
                gw_headers = {
                    "Authorization": f"Bearer {s.token}",
                    "Content-Type": "application/json",
                }
                plain = {"Content-Type": "application/json"}
                for _ in range(20):  # warm up: imports, connection pools, SQLite pages
                    timed_post(via, gw_headers)
                    timed_post(direct, plain)
                d, g, lite = [], [], []
                request = {"model": provider.model, "messages": json.loads(BODY)["messages"]}
                for _ in range(args.calls):  # interleaved, so drift hits all alike
                    d.append(timed_post(direct, plain))
                    g.append(timed_post(via, gw_headers))
                    t = time.perf_counter()
                    provider.complete(request, "bench")  # litellm alone, no gateway around it
                    lite.append(time.perf_counter() - t)

                run = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CALLERS,
                        gw.socket_path,
                        s.token,
                        str(args.concurrency),
                        str(args.per_caller),
                    ],
                    input=BODY,
                    capture_output=True,
                    check=True,
                )
                conc = json.loads(run.stdout)
                gw.flush()
                recorded = len(store.llm_calls(run_id, bodies=False))
    finally:
        upstream.terminate()
        upstream.wait()

    total = args.concurrency * args.per_caller
    p50_d, p50_g = statistics.median(d), statistics.median(g)
    q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))]  # noqa: E731
    print(
        json.dumps(
            {
                "overhead_ms_p50": round((p50_g - p50_d) * 1000, 3),
                "overhead_ms_p90": round((q(g, 0.9) - q(d, 0.9)) * 1000, 3),
                "gateway_ms_p50": round(p50_g * 1000, 3),
                "direct_ms_p50": round(p50_d * 1000, 3),
                "litellm_alone_ms_p50": round(statistics.median(lite) * 1000, 3),
                "calls_per_s": round(total / conc["seconds"], 1),
                "concurrency": args.concurrency,
                "concurrent_calls": total,
                "concurrent_errors": conc["errors"],
                "sequential_calls": args.calls,
                "recorded_calls": recorded,
                "archive": "sqlite",
                "upstream_path": "litellm openai/ -> local OpenAI-protocol server",
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
