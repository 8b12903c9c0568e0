"""`pip install .` gives a working dgm: the wheel, built from the tracked files and installed
into a fresh virtual environment, scores every shipped problem and runs one iteration of
`dgm run stop` with a scripted model, far from the source tree.

Offline: the wheel is built by uv from its cache (setuptools, as the set-up's editable
install left it there), and the fresh environment gets the locked dependencies from uv's
cache (`uv pip sync --offline`, as scripts/setup.sh filled it), then the wheel alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from benchmarks.problems import SHIPPED
from tests.problems.test_stop import BEST_OF, GOOD, WEAK

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1200)]
ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"


def run(
    *argv: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, (argv, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


def tracked_copy(dest: Path) -> Path:
    """The files git tracks (what a clone holds), copied to `dest`."""
    listed = run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the `dgm` of a fresh virtual environment holding only it and its locks)."""
    work = tmp_path_factory.mktemp("wheel")
    src = tracked_copy(work / "src")
    run(UV, "build", "--wheel", "--offline", "--out-dir", work / "dist", src, cwd=work)
    (wheel,) = (work / "dist").glob("dgm-*.whl")
    venv = work / "venv"
    run(UV, "venv", "--offline", "--python", sys.executable, venv, cwd=work)
    in_venv = {"VIRTUAL_ENV": str(venv)}
    run(
        UV,
        "pip",
        "sync",
        "--offline",
        "--require-hashes",
        src / "requirements.lock",
        cwd=work,
        env=in_venv,
    )
    run(UV, "pip", "install", "--offline", "--no-deps", wheel, cwd=work, env=in_venv)
    return wheel, venv / "bin" / "dgm"


def test_the_wheel_carries_the_data_dgm_reads(installed: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(installed[0]).namelist())
    for name in SHIPPED:
        assert f"benchmarks/problems/shipped/{name}/problem.yaml" in names, name
    expected = [
        "benchmarks/problems/shipped/parity_noise/heldout.json",
        "benchmarks/problems/stop_seed/improver.py",
        "benchmarks/problems/stop_harness/run_improver.py",
        "benchmarks/problems/harness/run_evaluate.py",
        "benchmarks/swe_mini/suites.json",
        "benchmarks/swebench_subsets/small.json",
        "dgm/presets/stop.yaml",
        "dgm/seed_agent/__main__.py",
        "dgm/dgmh_seed/improve.md",
        "dgm/dgmh_seed/select_parent.py",
        "dgm/presets/dgm-h.yaml",
        "dgm/ui/static/app.css",
        "dgm/ui/templates/page.html",
        "dgm/ui/templates/chart.svg",
        "archive/migrations/script.py.mako",
        "sandbox/Dockerfile",
    ]
    assert [n for n in expected if n not in names] == []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_installed_dgm_scores_each_shipped_problem(
    installed: tuple[Path, Path], name: str, tmp_path: Path
) -> None:
    proc = run(installed[1], "problem", "score", name, "--json", cwd=tmp_path)
    result = json.loads(proc.stdout)
    assert result["ok"] is True and result["score"] is not None, result


def test_the_installed_dgm_runs_one_iteration_of_stop(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    script = [
        {"pattern": r"def improve_algorithm\(initial_solution", "content": fence(BEST_OF)},
        *[fence(c) for c in [WEAK, WEAK] + [WEAK, WEAK, GOOD, WEAK] * 3],
    ]
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"responses": script}))
    budgets = {"runs": 1, "lm_calls": 2, "samples_per_call": 2, "utility_calls": 4}
    run(
        installed[1], "run", "stop", "--problem", "parity", "--max-iterations", "1",
        "--model", f"scripted:{tmp_path / 'script.yaml'}", "--archive", "a.db", "--quiet",
        *(f"--set=stop.{k}={v}" for k, v in budgets.items()),
        cwd=tmp_path,
    )  # fmt: skip
    listed = json.loads(
        run(installed[1], "runs", "--archive", "a.db", "--json", cwd=tmp_path).stdout
    )
    assert [r["status"] for r in listed] == ["finished"], listed


def fence(code: str) -> str:
    return f"An idea, then its code.\n```python\n{code}```\n"
