"""`dgm bench grade --predictions FILE --suite SUITE`: a predictions file graded in real
sandboxes, and what it writes checked against SWE-bench's own code: the package's
`make_run_report`, run over our logs, must write our summary, and its `get_eval_report`
over our test_output.txt our report.json."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.suites import open_suite
from benchmarks.task import Task
from tests.benchmarks.conftest import first_task
from tests.benchmarks.test_cli_bench import dgm
from tests.benchmarks.test_evaluator_docker import FIX_SCRIPT, TASK_ID

pytestmark = pytest.mark.timeout(1200)
OTHER = "ledgerly__ledgerly-4"
DOCKER_KEYS = ("unstopped_instances", "unstopped_containers", "unremoved_images")


def preds_file(tmp: Path, rows: list[dict[str, Any]], name: str = "preds.jsonl") -> Path:
    path = tmp / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pred(task_id: str, patch: object, model: str = "org/model-1") -> dict[str, Any]:
    return {"instance_id": task_id, "model_name_or_path": model, "model_patch": patch}


def official_summary(
    out: Path, preds: list[dict[str, Any]], dataset: list[str], run_id: str
) -> dict:
    """What SWE-bench's make_run_report writes for the logs under `out`."""
    from swebench.harness.reporting import make_run_report

    cwd = os.getcwd()
    os.chdir(out)  # the harness reads logs/run_evaluation relative to the working folder
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            path = make_run_report(
                {p["instance_id"]: p for p in preds},
                [{"instance_id": i} for i in dataset],
                run_id,
                client=None,
                report_dir=str(out / "official"),
            )
    finally:
        os.chdir(cwd)
    return json.loads(Path(path).read_text())


def wrong_patch(task: Task) -> str:
    """A patch that applies and changes nothing the tests look at: a comment on line 1."""
    from benchmarks.swe_mini import build

    path = next(line[6:] for line in task.patch.splitlines() if line.startswith("+++ b/"))
    with tempfile.TemporaryDirectory() as tmp:
        build.build_repo(task, Path(tmp) / "r")
        first = (Path(tmp) / "r" / path).read_text().splitlines()[0]
    return f"--- a/{path}\n+++ b/{path}\n@@ -1 +1,2 @@\n {first}\n+# nothing\n"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('{"instance_id": "x"', "line 1: not valid JSON"),
        (json.dumps(pred(TASK_ID, "")) + "\n\n[1, 2]", "line 3: a list, not a prediction"),
        (
            json.dumps({"instance_id": TASK_ID, "model_patch": ""}),
            "line 1: lacks model_name_or_path",
        ),
        (
            json.dumps(pred("nobody__nothing-9", "")),
            "line 1: instance_id 'nobody__nothing-9' is not in suite swe-mini",
        ),
        (
            json.dumps(pred(TASK_ID, "")) + "\n" + json.dumps(pred(TASK_ID, "x")),
            f"line 2: instance_id {TASK_ID} again (first at line 1)",
        ),
        (json.dumps(pred(TASK_ID, 5)), "line 1: model_patch must be a string"),
        (json.dumps(pred(TASK_ID, "", model="..")), "cannot name a folder"),
        ("", "holds no prediction"),
    ],
)
def test_bad_rows_are_one_line_naming_the_row(tmp_path: Path, rows: str, message: str) -> None:
    (tmp_path / "p.jsonl").write_text(rows)
    proc = dgm("bench", "grade", "--predictions", "p.jsonl", "--suite", "swe-mini", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "logs").exists()


