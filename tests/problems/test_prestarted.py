"""The pre-started interpreter (sandbox/zygote.py) in an OpenEvolve problem's sandboxes: an
evaluation forks from it (numpy already imported), and a candidate that pollutes its own
interpreter, leaves files, threads and processes, or attacks the pre-started parent cannot
change the next candidate's score."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.problems import Evaluator, Problem, load, open_problem_backend
from benchmarks.problems.openevolve import preload_modules, reached
from sandbox import SandboxBackend, open_backend

pytestmark = pytest.mark.docker

# Reports what the evaluation's interpreter held before the evaluator imported anything,
# and everything a previous candidate could have left for this one.
EVALUATOR = """
import os, sys
PRELOADED = "numpy" in sys.modules
# loaded by numpy and concurrent.futures on first access, which the zygote made
LAZY = "numpy.random" in sys.modules and "concurrent.futures.thread" in sys.modules
import concurrent.futures, importlib.util, random, resource, threading
import numpy as np


def cache_valid():  # the host's bytecode of this file is there, and this interpreter's
    with open(__cached__, "rb") as cache, open(__file__, "rb") as source:
        head = cache.read(16)
        return float(
            head[:4] == importlib.util.MAGIC_NUMBER
            and head[8:] == importlib.util.source_hash(source.read())
        )


