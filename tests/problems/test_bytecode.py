"""The bytecode the host ships with a problem's Python files (benchmarks/problems/evaluate.py
`bytecode`): CPython's own loader takes it instead of compiling, and only while the source
is the one it was made from."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

from benchmarks.problems.evaluate import bytecode

SOURCE = b"def f():\n    return 41 + 1\n"


def load(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """f() of folder/problem/mod.py loaded as run_evaluate loads an evaluator, and how many
    times the loader compiled source for it."""
    compiled = []
    original = importlib.machinery.SourceFileLoader.source_to_code

    def counting(self: object, data: bytes, path: str, *, _optimize: int = -1) -> object:
        compiled.append(path)
        return original(self, data, path, _optimize=_optimize)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", counting)
    spec = importlib.util.spec_from_file_location("mod", folder / "problem" / "mod.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f(), len(compiled)


def put(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def test_the_loader_takes_the_shipped_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"problem/mod.py": SOURCE}
    caches = bytecode(files)
    assert list(caches) == [f"problem/__pycache__/mod.{sys.implementation.cache_tag}.pyc"]
    put(tmp_path, {**files, **caches})
    assert load(tmp_path, monkeypatch) == (42, 0)


def test_a_changed_source_is_compiled_not_run_from_the_old_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caches = bytecode({"problem/mod.py": SOURCE})
    put(tmp_path, {"problem/mod.py": SOURCE.replace(b"41", b"1"), **caches})
    assert load(tmp_path, monkeypatch) == (2, 1)


def test_only_python_files_that_compile_get_bytecode() -> None:
    files = {"problem/data.txt": b"x", "problem/bad.py": b"def (", "problem/a.b.py": b"x = 1\n"}
    assert bytecode(files) == {}
