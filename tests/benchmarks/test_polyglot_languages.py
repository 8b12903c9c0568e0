"""DGM's polyglot languages graded as DGM's harness grades them, in the polyglot image
(real Docker): for three exercises in each of go, rust, javascript, cpp, python and java, written
here in Exercism's layout (the benchmark's own exercises are not shipped), the reference
solution resolves the task and the untouched stub does not; the agent's repository is
DGM's (solution files, .docs and the build's files, tests hidden); only the solution
files of a patch count."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import polyglot
from benchmarks.suites import Polyglot, open_suite

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

# Three small exercises: (name, a case that holds, a case that does not, the answer).
CASES = {
    "square": ("square(7) == 49", "49"),
    "twice": ("twice(21) == 42", "42"),
    "thrice": ("thrice(5) == 15", "15"),
}
FACTOR = {"square": None, "twice": 2, "thrice": 3}


def exercise(files: dict[str, str], **roles: list[str]) -> dict[str, str]:
    """An exercise's `files` and the .meta/config.json that names their roles (solution,
    test, example, invalidator), as Exercism writes it."""
    return {**files, ".meta/config.json": json.dumps({"files": roles})}


def body(name: str, var: str) -> str:
    """The reference solution's expression for the exercise, over the variable `var`."""
    return f"{var} * {var}" if name == "square" else f"{var} * {FACTOR[name]}"


def arg(name: str) -> int:
    return 7 if name == "square" else 21 if name == "twice" else 5


def go(name: str) -> dict[str, str]:
    fn = name.capitalize()
    stub = f'package {name}\n\nfunc {fn}(n int) int {{\n\tpanic("Please implement {fn}")\n}}\n'
    example = f"package {name}\n\nfunc {fn}(n int) int {{\n\treturn {body(name, 'n')}\n}}\n"
    test = (
        f'package {name}\n\nimport "testing"\n\nfunc Test{fn}(t *testing.T) {{\n'
        f"\tif got := {fn}({arg(name)}); got != {CASES[name][1]} {{\n"
        f'\t\tt.Fatalf("{fn}({arg(name)}) = %d", got)\n\t}}\n}}\n'
    )
    return exercise(
        {
            f"{name}.go": stub,
            f"{name}_test.go": test,
            ".meta/example.go": example,
            "go.mod": f"module {name}\n\ngo 1.18\n",
        },
        solution=[f"{name}.go"],
        test=[f"{name}_test.go"],
        example=[".meta/example.go"],
        invalidator=["go.mod"],
    )


def rust(name: str) -> dict[str, str]:
    stub = f'pub fn {name}(n: u64) -> u64 {{\n    todo!("{name} of {{n}}")\n}}\n'
    example = f"pub fn {name}(n: u64) -> u64 {{\n    {body(name, 'n')}\n}}\n"
    test = (
        f"#[test]\nfn first() {{\n    assert_eq!({name}::{name}(0), 0);\n}}\n\n"
        f"#[test]\n#[ignore]\nfn ignored_until_all_run() {{\n"
        f"    assert_eq!({name}::{name}({arg(name)}), {CASES[name][1]});\n}}\n"
    )
    return exercise(
        {
            "src/lib.rs": stub,
            f"tests/{name}.rs": test,
            ".meta/example.rs": example,
            "Cargo.toml": f'[package]\nedition = "2021"\nname = "{name}"\nversion = "1.0.0"\n',
        },
        solution=["src/lib.rs", "Cargo.toml"],
        test=[f"tests/{name}.rs"],
        example=[".meta/example.rs"],
    )


def javascript(name: str) -> dict[str, str]:
    stub = f"export const {name} = () => {{\n  throw new Error('Implement {name}');\n}};\n"
    example = f"export const {name} = (n) => {body(name, 'n')};\n"
    # xtest: skipped unless DGM's command turns it into test (constants.py:19)
    test = (
        f"import {{ {name} }} from './{name}';\n\n"
        f"describe('{name}', () => {{\n"
        f"  test('of zero', () => {{\n    expect({name}(0)).toEqual(0);\n  }});\n"
        f"  xtest('of {arg(name)}', () => {{\n"
        f"    expect({name}({arg(name)})).toEqual({CASES[name][1]});\n  }});\n}});\n"
    )
    package = {
        "name": f"@exercism/javascript-{name}",
        "private": True,
        "license": "MIT",
        "devDependencies": {"@babel/core": "^7.25.2", "jest": "^29.7.0"},
        "scripts": {"test": "jest ./*"},
    }
    return exercise(
        {
            f"{name}.js": stub,
            f"{name}.spec.js": test,
            ".meta/proof.ci.js": example,
            "package.json": json.dumps(package, indent=2) + "\n",
            "babel.config.js": "module.exports = {\n  presets: ['@exercism/babel-preset-javascript'],\n  plugins: [],\n};\n",
            ".npmrc": "audit=false\n",
            ".eslintrc": '{\n  "root": true\n}\n',
        },
        solution=[f"{name}.js"],
        test=[f"{name}.spec.js"],
        example=[".meta/proof.ci.js"],
    )


