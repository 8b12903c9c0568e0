"""Every hypothesis test runs under the shared settings (tests/properties/settings.py): on a
loaded machine (`-n 2` beside other work) hypothesis's own timing checks, "input
generation is slow" and the per-example deadline, fail tests whose property holds."""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck

TESTS = Path(__file__).resolve().parents[1]


def hypothesis_tests_in(scope: types.ModuleType | type, name: str) -> Iterator[tuple[str, object]]:
    """The hypothesis tests of a module or class, those of the classes in it included
    (pytest collects methods of test classes, nested ones too)."""
    inside = "" if isinstance(scope, types.ModuleType) else scope.__qualname__ + "."
    for attr, value in vars(scope).items():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if getattr(value, "is_hypothesis_test", False):
            yield f"{name}.{attr}", value
        elif isinstance(value, type) and value.__qualname__ == inside + attr:  # defined here
            yield from hypothesis_tests_in(value, f"{name}.{attr}")


def hypothesis_tests() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        if "hypothesis" not in path.read_text(encoding="utf-8"):
            continue
        name = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        found += hypothesis_tests_in(importlib.import_module(name), name)
    return found


def timed(tests: list[tuple[str, object]]) -> list[str]:
    """The names of the tests that hypothesis's timing checks can fail."""
    return [
        name
        for name, fn in tests
        if HealthCheck.too_slow
        not in (s := fn._hypothesis_internal_use_settings).suppress_health_check  # type: ignore[attr-defined]
        or s.deadline is not None
    ]


def test_every_hypothesis_test_ignores_the_machines_speed() -> None:
    """Where CI is set, hypothesis's own `ci` profile lifts its timing checks for every test
    and this holds whatever the tests say; it is a developer's run it guards."""
    tests = hypothesis_tests()
    assert len(tests) >= 20, tests  # the suite's property tests were found
    assert timed(tests) == []


SAMPLE = """
from hypothesis import given, settings, strategies as st
from tests.properties.settings import FEW

TIMED = settings(deadline=200)  # timed in any profile (CI's turns the default's checks off)


@FEW
@given(st.integers())
def test_module_level(x): pass


class TestOuter:
    @TIMED
    @given(st.integers())
    def test_method(self, x): pass

    @FEW
    @given(st.integers())
    def test_method_with_few(self, x): pass

    @staticmethod
    @TIMED
    @given(st.integers())
    def test_static(x): pass

    class TestInner:
        @TIMED
        @given(st.integers())
        def test_nested(self, x): pass
"""


def test_methods_of_test_classes_are_checked_too() -> None:
    module = types.ModuleType("sample_tests")
    exec(compile(SAMPLE, "sample_tests.py", "exec"), module.__dict__)  # noqa: S102 - our own text
    tests = list(hypothesis_tests_in(module, "sample"))
    assert sorted(n for n, _ in tests) == [
        "sample.TestOuter.TestInner.test_nested",
        "sample.TestOuter.test_method",
        "sample.TestOuter.test_method_with_few",
        "sample.TestOuter.test_static",
        "sample.test_module_level",
    ]
    assert sorted(timed(tests)) == [
        "sample.TestOuter.TestInner.test_nested",
        "sample.TestOuter.test_method",
        "sample.TestOuter.test_static",
    ]
