"""Aider's polyglot benchmark: exercises in the exercism layout, graded Aider's way.

A checkout looks like `<lang>/exercises/practice/<name>/` with `.docs/instructions.md`
(and optionally `instructions.append.md`), `.meta/config.json` naming the `solution`,
`test` and `example` files, the stub (solution) files, the tests, and `.meta/example.*`.

Each exercise becomes a Task, in DGM's layout (jennyzzt/dgm
polyglot/prepare_polyglot_dataset.py:175-197):
- the repository (what the agent sees): the solution (stub) files and `.docs`, plus what
  the language's build needs (cpp: `test/` and CMakeLists.txt, naming the exercise;
  javascript: package.json, .eslintrc, .npmrc; java: the Gradle files), as one commit;
- `problem_statement`: the instructions plus Aider's request to edit the stub files;
- `test_patch`: a diff creating every other file of the exercise (the tests, go.mod,
  babel.config.js...; not `.meta/` and the other dot-directories, which hold the reference
  solution and notes no test reads). Grading applies it in a fresh sandbox, so the tests
  are hidden from the agent and pristine when they run; of the agent's patch only its
  changes to the solution files count, as DGM keeps only those (polyglot/harness.py:154-161);
- `FAIL_TO_PASS`: Python: every test in the test files (Aider counts an exercise solved
  only when all of them pass); other languages: the language's test command exits 0,
  DGM's rule (polyglot/constants.py:44-51, harness.py:182-186). `patch`: the diff from
  stub to the reference solution (`.meta/example.*`, `.meta/proof.ci.js`...).

Aider's protocol gives the agent two tries: when the first fails, the second starts from
the first try's code, and its problem statement carries the failing test output.

DGM's six languages are loaded: python, go, rust, javascript, cpp, java. All but Python run
in the polyglot image (benchmarks/polyglot_image.py). Java's test command differs from
DGM's `./gradlew test`, which downloads Gradle and JUnit from hosts no machine of this
project reaches: `javac` compiles src/main/java and src/test/java against Debian's JUnit 5
and AssertJ jars, and JUnit's console launcher runs the test classes, as Gradle's
`useJUnitPlatform()` does (@Disabled tests skipped, as under DGM: it does not strip them).
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
from pathlib import Path

from benchmarks import pyparse
from benchmarks.grading import split_patch
from benchmarks.log_parsers import FAILED, PASSED
from benchmarks.task import Task

TRIES = 2
JAVA_JARS = "/usr/share/java"  # Debian's junit5, libassertj-core-java, libbyte-buddy-java
SUPPORTED_LANGUAGES = ("python", "go", "rust", "javascript", "cpp", "java")

# DGM's test command of each language (polyglot/constants.py:9-51); Python's is pytest on
# the test files, graded test by test (Task.test_cmd's default).
TEST_COMMANDS = {
    "go": "go test ./...",
    "rust": "CARGO_NET_OFFLINE=true cargo test -- --include-ignored",
    "javascript": (
        "[ ! -e node_modules ] && ln -s /npm-install/node_modules .\n"
        "[ ! -e package-lock.json ] && ln -s /npm-install/package-lock.json .\n"
        "sed -i 's/\\bxtest(/test(/g' *.spec.js\n"
        "npm run test"
    ),
    "cpp": (
        '[ ! -d "build" ] && mkdir build\n'
        "cd build\n"
        'cmake -DEXERCISM_RUN_ALL_TESTS=1 -G "Unix Makefiles" ..\n'
        "make"
    ),
    # DGM's is `./gradlew test` (Gradle 8 and JUnit from the network); the same build
    # offline: compile the exercise and its tests as Gradle's java plugin does, then run them
    # on the JUnit Platform; a compile error or a failed test exits non-zero.
    "java": (
        f"J={JAVA_JARS}\n"
        # the tests' Gradle dependencies: JUnit Jupiter and AssertJ (rest-api's org.json and
        # hangman's RxJava are not in Debian: those two do not build here)
        "LIB=$J/junit-platform-console-standalone.jar:$J/assertj-core.jar:$J/byte-buddy.jar\n"
        "rm -rf build/dgm\n"
        "javac -encoding UTF-8 -nowarn -d build/dgm/main $(find src/main/java -name '*.java')\n"
        "javac -encoding UTF-8 -nowarn -cp build/dgm/main:$LIB -d build/dgm/test "
        "$(find src/test/java -name '*.java')\n"
        "java -jar $J/junit-platform-console-standalone.jar --disable-banner --details=tree "
        "--class-path build/dgm/main:build/dgm/test:$LIB --scan-class-path build/dgm/test"
    ),
}
# What each language's build needs in the agent's repository besides the solution files
# and .docs (polyglot/prepare_polyglot_dataset.py:186-193).
BUILD_FILES = {
    "java": ("gradle/", "build.gradle", "gradlew", "gradlew.bat"),
    "cpp": ("test/", "CMakeLists.txt"),
    "javascript": (".eslintrc", ".npmrc", "package.json"),
}
EXIT_MARK = ">>>>> Test command exit status: "
EXIT_TEST = "the test command exits 0"  # the one FAIL_TO_PASS test of a non-Python exercise
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
            f"no exercises under {root}/<lang>/exercises/practice/"
            + (
                f" (found languages {', '.join(langs)}; supported: {', '.join(SUPPORTED_LANGUAGES)})"
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


def language(ex: Path) -> str:
    return ex.parents[2].name


def all_files(ex: Path) -> dict[str, bytes]:
    """The exercise's files but those under `.meta/` and other dot-directories (.docs
    aside), by path."""
    out = {}
    for p in sorted(ex.rglob("*")):
        rel = p.relative_to(ex).as_posix()
        top = rel.split("/")[0]
        hidden_dir = "/" in rel and top.startswith(".") and top != ".docs"
        if p.is_file() and not hidden_dir and "__pycache__" not in rel:
            out[rel] = p.read_bytes()
    return out


def repo_files(ex: Path) -> dict[str, bytes]:
    """What the agent gets (DGM's base commit): the solution files, .docs, and the files
    the language's build needs; a C++ CMakeLists.txt names the exercise, as DGM's does
    (the repository's directory is not named after it)."""
    keep = (*exercise_files(ex)["solution"], ".docs/", *BUILD_FILES.get(language(ex), ()))
    out = {
        rel: data
        for rel, data in all_files(ex).items()
        if any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in keep)
    }
    if language(ex) == "cpp" and "CMakeLists.txt" in out:
        out["CMakeLists.txt"] = name_exercise(out["CMakeLists.txt"].decode(), ex.name).encode()
    return out


def name_exercise(cmake: str, name: str) -> str:
    """DGM's modify_cmake_file (prepare_polyglot_dataset.py:13-29)."""
    lines = cmake.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if "get_filename_component(exercise ${CMAKE_CURRENT_SOURCE_DIR} NAME)" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = f'{indent}set(exercise "{name}")\n'
            break
    return "".join(lines)


def test_patch_files(ex: Path) -> dict[str, bytes]:
    """What grading adds: every other file of the exercise (the tests first among them)."""
    shown = repo_files(ex)
    return {rel: data for rel, data in all_files(ex).items() if rel not in shown}


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
    tree = pyparse.parse(source)
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
    for sol, example in reference_files(lang, files["solution"], files["example"]):
        stub_path, example_path = ex / sol, ex / example
        if not example_path.is_file() or (sol in files["solution"] and not stub_path.is_file()):
            raise PolyglotError(f"{ex}: solution {sol} or example {example} is missing")
        stub = stub_path.read_text() if sol in files["solution"] else None
        gold.append(file_diff(sol, stub, example_path.read_text()))
    missing = [t for t in files["test"] if not (ex / t).is_file()]
    if missing or not files["test"]:
        raise PolyglotError(f"{ex}: test files {missing or files['test']} are missing")
    test_patch = [file_diff(rel, None, data.decode()) for rel, data in test_patch_files(ex).items()]
    if lang == "python":
        tests = [i for t in files["test"] for i in test_ids(t, (ex / t).read_text())]
        if not tests:
            raise PolyglotError(f"{ex}: no tests found in {files['test']}")
        test_cmd, test_files = Task.model_fields["test_cmd"].default, files["test"]
    else:
        tests = [EXIT_TEST]
        test_cmd, test_files = exit_status(TEST_COMMANDS[lang]), []
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
        difficulty="medium",
        test_cmd=test_cmd,
        test_files=test_files,
    )


