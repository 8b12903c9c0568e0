"""A run you can account for: `dgm run --dry-run` prints the plan and creates nothing; a
model's missing key is refused before a run exists; `dgm archive manifest RUN` and the
report's manifest.json say exactly what ran (secrets masked)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.accounting import CHARS_PER_TOKEN, MARKS, OUTPUT_TOKENS, crossed, tree_sha256
from dgm.llm.prices import openai_price
from tests.cli.conftest import SEED, Ids
from tests.cli.conftest import dgm as subprocess_dgm
from tests.cli.runner import dgm, folder_print, rows_print

NO_KEYS = {"OPENAI_API_KEY": None, "ANTHROPIC_API_KEY": None}


def test_dry_run_prints_the_plan_and_creates_no_run(workdir: Path) -> None:
    before, rows = folder_print(workdir), rows_print(workdir / "a.db")
    out = dgm(
        ["run", "--dry-run", "--model", "scripted:script.yaml", "--max-iterations", "3"],
        workdir,
        env={"DGM_ARCHIVE": str(workdir / "a.db"), **NO_KEYS},
    )
    assert out.code == 0, out
    text = out.stdout
    assert "no run created, nothing spent" in text
    # the dgm preset: swe-mini's small (5), medium and full stages; 4 agents
    assert re.search(r"evaluations: 20 to \d+ \(4 agents: the seed \+ 3 children\)", text), text
    assert "LLM calls: at most" in text and "sandbox docker; executor local" in text
    assert "dollars: 0 (scripted:script.yaml is not billed)" in text
    assert folder_print(workdir) == before and rows_print(workdir / "a.db") == rows


def test_dry_run_prices_a_priced_model_by_its_stated_rule(workdir: Path) -> None:
    import litellm

    out = dgm(
        ["run", "--dry-run", "--model", "openai/gpt-4o-mini", "--max-iterations", "2"],
        workdir,
        env={"DGM_ARCHIVE": str(workdir / "a.db"), "OPENAI_API_KEY": "sk-test-not-a-real-key"},
    )
    assert out.code == 0, out
    calls = int(re.search(r"LLM calls: at most (\d+)", out.stdout)[1])  # type: ignore[index]
    prompt_tokens = 4000 // CHARS_PER_TOKEN  # the dgm preset's prompt_chars
    one = sum(litellm.cost_per_token("openai/gpt-4o-mini", prompt_tokens, OUTPUT_TOKENS))
    assert f"dollars: about ${calls * one:.2f}" in out.stdout
    assert f"tokens: about {calls * (prompt_tokens + OUTPUT_TOKENS):,}" in out.stdout
    assert "sk-test" not in out.stdout + out.stderr


IMPORTS_AT_EXIT = (
    "import atexit, sys; "
    "atexit.register(lambda: print('litellm imported:', 'litellm' in sys.modules)); "
    "from dgm.cli import main; sys.argv[0] = 'dgm'; main()"
)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("run --dry-run --model openai/gpt-4o-mini --api-base http://127.0.0.1:9/v1", ""),
        ("run --dry-run --model openai/gpt-4o-mini", "sk-test"),  # OpenAI's: key checked
    ],
)
def test_dry_run_of_an_openai_model_never_imports_litellm(
    workdir: Path, args: str, key: str
) -> None:
    """On the user's server the run would not import it (dgm/llm/openai_compatible.py);
    OpenAI's key is checked by litellm's rule without it; the plan's price is read from
    litellm's price map as a file (seconds saved on a loaded machine)."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AT_EXIT, *args.split(), "--max-iterations", "2"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DGM_ARCHIVE": str(workdir / "a.db"), "OPENAI_API_KEY": key},
    )
    assert done.returncode == 0, done.stderr
    assert "litellm imported: False" in done.stdout, done.stdout
    calls = int(re.search(r"LLM calls: at most (\d+)", done.stdout)[1])  # type: ignore[index]
    one = openai_price("openai/gpt-4o-mini", 4000 // CHARS_PER_TOKEN, OUTPUT_TOKENS)
    assert one is not None and f"dollars: about ${calls * one:.2f}" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        "run --model openai/gpt-4o-mini",
        "run --dry-run --model openai/gpt-4o-mini",
        "run --model anthropic/claude-3-5-haiku-latest",
        "llm chat hi --model openai/gpt-4o-mini",
        "bench run --agent seed --suite swe-mini --model openai/gpt-4o-mini",
        # a second model of the run, named in the preset or by --set: checked like the first
        "run reevo --problem tsp_constructive --model scripted:script.yaml "
        "--set reevo.reflector_model=openai/gpt-4o-mini",
        "run reevo --dry-run --problem tsp_constructive --model scripted:script.yaml "
        "--set reevo.reflector_model=anthropic/claude-3-5-haiku-latest",
        "run --model scripted:script.yaml --set diagnosis_model=openai/gpt-4o-mini",
        "run --model scripted:script.yaml --set novelty.judge_model=openai/gpt-4o-mini",
    ],
)
def test_a_model_without_its_key_is_one_line_before_any_run(args: str, workdir: Path) -> None:
    before, rows = folder_print(workdir), rows_print(workdir / "a.db")
    out = dgm(args.split(), workdir, env={"DGM_ARCHIVE": str(workdir / "a.db"), **NO_KEYS})
    assert out.code == 2 and len(out.lines) == 1, out
    assert re.search(r"needs \w+_API_KEY in the environment", out.lines[0]), out
    key = re.search(r"--set ([\w.]+)=", args)
    if key:  # the line names the key to fix
        assert out.lines[0].startswith(f"error: {key[1]}: model "), out
        assert out.lines[0].endswith(f"or use --set {key[1]}=local"), out
    assert rows_print(workdir / "a.db") == rows and folder_print(workdir) == before


