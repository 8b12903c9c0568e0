"""The suite registry: a short name -> tasks, how to build each task's repository, and
how to grade a patch on it.

    swe-mini[:small|medium|full]   the shipped tasks (benchmarks/swe_mini), or a staged subset
    polyglot-mini                  the shipped Python exercises (benchmarks/polyglot_mini)
    polyglot:PATH                  a checkout of Aider's polyglot benchmark (python, go, rust,
                                   javascript, cpp, java; all but Python's in the polyglot image)
    swebench:SOURCE                real SWE-bench instances from a .json/.jsonl/.parquet file
                                   or a Hugging Face dataset name (run and graded in each
                                   instance's official image; DGM's small/medium subsets)
"""

from __future__ import annotations

import fnmatch
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from benchmarks import polyglot
from benchmarks.grading import GradeResult, grade
from benchmarks.polyglot_image import polyglot_image
from benchmarks.task import Task

BENCH_DIR = Path(__file__).resolve().parent
POLYGLOT_MINI = BENCH_DIR / "polyglot_mini"
SWEBENCH_SUBSETS = BENCH_DIR / "swebench_subsets"
POLYGLOT_SUBSETS = BENCH_DIR / "polyglot_subsets"
SUBSETS = ("small", "medium", "full")

SUITE_HELP = {
    "swe-mini": "shipped SWE-bench-style tasks over small Python repositories",
    "swe-mini:small": "staged subset of swe-mini (DGM's first stage)",
    "swe-mini:medium": "staged subset of swe-mini (DGM's second stage)",
    "swe-mini:full": "all of swe-mini (DGM's last stage)",
    "polyglot-mini": "shipped Python exercises in Aider's polyglot layout (two tries)",
    "polyglot:PATH": "a checkout of Aider's polyglot benchmark (python, go, rust, javascript, cpp, java)",
    "swebench:SOURCE": "SWE-bench instances from a .json/.jsonl/.parquet file or a HF dataset name",
}


class SuiteError(Exception):
    """A suite name or its content is not usable; the message says what to do."""


class Suite(Protocol):
    """What the evaluator needs from a benchmark."""

    name: str
    tries: int
    """Agent tries per attempt, each after the previous one failed (Aider's protocol: 2)."""

    def tasks(self) -> list[Task]:
        """Every task (loaded once; later calls return the same list)."""

    def subset(self, name: str) -> list[str]:
        """The task ids of a named subset (e.g. DGM's `small` and `medium` stages); a
        SuiteError when the suite has no such subset."""

    def check(self, tasks: list[Task]) -> None:
        """Raise a SuiteError if these tasks cannot run here (before any work starts)."""

    def backend(self, task: Task, default: Any) -> Any:
        """The sandbox backend the task's agent run and grading use (`default`, unless the
        task brings its own image)."""

    def build_repo(self, task: Task, dest: Path) -> bool:
        """Write the task's repository at its base into `dest`; False if the sandbox image
        already holds it at /testbed (then nothing is written)."""

    def grade(
        self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any
    ) -> GradeResult: ...

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        """The problem statement of the next try, given the failed grading of this one."""

    def close(self) -> None:
        """Close whatever the suite opened (backends of its own images)."""


def no_subset(suite: str, name: str) -> SuiteError:
    return SuiteError(f"suite {suite!r} has no subset {name!r}: use 'full' or a list of task ids")


# DGM's subset names and their files (a later stage's tasks include the earlier ones').
DGM_SUBSETS = {"small": ["small"], "medium": ["small", "medium"]}


def all_present(suite: Suite, ids: list[str], what: str, fix: str) -> list[str]:
    """`ids`, or a SuiteError when the suite lacks some of them (`what` they are; `fix`:
    how to get them)."""
    have = {t.instance_id for t in suite.tasks()}
    missing = [i for i in ids if i not in have]
    if missing:
        raise SuiteError(
            f"suite {suite.name} lacks {len(missing)} of the {len(ids)} {what} (e.g. {missing[0]}): "
            f"{fix}, or give the stage 'full' or a list of task ids"
        )
    return ids


