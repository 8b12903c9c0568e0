"""A predictions file graded the way SWE-bench's harness grades one, with what it writes.

A prediction is `{instance_id, model_name_or_path, model_patch}` (the format `dgm bench
export --format swebench` writes and SWE-bench's `run_evaluation` reads, as JSONL or a
JSON list). Each is graded in a fresh sandbox by its suite's grading (for SWE-bench: the
instance's image, the official patch commands, eval script, parser and report; its test
files are kept, as the harness keeps them), and the harness's layout is written under
`out`:

    logs/run_evaluation/RUN_ID/MODEL/INSTANCE/{patch.diff, eval.sh, test_output.txt,
                                               report.json, run_instance.log}
    MODEL.RUN_ID.json           the run's summary (`summary`, the harness's keys)

MODEL is `model_name_or_path` with "/" as "__". As in the harness: an empty patch is not
run (its id is in `empty_patch_ids`); a patch that does not apply, a timeout or a broken
sandbox leaves no report.json (`error_ids`); an instance with a report.json from an
earlier grading of the same run is not graded again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.grading import APPLIED, GradeResult, eval_script
from benchmarks.suites import Suite, SWEBench
from benchmarks.task import Task
from sandbox.folders import read_utf8

KEYS = ("instance_id", "model_name_or_path", "model_patch")
LOG_DIR = Path("logs") / "run_evaluation"  # the harness's RUN_EVALUATION_LOG_DIR
REPORT, TEST_OUTPUT, INSTANCE_LOG = "report.json", "test_output.txt", "run_instance.log"


class PredictionsError(Exception):
    """A predictions file that cannot be graded; the message names the row and the fix."""


@dataclass(frozen=True)
class Prediction:
    instance_id: str
    model_name_or_path: str
    model_patch: str | None

    @property
    def model_dir(self) -> str:
        return self.model_name_or_path.replace("/", "__")


# --- reading ---------------------------------------------------------------------------


def read_predictions(path: Path, known: Iterable[str], suite_name: str) -> list[Prediction]:
    """The predictions in `path` (JSONL, or a JSON list), each checked: a JSON object with
    the three keys, strings (the patch may be null), an instance of the suite, once."""
    text = read_utf8(path, PredictionsError, "save the predictions as UTF-8 JSONL or JSON")
    rows = _rows(path, text)
    if not rows:
        raise PredictionsError(f"{path} holds no prediction")
    ids, seen = set(known), dict[str, str]()
    out = []
    for where, row in rows:
        p = _prediction(f"{path} {where}", row)
        if p.instance_id not in ids:
            raise PredictionsError(
                f"{path} {where}: instance_id {p.instance_id[:80]!r} is not in suite "
                f"{suite_name}: `dgm bench validate {suite_name}` lists its ids"
            )
        if p.instance_id in seen:
            raise PredictionsError(
                f"{path} {where}: instance_id {p.instance_id} again (first at {seen[p.instance_id]}): "
                "give one prediction per instance"
            )
        seen[p.instance_id] = where
        out.append(p)
    return out


def _rows(path: Path, text: str) -> list[tuple[str, Any]]:
    """(where, parsed value) per prediction: `line N` of JSONL, `entry N` of a JSON list."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise PredictionsError(f"{path} is not valid JSON ({e})") from None
        if not isinstance(data, list):
            raise PredictionsError(f"{path} is not a JSON list of predictions")
        return [(f"entry {i}", row) for i, row in enumerate(data, 1)]
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {n}", json.loads(line)))
        except (ValueError, RecursionError) as e:
            raise PredictionsError(f"{path} line {n}: not valid JSON ({e})") from None
    return rows


def _prediction(where: str, row: Any) -> Prediction:
    if not isinstance(row, dict):
        raise PredictionsError(
            f"{where}: a {type(row).__name__}, not a prediction object with {', '.join(KEYS)}"
        )
    lacking = [k for k in KEYS if k not in row]
    if lacking:
        raise PredictionsError(
            f"{where}: lacks {', '.join(lacking)} (each prediction has {', '.join(KEYS)})"
        )
    iid, model, patch = (row[k] for k in KEYS)
    if not isinstance(iid, str) or not isinstance(model, str):
        raise PredictionsError(f"{where}: instance_id and model_name_or_path must be strings")
    if patch is not None and not isinstance(patch, str):
        raise PredictionsError(f"{where}: model_patch must be a string (a diff) or null")
    folder = model.replace("/", "__")
    if folder in ("", ".", "..") or "\\" in folder or "\x00" in folder:
        raise PredictionsError(
            f"{where}: model_name_or_path {model[:80]!r} cannot name a folder: give a model name"
        )
    return Prediction(iid, model, patch)