def reference_files(lang: str, solution: list[str], example: list[str]) -> list[tuple[str, str]]:
    """(where it goes, the reference file) pairs. A Java reference lies under
    `.meta/src/reference/java/`, in classes of their own that go beside the solution in
    src/main/java/ (grading keeps only the solution files, as DGM does: a reference split
    over more classes than the stub's does not pass there); other languages' references
    pair with the solution files in order."""
    if lang != "java":
        return list(zip(solution, example, strict=False))
    root = ".meta/src/reference/java/"
    return [("src/main/java/" + e.removeprefix(root), e) for e in example if e.startswith(root)]


def exit_status(command: str) -> str:
    """`command` as DGM runs it (a bash script of its own, `set -e` for the multi-line
    ones: polyglot/constants.py:35-49), then its exit status on a line of its own."""
    script = f"set -e\n{command}" if "\n" in command else command
    return f'bash -c {shlex.quote(script)}; echo "{EXIT_MARK}$?"'


def parse_exit_status(log: str) -> dict[str, str]:
    """A non-Python exercise's one test: passed iff its test command exited 0."""
    codes = [ln[len(EXIT_MARK) :].strip() for ln in log.splitlines() if ln.startswith(EXIT_MARK)]
    if not codes:
        return {}
    return {EXIT_TEST: PASSED if codes[-1] == "0" else FAILED}


def solution_only(patch: str, solution: list[str]) -> str:
    """The patch's changes to the solution files only: DGM stashes those, resets the rest
    of the repository and restores them before the tests (polyglot/harness.py:154-161)."""
    return "".join(chunk for path, chunk in split_patch(patch) if path in solution)


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