class _Plain:
    """What a suite whose tasks run in the sandbox image (repository copied in) shares."""

    def check(self, tasks: list[Task]) -> None:
        return None

    def backend(self, task: Task, default: Any) -> Any:
        return default

    def grade(
        self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any
    ) -> GradeResult:
        """In the sandbox, the repository copied in (dgm's own grading)."""
        return grade(task, patch, backend, repo_dir=repo_dir, **kwargs)

    def close(self) -> None:
        return None


@dataclass
class SweMini(_Plain):
    """The shipped swe-mini tasks, or one staged subset of them."""

    only: str | None = None
    """Restrict the suite to this named subset (`swe-mini:small`)."""
    name: str = "swe-mini"
    tries: int = 1
    _all: dict[str, Task] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.only:
            self.name = f"swe-mini:{self.only}"

    def _every_task(self) -> dict[str, Task]:
        from benchmarks.swe_mini import build

        if not self._all:
            self._all = {t.instance_id: t for t in build.load_tasks()}
        return self._all

    def tasks(self) -> list[Task]:
        by_id = self._every_task()
        if not self.only:
            return list(by_id.values())
        return [by_id[i] for i in self._subset_ids(self.only, by_id)]

    def subset(self, name: str) -> list[str]:
        if name not in SUBSETS:
            raise no_subset(self.name, name)
        return self._subset_ids(name, self._every_task())

    def _subset_ids(self, name: str, by_id: dict[str, Task]) -> list[str]:
        from benchmarks.swe_mini import build

        wanted = build.load_suites().get(name)
        if not wanted:
            if name == "full":  # an empty `full` means all
                return list(by_id)
            raise SuiteError(
                f"swe-mini has no subset {name!r} (or it is empty): use one of {', '.join(SUBSETS)}"
            )
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise SuiteError(
                f"swe-mini:{name} names unknown tasks {unknown}: fix benchmarks/swe_mini/suites.json"
            )
        return list(wanted)

    def build_repo(self, task: Task, dest: Path) -> bool:
        from benchmarks.swe_mini import build

        build.build_repo(task, dest)
        return True

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return task.problem_statement


@dataclass
class Polyglot(_Plain):
    """Exercises in Aider's polyglot layout under `root`."""

    root: Path
    name: str = ""
    tries: int = polyglot.TRIES
    dgm_subsets: bool = True  # a checkout of Aider's benchmark names DGM's subsets
    sandbox: str = "docker"
    """The sandbox the run asked for: other languages than Python need docker."""
    _images: Any = None
    _tag: str | None = None

    def __post_init__(self) -> None:
        self.name = self.name or f"polyglot:{self.root}"

    @cached_property
    def _loaded(self) -> tuple[list[Task], dict[str, Path]]:
        """The exercises, read once, and each one's directory by task id."""
        try:
            return polyglot.load_tasks(self.root)
        except polyglot.PolyglotError as e:
            raise SuiteError(str(e)) from None

    def tasks(self) -> list[Task]:
        return self._loaded[0]

    def subset(self, name: str) -> list[str]:
        """DGM's own subsets of the polyglot benchmark (benchmarks/polyglot_subsets/):
        `small` (its first stage) and `medium` (small plus its second stage), their
        exercises in the languages loaded here."""
        if name not in DGM_SUBSETS or not self.dgm_subsets:
            raise no_subset(self.name, name)
        ids = polyglot.dgm_subset([POLYGLOT_SUBSETS / f"{f}.json" for f in DGM_SUBSETS[name]])
        return all_present(
            self,
            ids,
            f"exercises of DGM's {name!r} subset of Aider's polyglot benchmark",
            "give a checkout of Aider's polyglot benchmark",
        )

    def build_repo(self, task: Task, dest: Path) -> bool:
        polyglot.build_repo(self._loaded[1][task.instance_id], dest)
        return True

    def check(self, tasks: list[Task]) -> None:
        """Exercises in other languages than Python need the polyglot image (built now,
        on first use): the docker sandbox."""
        if all(t.repo.startswith("python/") for t in tasks):
            return
        if self.sandbox != "docker":
            raise SuiteError(
                f"{self.name}: exercises in other languages than Python run in the polyglot "
                "image: use the docker sandbox"
            )
        from sandbox import SandboxError

        try:  # the first time, minutes: each build step is said on stderr
            self._image_tag(step=lambda m: print(f"polyglot image: {m}", file=sys.stderr))
        except SandboxError as e:
            raise SuiteError(f"{self.name}: {e}") from None

    def _image_tag(self, step: Callable[[str], None] = lambda _m: None) -> str:
        """The polyglot image's tag, looked up (or built) once per suite."""
        with _backends_lock:
            if self._tag is None:
                self._tag = polyglot_image(step=step)
            return self._tag

    def backend(self, task: Task, default: Any) -> Any:
        """A Python exercise's: `default`; the others': one of the polyglot image."""
        if task.repo.startswith("python/"):
            return default
        return image_backends(self, default).get(self._image_tag())

    def grade(
        self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any
    ) -> GradeResult:
        """DGM's grading: only the patch's changes to the solution files count; a non-Python
        exercise is resolved iff its test command exits 0."""
        solution = polyglot.exercise_files(self._loaded[1][task.instance_id])["solution"]
        if not task.repo.startswith("python/"):
            kwargs["parse_log"] = polyglot.parse_exit_status
        patch = polyglot.solution_only(patch, solution)
        return grade(task, patch, backend, repo_dir=repo_dir, **kwargs)

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return polyglot.next_problem(task, result.log)

    def close(self) -> None:
        if self._images is not None:
            self._images.close()