# --- grading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    """One prediction's outcome: None result for an empty patch (never run)."""

    prediction: Prediction
    result: GradeResult | None
    reused: bool = False


def grade_predictions(
    suite: Suite,
    predictions: list[Prediction],
    backend: Any,
    out: Path,
    run_id: str,
    *,
    workers: int = 2,
    timeout_s: float = 1800.0,
    done: Callable[[Graded], None] = lambda _g: None,
) -> dict[str, Any]:
    """Grade every prediction (`workers` at once), write the harness's files under `out`,
    and return the run's summary (also written to MODEL.RUN_ID.json)."""
    tasks = {t.instance_id: t for t in suite.tasks()}
    _write_run_metadata(out, run_id, suite.name)

    def one(p: Prediction) -> Graded:
        folder = out / LOG_DIR / run_id / p.model_dir / p.instance_id
        if (folder / REPORT).is_file():  # graded by an earlier run of the same id
            return Graded(p, None, reused=True)
        if p.model_patch in ("", None):
            return Graded(p, None)
        task = tasks[p.instance_id]
        result = grade_one(suite, task, p, backend, timeout_s)
        write_instance(folder, suite, task, p, result, timeout_s)
        return Graded(p, result)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(one, p) for p in predictions]
        for f in as_completed(futures):
            done(f.result())
    report = summary(predictions, list(tasks), out / LOG_DIR / run_id)
    name = f"{predictions[0].model_dir}.{run_id}.json"
    (out / name).write_text(json.dumps(report, indent=4) + "\n")
    return report


def grade_one(
    suite: Suite, task: Task, p: Prediction, backend: Any, timeout_s: float
) -> GradeResult:
    import tempfile

    be = suite.backend(task, backend)
    with tempfile.TemporaryDirectory(prefix="dgm-grade-") as tmp:
        built = Path(tmp) / "repo"
        repo = built if suite.build_repo(task, built) else None
        # SWE-bench's harness applies the whole patch (its eval script resets the test
        # files the test patch touches); the other suites grade by their own protocol
        keep = {"keep_test_files": True} if isinstance(suite, SWEBench) else {}
        return suite.grade(task, p.model_patch or "", be, repo, timeout_s=timeout_s, **keep)


def split_log(log: str) -> tuple[str, str]:
    """(what applying the patch printed, what the eval script printed): the harness keeps
    the first in run_instance.log and only the second in test_output.txt."""
    at = log.find(APPLIED)
    if at == -1:
        return log, ""
    end = log.find("\n", at)
    return (log, "") if end == -1 else (log[: end + 1], log[end + 1 :])


def write_instance(
    folder: Path, suite: Suite, task: Task, p: Prediction, r: GradeResult, timeout_s: float
) -> None:
    """The harness's files for one graded prediction: patch.diff and run_instance.log
    always; eval.sh and test_output.txt once the patch applied; report.json only for a
    run that ended (not for a timeout or a broken sandbox)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "patch.diff").write_text(p.model_patch or "")
    applying, tests = split_log(r.log)
    note = f"dgm: graded in {r.duration_s:.1f}s; error: {r.error_kind or 'none'}\n"
    (folder / INSTANCE_LOG).write_text(applying + ("" if applying.endswith("\n") else "\n") + note)
    if r.error_kind in ("patch_failed", "sandbox_error"):
        return
    (folder / "eval.sh").write_text(eval_sh(suite, task))
    if r.error_kind == "timeout":
        tests += f"\n\nTimeout error: {timeout_s:g} seconds exceeded."
    (folder / TEST_OUTPUT).write_text(tests)
    if r.error_kind == "timeout":
        return
    report = instance_report(suite, task, p, r, tests)
    (folder / REPORT).write_text(json.dumps(report, indent=4))


def eval_sh(suite: Suite, task: Task) -> str:
    if isinstance(suite, SWEBench):
        from benchmarks import swebench

        return str(swebench.test_spec(suite.instance(task.instance_id)).eval_script)
    return eval_script(task)


def instance_report(
    suite: Suite, task: Task, p: Prediction, r: GradeResult, test_output: str
) -> dict[str, Any]:
    """report.json: for SWE-bench the official report of test_output.txt itself (what the
    harness writes), else the suite's verdict in the same shape."""
    if isinstance(suite, SWEBench):
        from benchmarks import swebench

        raw = suite.instance(task.instance_id)
        return {task.instance_id: swebench.official_report(raw, test_output, p.model_patch)}
    report = r.swebench_report(p.model_patch)
    report[task.instance_id]["infra_failure"] = False
    return report