def test_a_missing_key_at_call_time_is_an_auth_error_not_a_server_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should a key vanish after the check, the call fails as `auth`, which is never
    retried (dgm.llm.errors.RETRYABLE)."""
    from dgm.llm.errors import LLMError
    from dgm.llm.upstream import LiteLLMProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = LiteLLMProvider("openai/gpt-4o-mini")
    with pytest.raises(LLMError) as caught:
        provider.complete({"messages": [{"role": "user", "content": "hi"}]}, "k")
    assert caught.value.kind == "auth" and not caught.value.retryable


def test_the_manifest_says_what_ran(
    workdir: Path, template: tuple[Path, Ids], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = template[1]
    env = {"DGM_ARCHIVE": str(workdir / "a.db")}
    out = dgm(["archive", "manifest", ids.run], workdir, env=env)
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert doc["run"] == ids.run and doc["status"] == "stopped"
    assert doc["seed_sha256"] == tree_sha256(SEED)
    assert doc["models"] == ["scripted:script.yaml"]
    assert doc["config"]["suite"] == "swe-mini" and doc["config"]["sandbox"] == "local"
    assert doc["sandbox_image"]["id"] is None  # the local sandbox has no image
    lock = Path(__file__).parents[2] / "requirements.lock"
    assert doc["lock_sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert doc["evaluator_sha256"] and len(doc["evaluator_sha256"]) == 64
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["started_at"])
    assert doc["finished_at"] is not None and doc["dgm_version"]
    again = dgm(["archive", "manifest", ids.run], workdir, env=env)
    assert again.stdout == out.stdout, "a manifest is a function of the archive"

    report = dgm(["report", ids.run, "--out", str(workdir / "rep")], workdir, env=env)
    assert report.code == 0, report
    assert json.loads((workdir / "rep" / "manifest.json").read_text()) == doc


def test_the_manifest_masks_secrets_in_the_config(workdir: Path) -> None:
    from archive import open_archive

    secret = "s3cr3t-value-of-a-token"
    with open_archive(workdir / "a.db") as a:
        run = a.create_run("leaky", config={"suite": "swe-mini", "name": f"x {secret}"})
    out = subprocess_dgm(  # a fresh process: the host's secrets are read once per process
        "archive",
        "manifest",
        run,
        cwd=workdir,
        env={"DGM_ARCHIVE": str(workdir / "a.db"), "SOME_API_TOKEN": secret},
    )
    assert out.returncode == 0, out.stderr
    assert secret not in out.stdout and "***" in json.loads(out.stdout)["config"]["name"]


def test_each_budget_mark_is_announced_once_at_its_first_crossing() -> None:
    announced: set[float] = set()
    seen = [crossed(spent, 1.0, announced) for spent in (0.1, 0.49, 0.5, 0.7, 0.85, 0.9, 2.0)]
    assert seen == [[], [], [0.5], [], [0.8], [], []]
    assert announced == set(MARKS)
    assert crossed(5.0, None, set()) == []  # no budget, no marks
    assert crossed(0.95, 1.0, set()) == [0.5, 0.8]  # one jump crosses both


def test_dry_run_of_a_problem_counts_by_max_fe(workdir: Path) -> None:
    out = dgm(
        ["run", "reevo", "--problem", "tsp", "--model", "scripted:script.yaml", "--dry-run"],
        workdir,
        env={"DGM_ARCHIVE": str(workdir / "a.db"), **NO_KEYS},
    )
    assert out.code == 0, out
    assert "one evaluation per program, 100 in all (the seed + 99 children)" in out.stdout
    assert "LLM calls: at most 198 (2 per child)" in out.stdout  # ReEvo's max_fe is 100