# Backends are asked for on the run's worker threads: the first two at once must not each
# make the suite's image backends (the one overwritten would leak its warm containers).
_backends_lock = threading.Lock()


def image_backends(suite: Polyglot | SWEBench, default: Any) -> Any:
    """The suite's backends of per-image sandboxes, made on first use."""
    from benchmarks import swebench

    with _backends_lock:
        if suite._images is None:
            suite._images = swebench.ImageBackends(
                run_label=getattr(default, "run_label", "") or ""
            )
        return suite._images


@dataclass
class SWEBench:
    """Real SWE-bench instances. Each runs in its own official image, which holds the
    repository at /testbed at the base commit: the agent there, the grading in a fresh
    container of the same image."""

    source: str
    sandbox: str = "docker"
    """The sandbox the run asked for: SWE-bench needs Docker (its images)."""
    name: str = ""
    tries: int = 1
    _images: Any = None

    def __post_init__(self) -> None:
        self.name = self.name or f"swebench:{self.source}"

    @cached_property
    def _loaded(self) -> tuple[list[Task], dict[str, dict[str, Any]]]:
        """The instances as tasks, read once, and each one's raw dataset row by task id."""
        from benchmarks import swebench

        try:
            return swebench.load_tasks(self.source)
        except swebench.SWEBenchError as e:
            raise SuiteError(str(e)) from None

    @property
    def _raw(self) -> dict[str, dict[str, Any]]:
        return self._loaded[1]

    def tasks(self) -> list[Task]:
        return self._loaded[0]

    def instance(self, instance_id: str) -> dict[str, Any]:
        """The raw dataset row of one instance (what the swebench package reads)."""
        return self._raw[instance_id]

    def subset(self, name: str) -> list[str]:
        """DGM's own subsets of SWE-bench Verified (benchmarks/swebench_subsets/): `small`
        (its first stage, 10 instances) and `medium` (small plus its 50 second-stage ones)."""
        if name not in DGM_SUBSETS:
            raise no_subset(self.name, name)
        ids = [
            i
            for f in DGM_SUBSETS[name]
            for i in json.loads((SWEBENCH_SUBSETS / f"{f}.json").read_text())
        ]
        return all_present(
            self,
            ids,
            f"instances of DGM's {name!r} subset of SWE-bench Verified",
            "load SWE-bench Verified",
        )

    def check(self, tasks: list[Task]) -> None:
        from benchmarks import swebench

        if self.sandbox != "docker":
            raise SuiteError(
                "SWE-bench instances run in their official Docker images: use the docker sandbox"
            )
        try:
            missing = swebench.missing_images([self._raw[t.instance_id] for t in tasks])
            for t in tasks:
                swebench.test_spec(self._raw[t.instance_id])  # the package can grade it
        except swebench.SWEBenchError as e:
            raise SuiteError(str(e)) from None
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise SuiteError(swebench.how_to_get(missing[0]) + more)

    def backend(self, task: Task, default: Any) -> Any:
        from benchmarks import swebench

        return image_backends(self, default).get(swebench.image_name(self._raw[task.instance_id]))

    def build_repo(self, task: Task, dest: Path) -> bool:
        return False

    def grade(
        self, task: Task, patch: str, backend: Any, repo_dir: Path | None, **kwargs: Any
    ) -> GradeResult:
        from benchmarks import swebench

        try:
            return swebench.grade_instance(
                task, self._raw[task.instance_id], patch, backend, **kwargs
            )
        except swebench.SWEBenchError as e:
            raise SuiteError(str(e)) from None

    def retry_problem(self, task: Task, result: GradeResult) -> str:
        return task.problem_statement

    def close(self) -> None:
        if self._images is not None:
            self._images.close()