# --- the run's summary -----------------------------------------------------------------


def summary(predictions: list[Prediction], dataset: list[str], run_dir: Path) -> dict[str, Any]:
    """The harness's run report (`make_run_report`, schema 2) from the files under
    `run_dir`, without its Docker part (containers and images left behind)."""
    by_id = {p.instance_id: p for p in predictions}
    ids: dict[str, set[str]] = {
        k: set() for k in ("completed", "resolved", "unresolved", "error", "incomplete", "empty")
    }
    for iid in dataset:
        p = by_id.get(iid)
        if p is None:
            ids["incomplete"].add(iid)
            continue
        if p.model_patch in ("", None):
            ids["empty"].add(iid)
            continue
        report_file = run_dir / p.model_dir / iid / REPORT
        if not report_file.exists():
            ids["error"].add(iid)
            continue
        ids["completed"].add(iid)
        try:
            resolved = json.loads(report_file.read_text().strip())[iid]["resolved"]
        except (ValueError, KeyError):
            ids["error"].add(iid)
            continue
        ids["resolved" if resolved else "unresolved"].add(iid)
    reasons, infra, ambiguous = _classify(ids["unresolved"] | ids["error"], by_id, run_dir)
    return {
        "total_instances": len(dataset),
        "submitted_instances": len(predictions),
        "completed_instances": len(ids["completed"]),
        "resolved_instances": len(ids["resolved"]),
        "unresolved_instances": len(ids["unresolved"]),
        "infra_failure_instances": len(infra),
        "ambiguous_failure_instances": len(ambiguous),
        "empty_patch_instances": len(ids["empty"]),
        "error_instances": len(ids["error"]),
        "completed_ids": sorted(ids["completed"]),
        "incomplete_ids": sorted(ids["incomplete"]),
        "empty_patch_ids": sorted(ids["empty"]),
        "submitted_ids": sorted(by_id),
        "resolved_ids": sorted(ids["resolved"]),
        "unresolved_ids": sorted(ids["unresolved"]),
        "infra_failure_ids": sorted(infra),
        "ambiguous_failure_ids": sorted(ambiguous),
        "failure_reasons": dict(sorted(reasons.items())),
        "error_ids": sorted(ids["error"]),
        "schema_version": 2,
    }


def _classify(
    ids: set[str], by_id: dict[str, Prediction], run_dir: Path
) -> tuple[dict[str, str], set[str], set[str]]:
    """Why unresolved and errored instances failed, by the harness's own log classifier
    (advisory: the ids stay where they are). Without the swebench package, nothing."""
    try:
        from swebench.harness.infra_failure import TIER_ENVIRONMENT, classify_logs
    except ImportError:
        return {}, set(), set()
    reasons: dict[str, str] = {}
    infra: set[str] = set()
    ambiguous: set[str] = set()
    for iid in ids:
        folder = run_dir / by_id[iid].model_dir / iid
        found = classify_logs(folder / TEST_OUTPUT, folder / INSTANCE_LOG)
        if found:
            reasons[iid] = found[0]
            (infra if found[1] == TIER_ENVIRONMENT else ambiguous).add(iid)
    return reasons, infra, ambiguous


def _write_run_metadata(out: Path, run_id: str, suite_name: str) -> None:
    """run.json: what the run graded against (the harness's LOG_RUN_METADATA)."""
    path = out / LOG_DIR / run_id / "run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {"dataset": suite_name, "split": "test", "task_repo": None, "created_at": created}
    path.write_text(json.dumps(meta, indent=2) + "\n")
