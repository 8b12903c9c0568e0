"""Problems: an initial program and an evaluator that scores candidates in the sandbox.

    from benchmarks.problems import load, Evaluator, open_problem_backend
    problem = load("tsp")                       # or a path in dgm's, ReEvo's or OpenEvolve's layout
    with open_problem_backend(problem) as backend:
        print(Evaluator(problem, backend).evaluate().score)

Uses sandbox/, never dgm/.
"""

from benchmarks.problems.evaluate import Evaluator, open_problem_backend, problem_image
from benchmarks.problems.layouts import load
from benchmarks.problems.problem import SHIPPED, Problem, ProblemError
from benchmarks.problems.result import Direction, Evaluation

__all__ = [
    "SHIPPED",
    "Direction",
    "Evaluation",
    "Evaluator",
    "Problem",
    "ProblemError",
    "load",
    "open_problem_backend",
    "problem_image",
]