def open_suite(spec: str, sandbox: str = "docker") -> Suite:
    """The suite a name names (see the module docstring); `sandbox` is the backend the run
    will use (SWE-bench suites refuse any but docker in `check`)."""
    spec = spec.strip()
    if spec == "swe-mini":
        return SweMini()
    if spec.startswith("swe-mini:"):
        subset = spec.split(":", 1)[1]
        if subset not in SUBSETS:
            raise SuiteError(
                f"unknown swe-mini subset {subset!r}: use swe-mini:small, swe-mini:medium or swe-mini:full"
            )
        return SweMini(subset)
    if spec == "polyglot-mini":
        return Polyglot(POLYGLOT_MINI, name="polyglot-mini", dgm_subsets=False)
    if spec.startswith("polyglot:"):
        return Polyglot(Path(spec.split(":", 1)[1]).expanduser(), sandbox=sandbox)
    if spec.startswith("swebench:"):
        return SWEBench(spec.split(":", 1)[1], sandbox=sandbox)
    raise SuiteError(
        f"unknown suite {spec!r}: use swe-mini[:small|medium|full], polyglot-mini, polyglot:PATH or swebench:SOURCE"
    )


def select_tasks(tasks: list[Task], patterns: list[str] | None) -> list[Task]:
    """The tasks whose id matches any pattern (exact or glob); all when none given."""
    if not patterns:
        return tasks
    chosen = [t for t in tasks if any(fnmatch.fnmatchcase(t.instance_id, p) for p in patterns)]
    unmatched = [
        p for p in patterns if not any(fnmatch.fnmatchcase(t.instance_id, p) for t in tasks)
    ]
    if unmatched:
        raise SuiteError(
            f"no task matches {', '.join(unmatched)}: `dgm bench validate SUITE` lists the ids"
        )
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

    backend = suite.backend(task, backend)
    with tempfile.TemporaryDirectory(prefix="dgm-validate-") as tmp:
        built = Path(tmp) / "repo"
        repo = built if suite.build_repo(task, built) else None
        gold = suite.grade(task, task.patch, backend, repo, **grade_kwargs)
        empty = suite.grade(task, "", backend, repo, allow_empty=True, **grade_kwargs)
    reasons = []
    if not gold.resolved:
        failing = gold.FAIL_TO_PASS.failure + gold.PASS_TO_PASS.failure
        reasons.append(
            f"gold patch does not resolve ({gold.error_kind or 'tests fail'}: {', '.join(failing[:5]) or '-'})"
        )
    if empty.resolved:
        reasons.append("empty patch resolves it (FAIL_TO_PASS tests already pass)")
    if empty.error_kind:
        reasons.append(f"empty-patch run failed: {empty.error_kind}")
    return Validation(task.instance_id, not reasons, gold, empty, reasons)
