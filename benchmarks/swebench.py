"""Real SWE-bench instances (full, Lite, Verified): load them, and grade in the official
per-instance images with the official package's log parsers.

The `swebench` package is not a dependency of dgm: it is imported lazily, and where it is
missing the loader still works (instances load, predictions export) while grading says
what to install. Nothing here re-implements it: the image name, the eval script and the
per-repository log parser all come from `swebench.harness`.

Sources: a JSON file (a list of instances, or one), a JSONL file, a parquet file (needs
pyarrow), or a Hugging Face dataset name such as `princeton-nlp/SWE-bench_Lite` (needs the
`datasets` package and a network, or its local cache).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from benchmarks.grading import GradeResult, LogParser, grade
from benchmarks.task import Task

IMAGE_PREFIX = "sweb.eval.x86_64."


class SWEBenchError(Exception):
    """An instance source or the grading environment is not usable; the message says why."""


def load_instances(source: str) -> list[dict[str, Any]]:
    """Raw instances from a file or a dataset name (`NAME` or `NAME:SPLIT`, default test)."""
    path = Path(source)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return _read_parquet(path)
        text = path.read_text()
        if suffix == ".jsonl":
            try:
                return [json.loads(line) for line in text.splitlines() if line.strip()]
            except ValueError as e:
                raise SWEBenchError(f"{path} is not valid JSONL ({e})") from None
        try:
            data = json.loads(text)
        except ValueError as e:
            raise SWEBenchError(f"{path} is not valid JSON ({e}); SWE-bench files are .json, .jsonl or .parquet") from None
        return data if isinstance(data, list) else [data]
    if path.suffix in {".json", ".jsonl", ".parquet"} or source.startswith((".", "/")):
        raise SWEBenchError(f"no such file {source}: give a SWE-bench .json/.jsonl/.parquet file or a dataset name")
    return _load_hf(source)


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SWEBenchError(
            f"reading {path} needs pyarrow, which is not installed: `pip install pyarrow`, or convert it to JSONL"
        ) from None
    return pq.read_table(path).to_pylist()


def _load_hf(name: str) -> list[dict[str, Any]]:
    dataset, _, split = name.partition(":")
    try:
        datasets = importlib.import_module("datasets")
    except ImportError:
        raise SWEBenchError(
            f"{name!r} is not a file, and loading Hugging Face datasets needs the `datasets` package: "
            "`pip install datasets`, or download the dataset as JSONL and pass the file"
        ) from None
    try:
        return [dict(row) for row in datasets.load_dataset(dataset, split=split or "test")]
    except Exception as e:  # noqa: BLE001 - offline, unknown name, bad split: all one message
        raise SWEBenchError(
            f"could not load dataset {dataset!r} (split {split or 'test'}): {type(e).__name__}: {e}. "
            "Offline? Pass a local .json/.jsonl/.parquet file instead"
        ) from None


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise SWEBenchError(f"a FAIL_TO_PASS/PASS_TO_PASS value is not a JSON list: {value[:80]!r}") from None
    return [str(v) for v in value or []]


def to_task(raw: dict[str, Any]) -> Task:
    missing = [k for k in ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch") if k not in raw]
    if missing:
        raise SWEBenchError(f"instance {raw.get('instance_id', '?')} lacks {', '.join(missing)}: not a SWE-bench instance")
    return Task(
        instance_id=raw["instance_id"], repo=raw["repo"], base_commit=raw["base_commit"],
        problem_statement=raw["problem_statement"], patch=raw["patch"], test_patch=raw["test_patch"],
        FAIL_TO_PASS=_ids(raw.get("FAIL_TO_PASS")), PASS_TO_PASS=_ids(raw.get("PASS_TO_PASS")),
        version=str(raw.get("version", "")), environment_setup_commit=raw.get("environment_setup_commit"),
        created_at=str(raw["created_at"]) if raw.get("created_at") is not None else None,
        hints_text=raw.get("hints_text") or "",
    )


def load_tasks(source: str) -> tuple[list[Task], dict[str, dict[str, Any]]]:
    """Tasks and their raw instances (the swebench package wants the raw ones)."""
    raws = load_instances(source)
    tasks = [to_task(r) for r in raws]
    return tasks, {t.instance_id: r for t, r in zip(tasks, raws, strict=True)}


# --- the official package, used where it does the work --------------------------------


def swebench_harness() -> tuple[Any, Any]:
    """(make_test_spec, MAP_REPO_TO_PARSER) from the installed swebench, any 2.x-4.x layout."""
    try:
        importlib.import_module("swebench")
    except ImportError:
        raise SWEBenchError(
            "grading real SWE-bench instances uses the official `swebench` package (its eval "
            "scripts, images and log parsers), which is not installed: `pip install swebench`"
        ) from None
    for spec_mod, parser_mod in (
        ("swebench.harness.test_spec.test_spec", "swebench.harness.log_parsers"),
        ("swebench.harness.test_spec", "swebench.harness.log_parsers"),
        ("swebench.harness.test_spec", "swebench.harness.grading"),
    ):
        try:
            make_test_spec = importlib.import_module(spec_mod).make_test_spec
            parsers = importlib.import_module(parser_mod).MAP_REPO_TO_PARSER
            return make_test_spec, parsers
        except (ImportError, AttributeError):
            continue
    raise SWEBenchError("the installed swebench has neither make_test_spec nor MAP_REPO_TO_PARSER where expected: use swebench 2.x-4.x")


def image_name(raw: dict[str, Any]) -> str:
    """The instance's evaluation image, as the official harness names it."""
    try:
        make_test_spec, _ = swebench_harness()
    except SWEBenchError:
        return f"{IMAGE_PREFIX}{raw['instance_id']}:latest"
    return make_test_spec(raw).instance_image_key


def log_parser(raw: dict[str, Any]) -> LogParser:
    make_test_spec, parsers = swebench_harness()
    parser, spec = parsers[raw["repo"]], make_test_spec(raw)

    def parse(log: str) -> dict[str, str]:
        try:
            result = parser(log, spec)
        except TypeError:  # swebench 2.x parsers take the log only
            result = parser(log)
        return {k: getattr(v, "value", v) for k, v in result.items()}

    return parse


def grade_instance(task: Task, raw: dict[str, Any], model_patch: str, backend_for_image: Any, **kwargs: Any) -> GradeResult:
    """Grade in the instance's official image (/testbed already at base): our patch
    application, then the official eval script (which applies the test patch and runs the
    tests), parsed by the official parser for the repository."""
    make_test_spec, _ = swebench_harness()
    spec = make_test_spec(raw)
    backend = backend_for_image(spec.instance_image_key)
    no_test_patch = task.model_copy(update={"test_patch": ""})  # the eval script applies it
    result = grade(no_test_patch, model_patch, backend, repo_dir=None, parse_log=log_parser(raw),
                   test_cmd=spec.eval_script, **kwargs)
    return result
