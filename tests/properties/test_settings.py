"""Every hypothesis test runs under the shared settings (tests/properties/settings.py): on a
loaded machine (`-n 2` beside other work) hypothesis's own timing checks, "input
generation is slow" and the per-example deadline, fail tests whose property holds."""

from __future__ import annotations

import importlib
from pathlib import Path

from hypothesis import HealthCheck

TESTS = Path(__file__).resolve().parents[1]


def hypothesis_tests() -> list[tuple[str, object]]:
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        if "@given" not in path.read_text(encoding="utf-8"):
            continue
        name = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        module = importlib.import_module(name)
        found += [
            (f"{name}.{attr}", fn)
            for attr, fn in vars(module).items()
            if getattr(fn, "is_hypothesis_test", False)
        ]
    return found


def test_every_hypothesis_test_ignores_the_machines_speed() -> None:
    tests = hypothesis_tests()
    assert len(tests) >= 20, tests  # the suite's property tests were found
    timed = [
        name
        for name, fn in tests
        if HealthCheck.too_slow
        not in (s := fn._hypothesis_internal_use_settings).suppress_health_check  # type: ignore[attr-defined]
        or s.deadline is not None
    ]
    assert timed == []