CMAKE = """get_filename_component(exercise ${CMAKE_CURRENT_SOURCE_DIR} NAME)
cmake_minimum_required(VERSION 3.5.1)
project(${exercise} CXX)
string(REPLACE "-" "_" file ${exercise})
add_executable(${exercise} ${file}_test.cpp ${file}.cpp ${file}.h test/main.cpp)
set_target_properties(${exercise} PROPERTIES CXX_STANDARD 17)
if(${EXERCISM_RUN_ALL_TESTS})
    target_compile_definitions(${exercise} PRIVATE EXERCISM_RUN_ALL_TESTS)
endif()
add_custom_target(test_${exercise} ALL DEPENDS ${exercise} COMMAND ${exercise})
"""


def cpp(name: str) -> dict[str, str]:
    header = f"#pragma once\n\nnamespace {name}_ns {{\nlong {name}(long n);\n}}\n"
    stub = (
        f'#include "{name}.h"\n\nnamespace {name}_ns {{\nlong {name}(long) {{ return -1; }}\n}}\n'
    )
    example = f'#include "{name}.h"\n\nnamespace {name}_ns {{\nlong {name}(long n) {{ return {body(name, "n")}; }}\n}}\n'
    test = (
        f'#include "{name}.h"\n#include "test/check.h"\n\n'
        f"int {name}_test() {{\n#if defined(EXERCISM_RUN_ALL_TESTS)\n"
        f"    return CHECK({name}_ns::{name}({arg(name)}) == {CASES[name][1]});\n"
        "#else\n    return 1;  // the tests that count only run with EXERCISM_RUN_ALL_TESTS\n#endif\n}\n"
    )
    return exercise(
        {
            f"{name}.cpp": stub,
            f"{name}.h": header,
            f"{name}_test.cpp": test,
            ".meta/example.cpp": example,
            ".meta/example.h": header,
            "CMakeLists.txt": CMAKE,
            "test/check.h": '#pragma once\n#include <cstdio>\n#define CHECK(x) ((x) ? 0 : (std::puts("failed: " #x), 1))\n',
            "test/main.cpp": f"int {name}_test();\n\nint main() {{ return {name}_test(); }}\n",
        },
        solution=[f"{name}.cpp", f"{name}.h"],
        test=[f"{name}_test.cpp"],
        example=[".meta/example.cpp", ".meta/example.h"],
    )


def python(name: str) -> dict[str, str]:
    test = (
        f"import unittest\n\nfrom {name} import {name}\n\n\n"
        f"class {name.capitalize()}Test(unittest.TestCase):\n"
        f"    def test_it(self):\n        self.assertEqual({name}({arg(name)}), {CASES[name][1]})\n"
    )
    return exercise(
        {
            f"{name}.py": f"def {name}(n):\n    pass\n",
            f"{name}_test.py": test,
            ".meta/example.py": f"def {name}(n):\n    return {body(name, 'n')}\n",
        },
        solution=[f"{name}.py"],
        test=[f"{name}_test.py"],
        example=[".meta/example.py"],
    )


def java(name: str) -> dict[str, str]:
    cls = name.capitalize()
    stub = (
        f"class {cls} {{\n\n    long of(long n) {{\n"
        '        throw new UnsupportedOperationException("Delete this statement and write your own implementation.");\n'
        "    }\n\n}\n"
    )
    # a helper class in the solution's file: of a patch only the solution files count
    example = (
        f"class {cls} {{\n\n    long of(long n) {{\n        return Helper.apply(n);\n    }}\n\n}}\n\n"
        f"class Helper {{\n    static long apply(long n) {{\n        return {body(name, 'n')};\n    }}\n}}\n"
    )
    # Exercism's later tests are @Disabled; DGM runs `./gradlew test` on them as they are
    # (it does not strip the annotation), so a disabled test does not count: this one fails
    # whatever the solution.
    test = (
        "import org.junit.jupiter.api.Disabled;\nimport org.junit.jupiter.api.Test;\n\n"
        "import static org.assertj.core.api.Assertions.assertThat;\n\n"
        f"public class {cls}Test {{\n\n    @Test\n    public void ofAnArgument() {{\n"
        f"        assertThat(new {cls}().of({arg(name)})).isEqualTo({CASES[name][1]});\n    }}\n\n"
        '    @Disabled("Remove to run test")\n    @Test\n    public void neverRun() {\n'
        "        assertThat(1).isEqualTo(2);\n    }\n\n}\n"
    )
    return exercise(
        {
            f"src/main/java/{cls}.java": stub,
            f"src/test/java/{cls}Test.java": test,
            f".meta/src/reference/java/{cls}.java": example,
            "build.gradle": 'plugins {\n    id "java"\n}\n\ntest {\n    useJUnitPlatform()\n}\n',
            "gradlew": '#!/bin/sh\nexec gradle "$@"\n',
            "gradle/wrapper/gradle-wrapper.properties": "distributionUrl=https\\://services.gradle.org/distributions/gradle-8.7-bin.zip\n",
        },
        solution=[f"src/main/java/{cls}.java"],
        test=[f"src/test/java/{cls}Test.java"],
        example=[f".meta/src/reference/java/{cls}.java"],
        invalidator=["build.gradle"],
    )