def test_half_the_options_is_a_usage_error(tmp_path: Path) -> None:
    proc = dgm("bench", "grade", "--suite", "swe-mini", cwd=tmp_path)
    assert proc.returncode == 2 and "--predictions FILE --suite SUITE" in proc.stderr
    preds_file(tmp_path, [pred(TASK_ID, "")])
    for run_id, message in (("a/b", "cannot name a folder"), ("..", "cannot name a folder")):
        bad = dgm(
            "bench", "grade", "--predictions", "preds.jsonl", "--suite", "swe-mini",
            "--run-id", run_id, cwd=tmp_path,
        )  # fmt: skip
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    (tmp_path / "afile").write_text("")
    out = dgm(
        "bench", "grade", "--predictions", "preds.jsonl", "--suite", "swe-mini", "--out", "afile",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2 and "is not a folder" in out.stderr, out.stderr


@pytest.mark.docker
def test_swe_mini_predictions_written_as_the_harness_writes(tmp_path: Path) -> None:
    solved, other = first_task(TASK_ID), first_task(OTHER)
    broken = "diff --git a/nothing.py b/nothing.py\n--- a/nothing.py\n+++ b/nothing.py\n@@ -1 +1 @@\n-a\n+b\n"
    third = next(t for t in open_suite("swe-mini").tasks() if t.instance_id not in (TASK_ID, OTHER))
    rows = [
        pred(TASK_ID, solved.patch),
        pred(OTHER, wrong_patch(other)),
        pred(third.instance_id, broken),
    ]
    fourth = next(
        t.instance_id
        for t in open_suite("swe-mini").tasks()
        if t.instance_id not in (TASK_ID, OTHER, third.instance_id)
    )
    rows.append(pred(fourth, ""))
    preds_file(tmp_path, rows)
    proc = dgm(
        "bench", "grade", "--predictions", "preds.jsonl", "--suite", "swe-mini",
        "--out", "out", "--run-id", "r1", "--json", "--workers", "2", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    out = tmp_path / "out"
    assert json.loads((out / "org__model-1.r1.json").read_text()) == summary
    assert summary["resolved_ids"] == [TASK_ID]
    assert summary["unresolved_ids"] == [OTHER]
    assert summary["error_ids"] == [third.instance_id]
    assert summary["empty_patch_ids"] == [fourth]
    dataset = [t.instance_id for t in open_suite("swe-mini").tasks()]
    assert summary["total_instances"] == len(dataset) and summary["submitted_instances"] == 4
    official = official_summary(out, rows, dataset, "r1")
    assert {k: v for k, v in official.items() if k not in DOCKER_KEYS} == summary
    logs = out / "logs" / "run_evaluation" / "r1" / "org__model-1"
    assert sorted(p.name for p in (logs / TASK_ID).iterdir()) == [
        "eval.sh", "patch.diff", "report.json", "run_instance.log", "test_output.txt",
    ]  # fmt: skip
    assert (logs / TASK_ID / "patch.diff").read_text() == solved.patch
    report = json.loads((logs / TASK_ID / "report.json").read_text())[TASK_ID]
    assert report["resolved"] and report["patch_successfully_applied"]
    assert sorted(report["tests_status"]["FAIL_TO_PASS"]["success"]) == sorted(solved.FAIL_TO_PASS)
    assert "Applied Patch" not in (logs / TASK_ID / "test_output.txt").read_text()
    assert sorted(p.name for p in (logs / third.instance_id).iterdir()) == [
        "patch.diff", "run_instance.log",
    ]  # fmt: skip
    assert not (logs / fourth).exists()


# --- SWE-bench instances in their own images --------------------------------------------


@pytest.fixture(scope="module")
def swebench_rows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from sandbox.docker_backend import connect
    from tests.benchmarks.test_swebench_run_docker import build_image, image, row

    client = connect()
    tmp = tmp_path_factory.mktemp("swebench-grade")
    tasks = [first_task(TASK_ID), first_task(OTHER)]
    for task in tasks:
        build_image(client, task, tmp)
    jsonl = tmp / "instances.jsonl"
    jsonl.write_text("".join(json.dumps(row(t)) + "\n" for t in tasks))
    yield jsonl
    for task in tasks:
        client.images.remove(image(task), force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_swebench_predictions_graded_as_the_official_harness(
    swebench_rows: Path, tmp_path: Path
) -> None:
    from benchmarks import swebench

    solved = first_task(TASK_ID)
    # a test-file change in the prediction stays in it, as in the harness
    new = "tests/test_dgm_extra.py"  # dgm's own protocol would drop it: an empty patch
    touching_tests = (
        f"diff --git a/{new} b/{new}\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/{new}\n@@ -0,0 +1 @@\n+x = 1\n"
    )
    rows = [pred(TASK_ID, solved.patch), pred(OTHER, touching_tests)]
    preds_file(tmp_path, rows)
    proc = dgm(
        "bench", "grade", "--predictions", "preds.jsonl", "--suite", f"swebench:{swebench_rows}",
        "--out", "out", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["resolved_ids"] == [TASK_ID], summary
    assert summary["unresolved_ids"] == [OTHER], summary  # graded, not an empty patch
    out = tmp_path / "out"
    official = official_summary(out, rows, [TASK_ID, OTHER], "dgm")
    assert {k: v for k, v in official.items() if k not in DOCKER_KEYS} == summary
    raws = {r["instance_id"]: r for r in map(json.loads, swebench_rows.read_text().splitlines())}
    for iid, p in ((TASK_ID, rows[0]), (OTHER, rows[1])):
        folder = out / "logs" / "run_evaluation" / "dgm" / "org__model-1" / iid
        if not (folder / "report.json").exists():
            continue
        spec = swebench.test_spec(raws[iid])  # the package completes the row's script
        assert (folder / "eval.sh").read_text() == spec.eval_script
        from swebench.harness.grading import get_eval_report

        theirs = get_eval_report(spec, p, str(folder / "test_output.txt"), True)
        assert json.loads((folder / "report.json").read_text()) == json.loads(json.dumps(theirs))


# --- export, then grade back ------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.slow
def test_export_and_grade_round_trip(tmp_path: Path) -> None:
    # one task at a time: the script's answers fix TASK_ID (run first), then say nothing
    (tmp_path / "script.yaml").write_text(
        yaml.safe_dump(FIX_SCRIPT + [{"content": "nothing to do"}] * 4)
    )
    run = dgm(
        "bench", "run", "--agent", "seed", "--suite", "swe-mini", "--tasks", f"{TASK_ID},{OTHER}",
        "--model", f"scripted:{tmp_path / 'script.yaml'}", "--archive", "a.db", "--workers", "1",
        cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    from archive import open_archive

    with open_archive(tmp_path / "a.db") as arch:
        (info,) = arch.runs()
        (agent,) = arch.agents(info.id)
        verdicts = {e.task_id: e.resolved for e in arch.evaluations(agent.id)}
    assert verdicts[TASK_ID]
    export = dgm("bench", "export", info.id, "-o", "preds.jsonl", "--archive", "a.db", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    graded = dgm(
        "bench", "grade", "--predictions", "preds.jsonl", "--suite", "swe-mini", "--json",
        "--out", "graded", cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stderr[-3000:]
    summary = json.loads(graded.stdout)
    assert {i: i in summary["resolved_ids"] for i in verdicts} == verdicts
    assert summary["submitted_instances"] == 2
