"""Aider's polyglot benchmark: exercises in the exercism layout, graded Aider's way.

A checkout looks like `<lang>/exercises/practice/<name>/` with `.docs/instructions.md`
(and optionally `instructions.append.md`), `.meta/config.json` naming the `solution`,
`test` and `example` files, the stub (solution) files, the tests, and `.meta/example.*`.

Each exercise becomes a Task:
- the repository: the exercise's files minus `.docs`, `.meta` and the tests, as one commit;
- `problem_statement`: the instructions plus Aider's request to edit the stub files;
- `test_patch`: a diff creating the test files. Grading applies it in a fresh sandbox, so
  the tests are hidden from the agent and re-copied pristine before each test run;
- `FAIL_TO_PASS`: every test in the test files (Aider counts an exercise solved only when
  all of them pass); `patch`: the diff from stub to `.meta/example`.

Aider's protocol gives the agent two tries: when the first fails, the second starts from
the first try's code, and its problem statement carries the failing test output.

Only Python exercises are loaded: the sandbox image has no other toolchain.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

from benchmarks.task import Task

TRIES = 2
SUPPORTED_LANGUAGES = ("python",)
FEEDBACK_CHARS = 6000

# Aider's benchmark prompts (benchmark/prompts.py), in substance.
INSTRUCTIONS_TAIL = (
    "\n\nUse the above instructions to modify the supplied files: {files}\n"
    "Don't change the names of existing functions or classes, as they may be referenced from "
    "other code like unit tests, etc.\nOnly use standard libraries, don't suggest installing any packages.\n"
)
TEST_FAILURES = (
    "\n\n## Your previous attempt did not pass the tests\n\n```\n{output}\n```\n\n"
    "See the testing errors above. The tests are correct, don't try and change them.\n"
    "Fix the code in {files} to resolve the errors.\n"
)

COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "polyglot",
    "GIT_AUTHOR_EMAIL": "polyglot@dgm.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "polyglot",
    "GIT_COMMITTER_EMAIL": "polyglot@dgm.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class PolyglotError(Exception):
    """The checkout is not in the polyglot layout, or an exercise is malformed."""


def exercise_dirs(root: Path) -> list[Path]:
    """`<lang>/exercises/practice/<name>/` for the supported languages, sorted."""
    if not root.is_dir():
        raise PolyglotError(
            f"{root} is not a directory: give a checkout of the polyglot benchmark (<lang>/exercises/practice/<name>/)"
        )
    found = [
        d
        for lang in SUPPORTED_LANGUAGES
        for d in sorted((root / lang / "exercises" / "practice").glob("*"))
        if (d / ".meta" / "config.json").is_file()
    ]
    if not found:
        langs = sorted(p.name for p in root.iterdir() if (p / "exercises" / "practice").is_dir())
        raise PolyglotError(
            f"no Python exercises under {root}/python/exercises/practice/"
            + (
                f" (found languages {', '.join(langs)}; only python is supported)"
                if langs
                else ": expected <lang>/exercises/practice/<name>/.meta/config.json"
            )
        )
    return found


def exercise_files(ex: Path) -> dict[str, list[str]]:
    try:
        config = json.loads((ex / ".meta" / "config.json").read_text(encoding="utf-8"))
        files = config["files"]
        out = {k: files.get(k, []) for k in ("solution", "test", "example")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise PolyglotError(f"{ex}/.meta/config.json has no usable `files` entry ({e})") from None
    for kind, names in out.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise PolyglotError(
                f"{ex}/.meta/config.json: files.{kind} must be a list of file names, "
                f"not {json.dumps(names)[:60]}"
            )
    return out


def repo_files(ex: Path) -> dict[str, bytes]:
    """What the agent gets: the exercise without .docs, .meta and the tests."""
    hidden = set(exercise_files(ex)["test"])
    out = {}
    for p in sorted(ex.rglob("*")):
        rel = p.relative_to(ex).as_posix()
        if (
            p.is_file()
            and not rel.startswith((".docs/", ".meta/"))
            and rel not in hidden
            and "__pycache__" not in rel
        ):
            out[rel] = p.read_bytes()
    return out


def file_diff(path: str, old: str | None, new: str | None) -> str:
    """A git-style diff of one file (old None: created; new None: deleted)."""
    import difflib

    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    for lines in (a, b):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n\\ No newline at end of file\n"
    head = f"diff --git a/{path} b/{path}\n"
    if old is None:
        head += "new file mode 100644\n"
    elif new is None:
        head += "deleted file mode 100644\n"
    body = difflib.unified_diff(
        a,
        b,
        "/dev/null" if old is None else f"a/{path}",
        "/dev/null" if new is None else f"b/{path}",
    )
    return head + "".join(body) if a != b else ""


def test_ids(path: str, source: str) -> list[str]:
    """pytest ids of the tests in a unittest- or pytest-style file, found without running it."""
    tree = ast.parse(source)
    ids = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and (
            node.name.startswith("Test")
            or any(getattr(b, "attr", getattr(b, "id", "")) == "TestCase" for b in node.bases)
        ):
            ids += [
                f"{path}::{node.name}::{f.name}"
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                and f.name.startswith("test")
            ]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            ids.append(f"{path}::{node.name}")
    return ids


def load_exercise(ex: Path) -> Task:
    files = exercise_files(ex)
    lang, name = ex.parents[2].name, ex.name
    docs = ex / ".docs"
    instructions = "".join(
        (docs / f).read_text() + "\n"
        for f in ("introduction.md", "instructions.md", "instructions.append.md")
        if (docs / f).is_file()
    )
    if not instructions.strip():
        raise PolyglotError(f"{ex} has no .docs/instructions.md")
    gold = []
    for sol, example in zip(files["solution"], files["example"], strict=False):
        stub_path, example_path = ex / sol, ex / example
        if not example_path.is_file() or not stub_path.is_file():
            raise PolyglotError(f"{ex}: solution {sol} or example {example} is missing")
        gold.append(file_diff(sol, stub_path.read_text(), example_path.read_text()))
    tests, test_patch = [], []
    for t in files["test"]:
        source = (ex / t).read_text()
        test_patch.append(file_diff(t, None, source))
        tests += test_ids(t, source)
    if not tests:
        raise PolyglotError(f"{ex}: no tests found in {files['test']}")
    return Task(
        instance_id=f"polyglot__{lang}-{name}",
        repo=f"{lang}/{name}",
        base_commit="",
        problem_statement=instructions.strip()
        + INSTRUCTIONS_TAIL.format(files=" ".join(files["solution"])),
        patch="".join(gold),
        test_patch="".join(test_patch),
        FAIL_TO_PASS=tests,
        PASS_TO_PASS=[],
        test_files=files["test"],
        difficulty="medium",
    )


def dgm_subset(files: list[Path]) -> list[str]:
    """The task ids of DGM's subset files (`<lang>__<exercise>` ids, each once, in order)
    whose language is loaded here."""
    ids = [i for f in files for i in json.loads(f.read_text(encoding="utf-8"))]
    ours = [
        f"polyglot__{i.replace('__', '-', 1)}"
        for i in ids
        if i.split("__")[0] in SUPPORTED_LANGUAGES
    ]
    return list(dict.fromkeys(ours))


def load_tasks(root: Path) -> tuple[list[Task], dict[str, Path]]:
    """The tasks of a checkout, and where each one's exercise lives."""
    dirs = exercise_dirs(root)
    tasks = []
    for d in dirs:
        try:
            tasks.append(load_exercise(d))
        except UnicodeDecodeError as e:  # any of its text files
            raise PolyglotError(
                f"{d}: a file of the exercise is not UTF-8 text (byte {e.start}): save it as UTF-8"
            ) from None
    return tasks, {t.instance_id: d for t, d in zip(tasks, dirs, strict=True)}


def build_repo(ex: Path, dest: Path) -> str:
    """Write the exercise's repository into `dest` as a one-commit git repo; its hash."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel, content in repo_files(ex).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(content)
    env = {**os.environ, **COMMIT_ENV}
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "Initial commit"],
    ):
        subprocess.run(
            ["git", "-c", "init.defaultBranch=main", *args],
            cwd=dest,
            env=env,
            check=True,
            capture_output=True,
        )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def next_problem(task: Task, test_log: str) -> str:
    """The second try's problem statement: the instructions plus the failing test output."""
    files = " ".join(_paths(task.patch)) or "the solution files"
    tail = test_log[-FEEDBACK_CHARS:]
    return task.problem_statement + TEST_FAILURES.format(output=tail.strip(), files=files)


def _paths(diff: str) -> list[str]:
    return [
        line.split(" b/", 1)[1].strip()
        for line in diff.splitlines()
        if line.startswith("diff --git ")
    ]
