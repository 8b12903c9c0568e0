"""Problems scored in real Docker sandboxes (one backend per image, for the session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from benchmarks.problems import Evaluation, Evaluator, Problem, problem_image
from sandbox import SandboxBackend, open_backend

Score = Callable[..., Evaluation]


@pytest.fixture(scope="session")
def backends() -> Iterator[dict[str, SandboxBackend]]:
    opened: dict[str, SandboxBackend] = {}
    yield opened
    for backend in opened.values():
        backend.close()


@pytest.fixture
def score(backends: dict[str, SandboxBackend]) -> Score:
    """score(problem, program=None) -> Evaluation, in a Docker sandbox of the problem's image."""

    def run(problem: Problem, program: dict[str, str] | None = None) -> Evaluation:
        image = problem_image(problem)
        if image not in backends:
            backends[image] = open_backend(
                "docker", image=image, run_label="test-problems", pool_size=2
            )
        return Evaluator(problem, backends[image]).evaluate(program)

    return run
