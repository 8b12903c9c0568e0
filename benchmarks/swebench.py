"""Real SWE-bench instances (full, Lite, Verified): load them, and grade them the way the
official harness does, with the official `swebench` package (5.x) doing its part.

Nothing here re-implements the package. From it come: the instance's image name, its eval
script (`make_test_spec`: in 5.x every instance carries `image`, `eval_script`,
`log_parser` and `eval_type`), the per-repository log parser, the patch-application
commands, and the verdict itself (`get_eval_report`, which writes report.json). Rows in
the older layout (no `log_parser`/`eval_type`/`image`) get them from the package too: the
parser its repository maps to (`MAP_REPO_TO_PARSER_*`), `FAIL_ONLY_REPOS`, and the
image name the package expects. A repository the package has no parser for is an error:
the generic pytest parser never stands in for an official one.

What dgm adds is only the protocol around it: the agent's test-file changes are dropped
from its patch, and the run happens in dgm's sandbox (a fresh container of the instance's
image), see `grade_instance`.

Sources: a JSON file (a list of instances, or one), a JSONL file, a parquet file (needs
pyarrow), or a Hugging Face dataset name such as `SWE-bench/SWE-bench_Verified` (needs the
`datasets` package and a network, or its local cache).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from benchmarks.grading import GRADE_DIR, GradeResult, TestsStatus, grade
from benchmarks.task import Task
from sandbox.folders import read_utf8

INSTALL = "pip install 'swebench==5.0.2' (dgm's `swebench` extra)"
LEGACY_FIELDS = ("image", "log_parser", "eval_type", "eval_script")


class SWEBenchError(Exception):
    """An instance source or the grading environment is not usable; the message says why."""


# --- loading --------------------------------------------------------------------------


def load_instances(source: str) -> list[dict[str, Any]]:
    """Raw instances from a file or a dataset name (`NAME` or `NAME:SPLIT`, default test)."""
    path = Path(source)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return _objects(_read_parquet(path), path)
        text = read_utf8(path, SWEBenchError, "SWE-bench files are UTF-8 JSON, JSONL or parquet")
        if suffix == ".jsonl":
            try:
                rows = [_json(line) for line in text.splitlines() if line.strip()]
            except ValueError as e:
                raise SWEBenchError(f"{path} is not valid JSONL ({e})") from None
            return _objects(rows, path)
        try:
            data = _json(text)
        except ValueError as e:
            raise SWEBenchError(
                f"{path} is not valid JSON ({e}); SWE-bench files are .json, .jsonl or .parquet"
            ) from None
        return _objects(data if isinstance(data, list) else [data], path)
    if path.suffix in {".json", ".jsonl", ".parquet"} or source.startswith((".", "/")):
        raise SWEBenchError(
            f"no such file {source}: give a SWE-bench .json/.jsonl/.parquet file or a dataset name"
        )
    return _load_hf(source)


def _json(text: str) -> Any:
    """json.loads, with nesting too deep for the parser a ValueError like any bad JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _objects(rows: list[Any], path: Path) -> list[dict[str, Any]]:
    """The rows, each checked to be a JSON object (an instance), not a number or a list."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SWEBenchError(
                f"{path}: entry {i + 1} is a {type(row).__name__}, not an instance object: "
                "each instance is a JSON object with instance_id, repo, base_commit, ..."
            )
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SWEBenchError(
            f"reading {path} needs pyarrow, which is not installed: `pip install pyarrow`, or convert it to JSONL"
        ) from None
    try:
        return list(pq.read_table(path).to_pylist())
    except (OSError, ValueError, RecursionError) as e:  # pyarrow's ArrowInvalid is a ValueError
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise SWEBenchError(f"{path} is not a readable parquet file ({first})") from None


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
            raise SWEBenchError(
                f"a FAIL_TO_PASS/PASS_TO_PASS value is not a JSON list: {value[:80]!r}"
            ) from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise SWEBenchError(
            f"a FAIL_TO_PASS/PASS_TO_PASS value is a {type(value).__name__}, not a list of test ids"
        )
    return [str(v) for v in value]


def to_task(raw: dict[str, Any]) -> Task:
    required = ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch")
    missing = [k for k in required if k not in raw]
    if missing:
        raise SWEBenchError(
            f"instance {raw.get('instance_id', '?')} lacks {', '.join(missing)}: not a SWE-bench instance"
        )
    try:
        return _task(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SWEBenchError(
            f"instance {str(raw['instance_id'])[:80]}: field {field} {first['msg'].lower()}, "
            f"got {type(first.get('input')).__name__}: fix the instance file"
        ) from None


# An instance id names a Docker image, a URL path and a folder: a path (../../x), a
# query or a space must never get through (SWE-bench's look like django__django-11099).
INSTANCE_ID = re.compile(r"[^./\\?#%\s\x00-\x1f\x7f-][^/\\?#%\s\x00-\x1f\x7f]{0,199}")


def _task(raw: dict[str, Any]) -> Task:
    iid = raw["instance_id"]
    if not isinstance(iid, str) or not INSTANCE_ID.fullmatch(iid) or ".." in iid:
        raise SWEBenchError(
            f"instance_id {str(iid)[:80]!r} is not a SWE-bench id: no '/', '\\', '?', '#', "
            "'%', '..' or spaces, and no leading '.' or '-' (like django__django-11099)"
        )
    return Task(
        instance_id=raw["instance_id"],
        repo=raw["repo"],
        base_commit=raw["base_commit"],
        problem_statement=raw["problem_statement"],
        patch=raw["patch"],
        test_patch=raw["test_patch"],
        FAIL_TO_PASS=_ids(raw.get("FAIL_TO_PASS")),
        PASS_TO_PASS=_ids(raw.get("PASS_TO_PASS")),
        version=str(raw.get("version", "")),
        environment_setup_commit=raw.get("environment_setup_commit"),
        created_at=str(raw["created_at"]) if raw.get("created_at") is not None else None,
        hints_text=raw.get("hints_text") or "",
    )


def load_tasks(source: str) -> tuple[list[Task], dict[str, dict[str, Any]]]:
    """Tasks and their raw instances (the swebench package wants the raw ones)."""
    raws = load_instances(source)
    if not raws:
        raise SWEBenchError(f"{source} holds no instance: a suite needs at least one task")
    tasks = [to_task(r) for r in raws]
    seen: set[str] = set()
    for t in tasks:
        if t.instance_id in seen:
            raise SWEBenchError(
                f"{source}: instance_id {t.instance_id} appears twice: ids must be unique"
            )
        seen.add(t.instance_id)
    return tasks, {t.instance_id: r for t, r in zip(tasks, raws, strict=True)}


# --- the official package --------------------------------------------------------------


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as e:
        if importlib.util.find_spec("swebench") is None:
            raise SWEBenchError(
                "grading SWE-bench instances uses the official `swebench` package (its eval "
                f"scripts, images and log parsers), which is not installed: {INSTALL}"
            ) from None
        raise SWEBenchError(
            f"the installed swebench lacks {name} ({e}): dgm follows swebench 5.x; {INSTALL}"
        ) from None


def parser_name(raw: dict[str, Any]) -> str:
    """The name (in the package's PARSER_REGISTRY) of the instance's official log parser."""
    registry = _module("swebench.harness.log_parsers").PARSER_REGISTRY
    if raw.get("log_parser"):
        if raw["log_parser"] not in registry:
            raise SWEBenchError(
                f"instance {raw['instance_id']} names log parser {raw['log_parser']!r}, "
                f"which the installed swebench does not have: {INSTALL}"
            )
        return str(raw["log_parser"])
    parser = _repo_parsers().get(raw["repo"])
    if parser is None:
        raise SWEBenchError(
            f"the official swebench package has no log parser for repository {raw['repo']!r} "
            f"(instance {raw['instance_id']}): give the instance a `log_parser` field "
            "naming one of swebench's PARSER_REGISTRY"
        )
    return next(name for name, fn in registry.items() if fn is parser)


def _repo_parsers() -> dict[str, Any]:
    """repository -> parser, merged from the package's per-language maps."""
    merged: dict[str, Any] = {}
    for lang in ("python", "javascript", "c", "go", "java", "php", "ruby", "rust"):
        module = _module(f"swebench.harness.log_parsers.{lang}")
        for attr, value in vars(module).items():
            if attr.startswith("MAP_REPO_TO_PARSER"):
                merged.update(value)
    return merged


def image_name(raw: dict[str, Any]) -> str:
    """The instance's evaluation image: the one the instance names (5.x datasets), else
    the one the package expects for its id."""
    if raw.get("image"):
        return str(raw["image"])
    return str(_module("swebench.task.checks").expected_image(raw["instance_id"]))


def eval_type(raw: dict[str, Any]) -> str:
    if raw.get("eval_type"):
        return str(raw["eval_type"])
    constants = _module("swebench.harness.constants")
    fail_only = raw["repo"] in constants.FAIL_ONLY_REPOS
    return str(
        (constants.EvalType.FAIL_ONLY if fail_only else constants.EvalType.PASS_AND_FAIL).value
    )


def test_spec(raw: dict[str, Any]) -> Any:
    """The package's TestSpec for an instance (older rows completed from the package)."""
    row = {
        **raw,
        "version": str(raw.get("version", "")),
        "image": image_name(raw),
        "log_parser": parser_name(raw),
        "eval_type": eval_type(raw),
        "eval_script": raw.get("eval_script") or "",
    }
    return _module("swebench.harness.utils").make_test_spec(row)


def official_report(raw: dict[str, Any], log: str, patch: str | None = "-") -> dict[str, Any]:
    """The package's own report for a test log (report.json's entry for the instance)."""
    grading = _module("swebench.harness.grading")
    constants = _module("swebench.harness.constants")
    spec = test_spec(raw)
    if constants.START_TEST_OUTPUT not in log and patch is not None:
        return _unmarked_report(raw, log, spec)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
        f.write(log)
        f.flush()
        prediction = {"instance_id": raw["instance_id"], "model_patch": patch}
        report = grading.get_eval_report(spec, prediction, f.name, include_tests_status=True)
    return dict(report[raw["instance_id"]])


def _unmarked_report(raw: dict[str, Any], log: str, spec: Any) -> dict[str, Any]:
    """The report for a log from a harness before test-output markers (swebench 2.0): the
    package's parser over the whole log, then its own verdict, as that harness did."""
    grading = _module("swebench.harness.grading")
    constants = _module("swebench.harness.constants")
    report: dict[str, Any] = {
        "patch_is_None": False,
        "patch_exists": True,
        "patch_successfully_applied": False,
        "resolved": False,
    }
    failed = (
        constants.APPLY_PATCH_FAIL,
        constants.RESET_FAILED,
        constants.TESTS_ERROR,
        constants.TESTS_TIMEOUT,
    )
    if any(code in log for code in failed):
        return report
    gold = {
        "instance_id": spec.instance_id,
        "FAIL_TO_PASS": spec.FAIL_TO_PASS,
        "PASS_TO_PASS": spec.PASS_TO_PASS,
    }
    tests = grading.get_eval_tests_report(
        statuses(raw, log), gold, eval_type=constants.EvalType(spec.eval_type)
    )
    full = grading.get_resolution_status(tests) == constants.ResolvedStatus.FULL.value
    return {**report, "patch_successfully_applied": True, "resolved": full, "tests_status": tests}


def statuses(raw: dict[str, Any], log: str) -> dict[str, str]:
    """{test: status} by the official parser, from the log's test section."""
    constants = _module("swebench.harness.constants")
    parse = _module("swebench.harness.log_parsers").PARSER_REGISTRY[parser_name(raw)]
    section = log.split(constants.START_TEST_OUTPUT, 1)[-1].split(constants.END_TEST_OUTPUT, 1)[0]
    return {k: getattr(v, "value", v) for k, v in parse(section, test_spec(raw)).items()}


def grade_log(task: Task, raw: dict[str, Any], log: str, patch: str | None = "-") -> GradeResult:
    """Grade a test log exactly as the official harness does (same report). `patch`: the
    prediction's model patch, when known (None: the prediction had none, so nothing is
    graded, as in the harness)."""
    report = official_report(raw, log, patch)
    tests_status = report.get("tests_status") or {}
    f2p = TestsStatus(**tests_status.get("FAIL_TO_PASS", {"failure": task.FAIL_TO_PASS}))
    p2p = TestsStatus(**tests_status.get("PASS_TO_PASS", {"failure": task.PASS_TO_PASS}))
    found = statuses(raw, log) if report["patch_successfully_applied"] else {}
    tests = {t: found.get(t, "MISSING") for t in [*task.FAIL_TO_PASS, *task.PASS_TO_PASS]}
    return GradeResult(
        instance_id=task.instance_id,
        resolved=bool(report["resolved"]),
        patch_applied=bool(report["patch_successfully_applied"]),
        tests=tests,
        FAIL_TO_PASS=f2p,
        PASS_TO_PASS=p2p,
        log=log,
    )


# --- grading in the instance's image ---------------------------------------------------


def apply_commands() -> list[str]:
    """The official harness's patch-application commands, tried in order."""
    return list(_module("swebench.harness.run_evaluation").GIT_APPLY_CMDS)


def grade_instance(
    task: Task, raw: dict[str, Any], model_patch: str, backend: Any, **kwargs: Any
) -> GradeResult:
    """Grade in a fresh container of the instance's image (/testbed at the base commit):
    the model patch (test files dropped) applied with the official commands, then the
    official eval script (which applies the test patch and runs the tests), then the
    official report over its output."""
    spec = test_spec(raw)
    if not str(raw.get("eval_script") or "").strip():
        raise SWEBenchError(
            f"instance {task.instance_id} has no eval_script: running it needs a SWE-bench 5.x "
            "row (image, eval_script, log_parser, eval_type), e.g. from SWE-bench/SWE-bench_Verified"
        )
    no_test_patch = task.model_copy(update={"test_patch": ""})  # the eval script applies it
    return grade(
        no_test_patch,
        model_patch,
        backend,
        repo_dir=None,
        test_cmd=f"bash {GRADE_DIR}/eval.sh",
        apply_cmds=apply_commands(),
        markers=False,
        extra_files={"eval.sh": spec.eval_script.encode()},
        verdict=lambda log: grade_log(task, raw, log),
        **kwargs,
    )


# --- images ----------------------------------------------------------------------------


def missing_images(raws: list[dict[str, Any]]) -> list[str]:
    """The instance images (of these rows) that are not present in the local Docker engine."""
    from sandbox.docker_backend import connect
    from sandbox.image import image_exists

    client = connect()
    return [
        image
        for image in dict.fromkeys(image_name(r) for r in raws)
        if not image_exists(client, image)
    ]


def how_to_get(image: str) -> str:
    return (
        f"the instance image {image} is not present locally: `dgm bench pull SUITE` (or --pull) "
        "where a registry is reachable, or build it with `swebench images build TASK_REPO`, then retry"
    )


class ImageBackends:
    """One Docker sandbox backend per instance image, opened when first needed and all
    closed by `close()`."""

    def __init__(self, run_label: str = "", pool_size: int = 1) -> None:
        self.run_label, self.pool_size = run_label, pool_size
        self._backends: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, image: str) -> Any:
        from sandbox import open_backend

        with self._lock:
            if image not in self._backends:
                self._backends[image] = open_backend(
                    "docker", image=image, run_label=self.run_label, pool_size=self.pool_size
                )
            return self._backends[image]

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
