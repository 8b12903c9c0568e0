"""Tests say what they need: one that uses a component's fixture without the component's
marker fails before it runs, and deselecting the marker (as `scripts/test.sh --fast` does)
deselects every test that carries it."""

from __future__ import annotations

import pytest

from tests.conftest import COMPONENT_MARKERS, FAST_DESELECT, FIXTURE_MARKERS, unmarked

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from tests.conftest import pytest_collection_modifyitems, pytest_runtest_setup

@pytest.fixture
def docker_backend():
    return "a backend"

@pytest.fixture
def score(docker_backend):  # built on a component's fixture: needs it too
    return docker_backend
"""

TESTS = """
import pytest

def test_unmarked(score):
    assert score

@pytest.mark.docker
def test_marked(score):
    assert score

def test_needs_nothing():
    pass

@pytest.mark.parametrize("backend", ["docker", pytest.param("local", marks=pytest.mark.bwrap)])
def test_backends(backend):
    pass
"""


def test_unmarked_names_each_component_fixture_whose_marker_is_missing() -> None:
    assert unmarked({"tmp_path", "docker_backend", "browser"}, {}, {"docker"}) == [
        "browser (chromium)"
    ]
    assert unmarked({"tmp_path"}, {"backend": "local"}, set()) == ["backend=local (bwrap)"]
    assert unmarked({"postgres_url", "ray_cluster"}, {}, {"postgres", "ray"}) == []
    assert set(FIXTURE_MARKERS.values()) <= set(COMPONENT_MARKERS)


def test_a_test_without_its_marker_fails_and_fast_deselects_the_marked(
    pytester: pytest.Pytester,
) -> None:
    markers = "".join(f"    {m}: a component\n" for m in COMPONENT_MARKERS)
    pytester.makeini(f"[pytest]\nmarkers =\n{markers}")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it=TESTS)
    everything = pytester.runpytest("-p", "no:cacheprovider")
    everything.assert_outcomes(passed=3, errors=2)  # failed in set-up
    everything.stdout.fnmatch_lines(
        [
            "*test_unmarked uses docker_backend (docker) without the marker*",
            "*test_backends?docker? uses backend=docker (docker) without the marker*",
        ]
    )
    fast = pytester.runpytest("-p", "no:cacheprovider", "-m", FAST_DESELECT)
    fast.assert_outcomes(passed=1, errors=2, deselected=2)  # only the unmarked ones are left
