"""Grade a model patch the way SWE-bench does.

One grading = one FRESH sandbox at the task's base: the repository at /testbed, the
model patch applied (its changes to test files dropped first, so a patch cannot "fix" a
task by editing the tests), then the hidden test patch, then the tests. The log is parsed
into {test id: status}; the task is resolved iff every FAIL_TO_PASS and every
PASS_TO_PASS test passed. A test missing from the log counts as failed.

Passing statuses are PASSED and XFAIL (SWE-bench's rule). Unlike SWE-bench, which leaves
a SKIPPED or XPASS test out of both lists, they count as failures here: a required test
that did not run proves nothing.

The agent run and the grading never share a sandbox (see dgm/evaluator.py).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, Field

from benchmarks.log_parsers import PASSED, XFAIL, LogParser, parse_log_pytest
from benchmarks.task import Task
from sandbox import EngineUnavailable

MISSING = "MISSING"  # a required test the log never named
PASSING = {PASSED, XFAIL}
ErrorKind = Literal["empty_patch", "patch_failed", "timeout", "sandbox_error"]

TEST_DIRS = {"test", "tests", "testing", "e2e"}
GRADE_DIR = "/tmp/dgm-grade"
APPLIED = ">>>>> Applied Patch"
APPLY_FAILED = ">>>>> Patch Apply Failed"
TEST_PATCH_FAILED = ">>>>> Test Patch Apply Failed"
TESTS_START = ">>>>> Start Test Output"
TESTS_END = ">>>>> End Test Output"


# --- test files in patches -------------------------------------------------------------


def is_test_path(path: str) -> bool:
    """SWE-bench's idea of a test file: under tests/ test/ testing/ e2e/, or named
    test_*.py, *_test.py, *_tests.py, conftest.py."""
    p = PurePosixPath(path)
    if any(part in TEST_DIRS for part in p.parts[:-1]):
        return True
    name = p.name
    return (
        name == "conftest.py"
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith(("_test.py", "_tests.py"))
    )


_DIFF_GIT = re.compile(r"^diff --git a/(.+?) b/(.+)$")


def split_patch(patch: str) -> list[tuple[str, str]]:
    """[(path, that file's part of the diff)] in order. Understands `git diff` output and
    plain unified diffs (`--- a/x` / `+++ b/x` headers)."""
    lines = patch.splitlines(keepends=True)
    starts: list[int] = []
    for i, line in enumerate(lines):
        if line.startswith("diff --git "):
            starts.append(i)
        elif (
            line.startswith("--- ")
            and i + 1 < len(lines)
            and lines[i + 1].startswith("+++ ")
            and not (starts and _in_git_header(lines, starts[-1], i))
        ):
            starts.append(i)
    if not starts:
        return []
    parts = []
    for a, b in zip(starts, starts[1:] + [len(lines)], strict=True):
        chunk = "".join(lines[a:b])
        parts.append((_path_of(lines[a:b]), chunk))
    return parts


def _in_git_header(lines: list[str], start: int, i: int) -> bool:
    """Whether line i is the ---/+++ pair belonging to the `diff --git` block at start."""
    return lines[start].startswith("diff --git ") and all(
        not lines[k].startswith(("@@", "diff --git ")) for k in range(start + 1, i)
    )


def _path_of(chunk: list[str]) -> str:
    """The file a diff chunk changes: its target, or its source when the file is deleted."""
    if m := _DIFF_GIT.match(chunk[0].rstrip("\n")):
        return m.group(2)
    paths = {}
    for line in chunk:
        if line.startswith(("--- ", "+++ ")) and line[:3] not in paths:
            path = line[4:].split("\t")[0].strip()
            paths[line[:3]] = path[2:] if path.startswith(("a/", "b/")) else path
        if len(paths) == 2:
            break
    target = paths.get("+++", "/dev/null")
    return paths.get("---", "") if target == "/dev/null" else target


def drop_test_files(patch: str) -> tuple[str, list[str]]:
    """(the patch without its test-file parts, the paths dropped)."""
    kept: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    for path, chunk in split_patch(patch):
        (dropped if is_test_path(path) else kept).append((path, chunk))
    return "".join(c for _, c in kept), [p for p, _ in dropped]


# --- the report ------------------------------------------------------------------------


class TestsStatus(BaseModel):
    """success / failure lists for one category, as in SWE-bench's report.json."""

    success: list[str] = Field(default_factory=list)
    failure: list[str] = Field(default_factory=list)


class GradeResult(BaseModel):
    """The outcome of grading one patch on one task."""

    instance_id: str
    resolved: bool
    patch_applied: bool
    error_kind: ErrorKind | None = None
    tests: dict[str, str] = Field(
        default_factory=dict, description="Required test id -> status (MISSING if not in the log)."
    )
    FAIL_TO_PASS: TestsStatus = Field(default_factory=TestsStatus)
    PASS_TO_PASS: TestsStatus = Field(default_factory=TestsStatus)
    dropped_test_files: list[str] = Field(default_factory=list)
    log: str = ""
    duration_s: float = 0.0

    def swebench_report(self, patch: str | None = "") -> dict[str, Any]:
        """This result in the shape of SWE-bench's report.json."""
        return {
            self.instance_id: {
                "patch_is_None": patch is None,
                "patch_exists": bool(patch),
                "patch_successfully_applied": self.patch_applied,
                "resolved": self.resolved,
                "tests_status": {
                    "FAIL_TO_PASS": self.FAIL_TO_PASS.model_dump(),
                    "PASS_TO_PASS": self.PASS_TO_PASS.model_dump(),
                    "FAIL_TO_FAIL": {"success": [], "failure": []},
                    "PASS_TO_FAIL": {"success": [], "failure": []},
                },
            }
        }


def grade_statuses(task: Task, statuses: dict[str, str], **fields: Any) -> GradeResult:
    """Pure: the verdict for a parsed log. Extra fields (patch_applied, log, ...) pass through."""
    tests = {t: statuses.get(t, MISSING) for t in [*task.FAIL_TO_PASS, *task.PASS_TO_PASS]}

    def split(ids: list[str]) -> TestsStatus:
        return TestsStatus(
            success=[t for t in ids if tests[t] in PASSING],
            failure=[t for t in ids if tests[t] not in PASSING],
        )

    f2p, p2p = split(task.FAIL_TO_PASS), split(task.PASS_TO_PASS)
    fields.setdefault("patch_applied", True)
    ok = (
        not f2p.failure
        and not p2p.failure
        and fields["patch_applied"]
        and not fields.get("error_kind")
    )
    return GradeResult(
        instance_id=task.instance_id,
        resolved=ok,
        tests=tests,
        FAIL_TO_PASS=f2p,
        PASS_TO_PASS=p2p,
        **fields,
    )


def grade_log(task: Task, log: str, parse_log: LogParser = parse_log_pytest) -> GradeResult:
    """Grade an existing test log (e.g. an old run's) against a task."""
    return grade_statuses(task, parse_log(test_output(log)), log=log)


def test_output(log: str) -> str:
    """The part of a grading log between the test markers (the whole log if it has none)."""
    # the last start marker: what precedes it (e.g. an agent's own output) cannot fake results
    start = log.rfind(TESTS_START)
    if start == -1:
        return log
    end = log.find(TESTS_END, start)
    return log[start + len(TESTS_START) : end if end != -1 else len(log)]


# --- grading in a sandbox ------------------------------------------------------------


def test_command(task: Task) -> str:
    return " ".join([task.test_cmd, *map(shlex.quote, task.test_files)])


def eval_script(
    task: Task,
    test_cmd: str | None = None,
    apply_cmds: list[str] | None = None,
    markers: bool = True,
) -> str:
    """The shell script run in the grading sandbox: apply the model patch, then the test
    patch, then the tests (between markers, unless the test command prints its own).

    The model patch goes in with `git apply -v`, else `patch --fuzz=5` (after a dry run),
    `git apply --reject` last, only to log what would not apply. `apply_cmds` replaces
    that chain with another one (SWE-bench's), tried in order from a clean tree."""
    m, t = f"{GRADE_DIR}/model.patch", f"{GRADE_DIR}/test.patch"
    start, end = (f'echo "{TESTS_START}"', f'echo "{TESTS_END}"') if markers else ("", "")
    return f"""set -u
exec 2>&1
cd /testbed
if [ -s {m} ]; then
{_apply_chain(m, apply_cmds) if apply_cmds else _default_apply(m)}
fi
if [ -s {t} ]; then
  git apply -v {t} || {{ echo "{TEST_PATCH_FAILED}"; exit 98; }}
fi
{start}
{test_cmd or test_command(task)}
{end}
"""


def _default_apply(m: str) -> str:
    return f"""  if git apply -v {m}; then echo "{APPLIED} (git apply)"
  elif patch --batch --fuzz=5 -p1 --dry-run -i {m} >/dev/null 2>&1 && patch --batch --fuzz=5 -p1 -i {m}; then echo "{APPLIED} (patch --fuzz=5)"
  else git apply -v --reject {m}; echo "{APPLY_FAILED}"; exit 97
  fi"""


def _apply_chain(m: str, cmds: list[str]) -> str:
    """Each command in turn, from a pristine tree (a failed try can leave debris); a patch
    that is already in the tree counts as applied, as in SWE-bench's harness."""
    tries = "\n".join(
        f'  if [ -z "$ok" ]; then {"git checkout -- . >/dev/null 2>&1; git clean -fdq >/dev/null 2>&1; " if i else ""}'
        f'{cmd} {m} && {{ ok=1; echo "{APPLIED} ({cmd.split(" -")[0]})"; }}; fi'
        for i, cmd in enumerate(cmds)
    )
    return f"""  ok=""
{tries}
  if [ -z "$ok" ] && git apply --check --reverse {m} >/dev/null 2>&1; then ok=1; echo "{APPLIED} (already applied)"; fi
  if [ -z "$ok" ]; then echo "{APPLY_FAILED}"; exit 97; fi"""


def grade(
    task: Task,
    model_patch: str,
    backend: Any,
    *,
    repo_dir: Path | None,
    parse_log: LogParser = parse_log_pytest,
    test_cmd: str | None = None,
    limits: Any = None,
    timeout_s: float = 600.0,
    allow_empty: bool = False,
    open_kwargs: dict[str, Any] | None = None,
    apply_cmds: list[str] | None = None,
    markers: bool = True,
    extra_files: dict[str, bytes] | None = None,
    verdict: Callable[[str], GradeResult] | None = None,
    keep_test_files: bool = False,
) -> GradeResult:
    """Grade `model_patch` on `task` in a fresh sandbox from `backend`.

    repo_dir: the task's repository at its base on the host (put at /testbed), or None
    when the sandbox image already holds it (SWE-bench images). allow_empty: run the tests
    even for an empty patch (validation does, to show the task is not already solved);
    otherwise an empty patch is unresolved without opening a sandbox. apply_cmds,
    markers: see `eval_script`; extra_files go to GRADE_DIR beside the patches; verdict:
    grades the log instead of `parse_log` (SWE-bench's official report does);
    keep_test_files: apply the whole patch, as SWE-bench's harness does for a predictions file.
    """
    started = time.monotonic()
    patch, dropped = (model_patch, []) if keep_test_files else drop_test_files(model_patch)
    if not patch.strip() and not allow_empty:
        return grade_statuses(
            task, {}, patch_applied=False, error_kind="empty_patch", dropped_test_files=dropped
        )
    files = {
        "model.patch": _ensure_newline(patch).encode(),
        "test.patch": _ensure_newline(task.test_patch).encode(),
        **(extra_files or {}),
    }
    try:
        with backend.open(
            **({"limits": limits} if limits is not None else {}), **(open_kwargs or {})
        ) as sb:
            if repo_dir is not None:
                sb.put_dir(repo_dir, "/testbed")
            sb.put_files(files, GRADE_DIR)
            script = eval_script(task, test_cmd, apply_cmds, markers)
            res = sb.run(["bash", "-c", script], timeout_s=timeout_s, workdir="/testbed")
    except EngineUnavailable:  # the engine failed, not the patch: the caller may grade again
        raise
    except Exception as e:  # noqa: BLE001 - any sandbox failure is a grading outcome, not a crash
        return grade_statuses(
            task,
            {},
            patch_applied=False,
            error_kind="sandbox_error",
            log=f"{type(e).__name__}: {e}",
            dropped_test_files=dropped,
            duration_s=time.monotonic() - started,
        )
    log = res.stdout + ("\n" + res.stderr if res.stderr else "")
    before_tests = res.stdout.split(TESTS_START)[0]  # what the tests print cannot fake these
    applied = APPLY_FAILED not in before_tests and TEST_PATCH_FAILED not in before_tests
    status = getattr(res.status, "value", res.status)
    error: ErrorKind | None = None
    if status == "sandbox_error":
        error = "sandbox_error"
    elif not applied:
        error = "patch_failed"
    elif status == "timeout":
        error = "timeout"
    done = {
        "patch_applied": applied,
        "error_kind": error,
        "log": log,
        "dropped_test_files": dropped,
        "duration_s": time.monotonic() - started,
    }
    if verdict is not None:
        judged = verdict(log) if applied else grade_statuses(task, {})
        done["patch_applied"] = applied and judged.patch_applied
        return judged.model_copy(
            update={**done, "resolved": judged.resolved and applied and not error}
        )
    statuses = parse_log(test_output(log)) if applied else {}
    return grade_statuses(
        task,
        statuses,
        patch_applied=applied,
        error_kind=error,
        log=log,
        dropped_test_files=dropped,
        duration_s=time.monotonic() - started,
    )


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