def pooled():  # the pool's worker has ended when this returns (threads are counted)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return float(pool.submit(int, 1).result())


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    program.run()
    return {
        "combined_score": float(np.sum(np.arange(4))) + float(np.random.rand() < 2),
        "preloaded": float(PRELOADED),
        "lazy_preloaded": float(LAZY),
        "pool": pooled(),
        "cache_valid": cache_valid(),
        "numpy_draw": float(np.random.rand()),
        "python_draw": random.random(),
        "parent": float(os.getppid()),
        "clean_tmp": float(not os.listdir("/tmp")),
        "threads": float(threading.active_count()),
        "nofile": float(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
        "nice": float(os.getpriority(os.PRIO_PROCESS, 0)),
        "cpus": float(len(os.sched_getaffinity(0))),
        "others": float(len([p for p in os.listdir("/proc") if p.isdigit()])),
    }
"""
CLEAN = "def run():\n    return 1\n"
# Pollutes its own interpreter and container, and attacks the pre-started parent.
POLLUTER = r"""
import ctypes, os, resource, signal, subprocess, threading, time
import numpy as np

np.sum = lambda *a, **k: 1000.0
np.random.rand = lambda *a: 5.0
open("/tmp/left-behind", "w").write("x")
threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
if os.fork() == 0:
    os.setsid()
    time.sleep(300)
    os._exit(0)
parent = os.getppid()
for attack in (
    lambda: resource.prlimit(parent, resource.RLIMIT_NOFILE, (64, 64)),
    lambda: os.setpriority(os.PRIO_PROCESS, parent, 19),
    lambda: os.sched_setaffinity(parent, {min(os.sched_getaffinity(0))}),
    lambda: open(f"/proc/{parent}/mem", "wb"),
    lambda: ctypes.CDLL(None).ptrace(16, parent, 0, 0) == 0 or 1 / 0,  # PTRACE_ATTACH
    lambda: os.kill(parent, signal.SIGTERM),
    lambda: os.kill(parent, signal.SIGSTOP),
):
    try:
        attack()
    except (OSError, ZeroDivisionError):
        pass


def run():
    return 1
"""
PROGRAM = "program/program.py"


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    root = tmp_path_factory.mktemp("prestarted") / "polluted"
    root.mkdir()
    (root / "initial_program.py").write_text(CLEAN)
    (root / "evaluator.py").write_text(EVALUATOR)
    (root / "requirements.txt").write_text("numpy==2.4.6\n")
    return load(root)


@pytest.fixture(scope="module")
def backend(problem: Problem) -> Iterator[SandboxBackend]:
    # one container, recycled: every evaluation after the first gets the same one back
    with open_problem_backend(problem, pool_size=1, run_label="test-prestarted") as b:
        yield b


def metrics(ev: Evaluator, program: str = CLEAN) -> dict[str, float]:
    result = ev.evaluate({PROGRAM: program})
    assert result.ok, result.failure
    return result.metrics


def test_the_evaluator_imports_numpy_from_the_prestarted_interpreter(
    problem: Problem, backend: SandboxBackend
) -> None:
    assert "numpy" in preload_modules(problem)
    first = metrics(Evaluator(problem, backend))
    second = metrics(Evaluator(problem, backend))
    assert first["preloaded"] == second["preloaded"] == 1.0
    assert first["lazy_preloaded"] == second["lazy_preloaded"] == 1.0
    assert first["cache_valid"] == 1.0  # the evaluator is not compiled in every child
    # each child draws its own numbers, though the generators were made before the fork
    assert first["numpy_draw"] != second["numpy_draw"]
    assert first["python_draw"] != second["python_draw"]
    assert first["parent"] != 1.0  # forked by the pre-started interpreter, not the runner
    assert second["parent"] == first["parent"]  # the same one, kept across sandboxes


def test_without_preload_the_evaluation_starts_a_new_interpreter(problem: Problem) -> None:
    from benchmarks.problems import problem_image

    with open_backend("docker", image=problem_image(problem), pool_size=1) as plain:
        seen = metrics(Evaluator(problem, plain))
    assert seen["preloaded"] == 0.0 and seen["parent"] == 1.0
    assert seen["lazy_preloaded"] == 0.0


def test_preload_lists_what_the_evaluator_reaches_through_its_packages(
    problem: Problem,
) -> None:
    names = preload_modules(problem)
    assert {"numpy.random.rand", "concurrent.futures.ThreadPoolExecutor"} <= set(names)
    assert {"base64", "dataclasses"} <= set(names)  # the harness's and the shim's imports
    assert not [n for n in names if n.split(".")[0] in ("openevolve", "evaluator")]


def test_a_name_that_is_not_there_leaves_the_rest_preloaded(problem: Problem) -> None:
    from benchmarks.problems import problem_image
    from sandbox.docker_backend import DockerBackend

    preload = ("numpy.no_such_name", "numpy.random", "concurrent.futures.ThreadPoolExecutor")
    image = problem_image(problem)
    with DockerBackend(image=image, pool_size=1, unprivileged=True, preload=preload) as b:
        seen = metrics(Evaluator(problem, b))
    assert seen["parent"] != 1.0 and seen["lazy_preloaded"] == 1.0


def test_the_scan_follows_import_aliases_never_relative_imports() -> None:
    source = (
        "import numpy as np\nimport concurrent.futures\nfrom scipy import optimize as o\n"
        "from . import helper\nnp.random.default_rng().random()\n"
        "concurrent.futures.ThreadPoolExecutor\no.minimize\nhelper.run\nx.y.z\n"
    )
    assert reached(source) == {
        "numpy",
        "numpy.random.default_rng",
        "numpy.random",
        "concurrent.futures",
        "concurrent.futures.ThreadPoolExecutor",
        "scipy",
        "scipy.optimize.minimize",
    }
    assert reached("import a\na.b.c.d.e.f") == {"a", "a.b", "a.b.c", "a.b.c.d"}  # 3 deep
    assert reached("not python (") == set()


def test_a_polluting_candidate_cannot_change_the_next_ones_score(
    problem: Problem, backend: SandboxBackend
) -> None:
    ev = Evaluator(problem, backend)
    before = metrics(ev)
    polluted = metrics(ev, POLLUTER)
    assert polluted["combined_score"] == 1000.0  # it did pollute its own evaluation
    after = metrics(ev)
    assert after["preloaded"] == 1.0  # the next one still forks from a pre-started parent
    for key in ("combined_score", "clean_tmp", "threads", "nofile", "nice", "cpus", "others"):
        assert after[key] == before[key], key
    assert after["combined_score"] == 7.0