LANGUAGES = {
    "go": go,
    "rust": rust,
    "javascript": javascript,
    "cpp": cpp,
    "python": python,
    "java": java,
}


def write_checkout(root: Path) -> Path:
    for lang, make in LANGUAGES.items():
        for name in CASES:
            ex = root / lang / "exercises" / "practice" / name
            files = make(name)
            files[".docs/instructions.md"] = f"# Instructions\n\nCompute {name} of a number.\n"
            for rel, text in files.items():
                (ex / rel).parent.mkdir(parents=True, exist_ok=True)
                (ex / rel).write_text(text)
    return root


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polyglot]:
    root = write_checkout(tmp_path_factory.mktemp("bench"))
    s = open_suite(f"polyglot:{root}", sandbox="docker")
    assert isinstance(s, Polyglot)
    s.check(s.tasks())  # builds the polyglot image (cached by its inputs)
    yield s
    s.close()


def grade(suite: Polyglot, task: Any, patch: str, default: Any, tmp: Path) -> Any:
    repo = tmp / task.instance_id
    if not repo.exists():
        suite.build_repo(task, repo)
    backend = suite.backend(task, default)
    return suite.grade(task, patch, backend, repo, allow_empty=True, timeout_s=300)


def test_every_language_is_loaded_in_dgms_layout(suite: Polyglot, tmp_path: Path) -> None:
    tasks = {t.instance_id: t for t in suite.tasks()}
    assert len(tasks) == 18
    shown: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        task = tasks[f"polyglot__{lang}-twice"]
        repo = tmp_path / lang
        suite.build_repo(task, repo)
        ls = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True)
        shown[lang] = ls.stdout.split()
    # DGM's base commit: the solution files, .docs, the build's files; never the tests
    assert shown["go"] == [".docs/instructions.md", "twice.go"]
    assert shown["rust"] == [".docs/instructions.md", "Cargo.toml", "src/lib.rs"]
    assert shown["javascript"] == [
        ".docs/instructions.md",
        ".eslintrc",
        ".npmrc",
        "package.json",
        "twice.js",
    ]
    assert shown["cpp"] == [
        ".docs/instructions.md",
        "CMakeLists.txt",
        "test/check.h",
        "test/main.cpp",
        "twice.cpp",
        "twice.h",
    ]
    assert shown["python"] == [".docs/instructions.md", "twice.py"]
    assert shown["java"] == [
        ".docs/instructions.md",
        "build.gradle",
        "gradle/wrapper/gradle-wrapper.properties",
        "gradlew",
        "src/main/java/Twice.java",
    ]
    java_task = tasks["polyglot__java-twice"]
    assert java_task.FAIL_TO_PASS == [polyglot.EXIT_TEST]
    assert "src/test/java/TwiceTest.java" in java_task.test_patch
    assert "b/src/main/java/Twice.java" in java_task.patch, "the reference replaces the stub"
    cmake = (tmp_path / "cpp" / "CMakeLists.txt").read_text()
    assert cmake.startswith('set(exercise "twice")\n'), "DGM names the exercise"
    go_task = tasks["polyglot__go-twice"]
    assert go_task.FAIL_TO_PASS == [polyglot.EXIT_TEST]
    assert "go.mod" in go_task.test_patch and "twice_test.go" in go_task.test_patch
    assert ".meta/" not in go_task.test_patch


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_reference_passes_and_the_stub_fails(
    suite: Polyglot, docker_backend: Any, lang: str, tmp_path: Path
) -> None:
    for name in CASES:
        (task,) = [t for t in suite.tasks() if t.instance_id == f"polyglot__{lang}-{name}"]
        gold = grade(suite, task, task.patch, docker_backend, tmp_path)
        assert gold.resolved, f"{task.instance_id}: the reference fails:\n{gold.log[-3000:]}"
        stub = grade(suite, task, "", docker_backend, tmp_path)
        assert stub.patch_applied and not stub.resolved, f"{task.instance_id}: the stub passes"


def test_only_the_solution_files_of_a_patch_count(
    suite: Polyglot, docker_backend: Any, tmp_path: Path
) -> None:
    """DGM restores everything but the solution files before the tests: a patch that
    rewrites the test to pass does not resolve the task (harness.py:154-161)."""
    (task,) = [t for t in suite.tasks() if t.instance_id == "polyglot__go-square"]
    cheat = polyglot.file_diff("go.mod", None, "module square\n\ngo 1.18\n")
    cheat += polyglot.file_diff(
        "square_test.go",
        None,
        'package square\n\nimport "testing"\n\nfunc TestNothing(t *testing.T) {}\n',
    )
    assert polyglot.solution_only(cheat, ["square.go"]) == ""
    result = grade(suite, task, cheat, docker_backend, tmp_path)
    assert not result.resolved
    assert polyglot.solution_only(task.patch + cheat, ["square.go"]) == task.patch
