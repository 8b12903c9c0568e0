"""The suite registry: a short name -> tasks, how to build each task's repository, and
how to grade a patch on it.

    swe-mini[:small|medium|full]   the shipped tasks (benchmarks/swe_mini), or a staged subset
    polyglot-mini                  the shipped Python exercises (benchmarks/polyglot_mini)
    polyglot:PATH                  a checkout of Aider's polyglot benchmark (Python exercises)
    swebench:SOURCE                real SWE-bench instances from a .json/.jsonl/.parquet file
                                   or a Hugging Face dataset name (graded in official images)
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks import polyglot
from benchmarks.grading import GradeResult, grade
from benchmarks.task import Task

BENCH_DIR = Path(__file__).resolve().parent
POLYGLOT_MINI = BENCH_DIR / "polyglot_mini"
SUBSETS = ("small", "medium", "full")

SUITE_HELP = {
    "swe-mini": "shipped SWE-bench-style tasks over small Python repositories",
    "swe-mini:small": "staged subset of swe-mini (DGM's first stage)",
    "swe-mini:medium": "staged subset of swe-mini (DGM's second stage)",
    "swe-mini:full": "all of swe-mini (DGM's last stage)",
    "polyglot-mini": "shipped Python exercises in Aider's polyglot layout (two tries)",
    "polyglot:PATH": "a checkout of Aider's polyglot benchmark (Python exercises)",
    "swebench:SOURCE": "SWE-bench instances from a .json/.jsonl/.parquet file or a HF dataset name",
}


class SuiteError(Exception):
    """A suite name or its content is not usable; the message says what to do."""


class Suite(Protocol):
    """What the evaluator needs from a benchmark."""

    name: str
    tries: int
    """Agent tries per attempt, each after the previous one failed (Aider's protocol: 2)."""

    def tasks(self) -> list[Task]: ...

    def build_repo(self, task: Task, dest: Path) -> bool:
        """Write the task's repository at its base into `dest`; False if the sandbox image
        already holds it at /testbed (then nothing is written)."""

    def grade(self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any) -> GradeResult: ...

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        """The problem statement of the next try, given the failed grading of this one."""


@dataclass
class SweMini:
    """The shipped swe-mini tasks, or one staged subset of them."""

    subset: str | None = None
    name: str = "swe-mini"
    tries: int = 1

    def __post_init__(self) -> None:
        if self.subset:
            self.name = f"swe-mini:{self.subset}"

    def tasks(self) -> list[Task]:
        from benchmarks.swe_mini import build

        tasks = build.load_tasks()
        if not self.subset or self.subset == "full" and not build.load_suites().get("full"):
            return tasks
        wanted = build.load_suites().get(self.subset)
        if not wanted:
            raise SuiteError(f"swe-mini has no subset {self.subset!r} (or it is empty): use one of {', '.join(SUBSETS)}")
        by_id = {t.instance_id: t for t in tasks}
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise SuiteError(f"swe-mini:{self.subset} names unknown tasks {unknown}: fix benchmarks/swe_mini/suites.json")
        return [by_id[i] for i in wanted]

    def build_repo(self, task: Task, dest: Path) -> bool:
        from benchmarks.swe_mini import build

        build.build_repo(task, dest)
        return True

    def grade(self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any) -> GradeResult:
        return grade(task, patch, backend, repo_dir=repo_dir, **kwargs)

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return task.problem_statement


@dataclass
class Polyglot:
    """Exercises in Aider's polyglot layout under `root`."""

    root: Path
    name: str = ""
    tries: int = polyglot.TRIES
    _dirs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or f"polyglot:{self.root}"

    def tasks(self) -> list[Task]:
        try:
            tasks, self._dirs = polyglot.load_tasks(self.root)
        except polyglot.PolyglotError as e:
            raise SuiteError(str(e)) from None
        return tasks

    def build_repo(self, task: Task, dest: Path) -> bool:
        if not self._dirs:
            self.tasks()
        polyglot.build_repo(self._dirs[task.instance_id], dest)
        return True

    def grade(self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any) -> GradeResult:
        return grade(task, patch, backend, repo_dir=repo_dir, **kwargs)

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return polyglot.next_problem(task, result.log)


@dataclass
class SWEBench:
    """Real SWE-bench instances; /testbed comes from each instance's official image."""

    source: str
    backend_for_image: Any = None
    """image name -> sandbox backend for it (the CLI passes one built on open_backend)."""
    name: str = ""
    tries: int = 1
    _raw: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or f"swebench:{self.source}"

    def tasks(self) -> list[Task]:
        from benchmarks import swebench

        try:
            tasks, self._raw = swebench.load_tasks(self.source)
        except swebench.SWEBenchError as e:
            raise SuiteError(str(e)) from None
        return tasks

    def build_repo(self, task: Task, dest: Path) -> bool:
        return False

    def grade(self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any) -> GradeResult:
        from benchmarks import swebench

        if not self._raw:
            self.tasks()
        if self.backend_for_image is None:
            raise SuiteError("grading SWE-bench instances needs a backend per official image (backend_for_image)")
        try:
            return swebench.grade_instance(task, self._raw[task.instance_id], patch, self.backend_for_image, **kwargs)
        except swebench.SWEBenchError as e:
            raise SuiteError(str(e)) from None

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return task.problem_statement


def open_suite(spec: str, **options: Any) -> Suite:
    """The suite a name names (see the module docstring)."""
    spec = spec.strip()
    if spec == "swe-mini":
        return SweMini()
    if spec.startswith("swe-mini:"):
        subset = spec.split(":", 1)[1]
        if subset not in SUBSETS:
            raise SuiteError(f"unknown swe-mini subset {subset!r}: use swe-mini:small, swe-mini:medium or swe-mini:full")
        return SweMini(subset)
    if spec == "polyglot-mini":
        return Polyglot(POLYGLOT_MINI, name="polyglot-mini")
    if spec.startswith("polyglot:"):
        return Polyglot(Path(spec.split(":", 1)[1]).expanduser())
    if spec.startswith("swebench:"):
        return SWEBench(spec.split(":", 1)[1], backend_for_image=options.get("backend_for_image"))
    raise SuiteError(f"unknown suite {spec!r}: use swe-mini[:small|medium|full], polyglot-mini, polyglot:PATH or swebench:SOURCE")


def select_tasks(tasks: list[Task], patterns: list[str] | None) -> list[Task]:
    """The tasks whose id matches any pattern (exact or glob); all when none given."""
    if not patterns:
        return tasks
    chosen = [t for t in tasks if any(fnmatch.fnmatchcase(t.instance_id, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(t.instance_id, p) for t in tasks)]
    if unmatched:
        raise SuiteError(f"no task matches {', '.join(unmatched)}: `dgm bench validate SUITE` lists the ids")
    return chosen


@dataclass
class Validation:
    """Whether a task is sound: its gold patch resolves it and the empty patch does not."""

    instance_id: str
    valid: bool
    gold: GradeResult
    empty: GradeResult
    reasons: list[str]


def validate_task(suite: Suite, task: Task, backend: Any, **grade_kwargs: Any) -> Validation:
    """Grade the gold and the empty patch, each in its own fresh sandbox."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dgm-validate-") as tmp:
        built = Path(tmp) / "repo"
        repo = built if suite.build_repo(task, built) else None
        gold = suite.grade(task, task.patch, backend, repo, **grade_kwargs)
        empty = suite.grade(task, "", backend, repo, allow_empty=True, **grade_kwargs)
    reasons = []
    if not gold.resolved:
        failing = gold.FAIL_TO_PASS.failure + gold.PASS_TO_PASS.failure
        reasons.append(f"gold patch does not resolve ({gold.error_kind or 'tests fail'}: {', '.join(failing[:5]) or '-'})")
    if empty.resolved:
        reasons.append("empty patch resolves it (FAIL_TO_PASS tests already pass)")
    if empty.error_kind:
        reasons.append(f"empty-patch run failed: {empty.error_kind}")
    return Validation(task.instance_id, not reasons, gold, empty, reasons)
