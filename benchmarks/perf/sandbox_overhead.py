"""Sandbox overhead: what isolation costs per command, per fresh sandbox, and on a test run.

    python -m benchmarks.perf.sandbox_overhead [--n 30] [--backend docker]

Prints ONE JSON line:
- exec_overhead_ms_p50: a trivial command (`true`) in a warm sandbox minus the same bare;
- fresh_sandbox_ms_p50: take a fresh sandbox from the warm pool, copy a small repo in,
  run a command, copy a file out, close (removal happens in the background);
- fresh_sandbox_cold_ms_p50: the same without a pool (create + start + remove inline);
- pytest_ratio: the small repo's pytest suite in the sandbox / bare on the host;
- local_exec_overhead_ms_p50: the bubblewrap backend's per-command cost (when usable).
Targets: pytest_ratio <= 1.3, exec_overhead_ms_p50 <= 100 (warm pool).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox import Limits, open_backend
from sandbox.local_backend import bwrap_works

LIMITS = Limits(memory_mb=1024, cpus=1.0, timeout_s=120)
PYTEST = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def make_repo(root: Path, modules: int = 6, tests_per_module: int = 8) -> Path:
    """A small pure-Python project with a pytest suite (what swe-mini tasks look like)."""
    repo = root / "smallrepo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    for m in range(modules):
        (repo / "pkg" / f"mod{m}.py").write_text(
            "import re\n\n"
            f"def slug(s: str) -> str:\n    return re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-') + '{m}'\n\n"
            "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
        )
        tests = "".join(
            f"\ndef test_fib_{t}():\n    assert mod{m}.fib({t + 10}) == mod{m}.fib({t + 9}) + mod{m}.fib({t + 8})\n"
            f"\ndef test_slug_{t}():\n    assert mod{m}.slug('Hello World {t}') == 'hello-world-{t}{m}'\n"
            for t in range(tests_per_module)
        )
        (repo / "tests" / f"test_mod{m}.py").write_text(f"from pkg import mod{m}\n{tests}")
    return repo


def ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def timed(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return out


def bare_python() -> list[str]:
    """The host interpreter that has pytest: Debian's python3 when it does (the sandbox's)."""
    debian = "/usr/bin/python3"
    ok = (
        Path(debian).exists()
        and subprocess.run([debian, "-c", "import pytest"], capture_output=True).returncode == 0
    )
    return [debian, *PYTEST[1:]] if ok else [sys.executable, *PYTEST[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="repetitions of the cheap measurements")
    parser.add_argument("--pytest-n", type=int, default=9, help="repetitions of the pytest runs")
    parser.add_argument("--backend", default="docker", choices=["docker", "local"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        bare_cmd = bare_python()
        subprocess.run(bare_cmd, cwd=repo, check=True, capture_output=True)  # warm caches, .pyc
        result: dict[str, object] = {"backend": args.backend, "n": args.n}
        with open_backend(args.backend, run_label="bench-sandbox-overhead", pool_size=2) as backend:
            if hasattr(backend, "warm"):
                backend.warm(LIMITS)
            with backend.open(LIMITS) as sb:
                sb.put_dir(repo, "/testbed")
                assert sb.run(["true"]).ok
                first = sb.run(PYTEST, timeout_s=120)
                assert first.ok, first.stdout + first.stderr
                # Bare and sandboxed runs alternate, so load from other processes hits both alike.
                bare_true, in_true, bare_pytest, in_pytest = [], [], [], []
                for _ in range(args.n):
                    bare_true += timed(lambda: subprocess.run(["true"], check=True), 1)
                    in_true += timed(lambda: sb.run(["true"]), 1)
                for _ in range(args.pytest_n):
                    bare_pytest += timed(
                        lambda: subprocess.run(bare_cmd, cwd=repo, check=True, capture_output=True),
                        1,
                    )
                    in_pytest += timed(lambda: sb.run(PYTEST, timeout_s=120), 1)

            def fresh() -> None:
                with backend.open(LIMITS) as s:
                    s.put_dir(repo, "/testbed")
                    s.run("ls -R > /out/listing.txt")
                    s.get_files("/out/listing.txt")

            warm_times = []
            for _ in range(max(5, args.n // 3)):
                if hasattr(backend, "pool"):
                    backend.pool.wait_idle(120)  # steady state: the pool has kept up
                warm_times += timed(fresh, 1)
        result |= {
            "exec_overhead_ms_p50": round(ms(in_true) - ms(bare_true), 1),
            "exec_ms_p50": ms(in_true),
            "bare_exec_ms_p50": ms(bare_true),
            "fresh_sandbox_ms_p50": ms(warm_times),
            "pytest_ratio": round(statistics.median(in_pytest) / statistics.median(bare_pytest), 3),
            "pytest_sandbox_ms_p50": ms(in_pytest),
            "pytest_bare_ms_p50": ms(bare_pytest),
        }
        if args.backend == "docker":
            with open_backend("docker", run_label="bench-sandbox-overhead", pool_size=0) as cold:

                def fresh_cold() -> None:
                    with cold.open(LIMITS) as s:
                        s.put_dir(repo, "/testbed")
                        s.run("ls -R > /out/listing.txt")
                        s.get_files("/out/listing.txt")
                    cold.pool.wait_idle(120)  # type: ignore[attr-defined]  # removal counted too

                result["fresh_sandbox_cold_ms_p50"] = ms(timed(fresh_cold, max(3, args.n // 6)))
            if bwrap_works()[0]:
                with open_backend("local") as local, local.open(LIMITS) as sb:
                    result["local_exec_overhead_ms_p50"] = round(
                        ms(timed(lambda: sb.run(["true"]), args.n)) - ms(bare_true), 1
                    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
