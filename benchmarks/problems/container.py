"""Container evaluators, in SkyDiscover's layout, read as it is:

    PROBLEM/
      initial_program.py        the seed (any suffix; EVOLVE-BLOCK markers as OpenEvolve's)
      config.yaml               optional: evaluator.timeout, as SkyDiscover's and OpenEvolve's
      evaluator/                the image's build context (or PROBLEM itself holds these two)
        Dockerfile              builds the evaluator's image (data, packages, scorer)
        evaluate.sh             /benchmark/evaluate.sh MODE PROGRAM_PATH -> one JSON object

evaluate.sh prints `{"status": "success"|"error"|"timeout", "combined_score": float,
"metrics": {name: float}, "artifacts": {name: str}}` on stdout; exit code 1 means the
evaluator itself crashed. MODE is `train` (`test` for held-out scoring).

The image is built once from the folder and cached by a hash of its files
(`dgm-evaluator:<hash12>`): an unchanged folder is never rebuilt. Each candidate is then
scored in a fresh container of it with the sandbox's run-time hardening, the same as for
every sandbox (sandbox/docker_backend.py): the sandbox user (not root), no network, every
capability dropped, memory/pids/CPU caps and a deadline that kills. The build, not the
evaluation, has the network (as the problem layer's build has).

A Harbor task folder (task.toml, environment/Dockerfile, tests/test.sh, solution/) is a
container evaluator too, read by benchmarks/problems/harbor.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from benchmarks.problems import harbor
from benchmarks.problems.openevolve import folder_problem
from benchmarks.problems.problem import TASK, Problem, ProblemError
from sandbox.folders import Folder, FolderError, FolderLimits

# A build context may carry the evaluator's data (test sets, weights): more than an agent
# or a problem's code may hold, still bounded so a wrong folder is refused, not hashed.
CONTEXT_LIMITS = FolderLimits(max_files=50_000, max_file_bytes=4 << 30, max_total_bytes=16 << 30)
REPOSITORY = "dgm-evaluator"
SCRIPT = "evaluate.sh"
ENTRY = "/benchmark/evaluate.sh"  # where SkyDiscover's Dockerfiles put it (WORKDIR /benchmark)


def context_of(path: Path) -> Path | None:
    """The evaluator's build context in a problem folder: `evaluator/`, or the folder."""
    for ctx in (path / "evaluator", path):
        if (ctx / "Dockerfile").is_file() and (ctx / SCRIPT).is_file():
            return ctx
    return None


def is_container(path: Path) -> bool:
    return harbor.is_harbor(path) or (
        context_of(path) is not None and any(path.glob("initial_program.*"))
    )


def load_container(path: Path) -> Problem:
    if harbor.is_harbor(path):
        problem = harbor.load_harbor(path)
        if problem.image_context and problem.image_context.is_dir():
            context_files(problem.image_context)  # links refused before anything is read
        return problem
    path = path.resolve()
    context = context_of(path)
    seeds = sorted(p for p in path.glob("initial_program.*") if p.is_file())
    if context is None or not seeds:
        raise ProblemError(
            f"{path}: a container evaluator needs initial_program.* and a Dockerfile with "
            f"{SCRIPT} (in evaluator/ or beside it)"
        )
    context_files(context)  # a link in the build context is refused before anything is read
    program = f"program/program{seeds[0].suffix}"
    return folder_problem(
        path,
        "container",
        {},  # the evaluator is in the image
        {program: seeds[0].read_text(encoding="utf-8")},
        [ENTRY, "train", f"{TASK}/{program}"],
        "/benchmark",
        "container_json",
        image_context=context,
    )


def context_hash(context: Path) -> str:
    """A hash of every file of the build context (relative path and bytes): the image's
    tag changes exactly when one of them does."""
    h = hashlib.sha256(b"dgm-evaluator-1\0")
    for rel, f in sorted(context_files(context).items()):
        h.update(rel.encode() + b"\0")
        with f.open("rb") as data:  # a data file may be large: never whole in memory
            for block in iter(lambda: data.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:12]


def context_files(context: Path) -> dict[str, Path]:
    """Every file of the build context (all of it goes to the engine), links refused."""
    try:
        return Folder(context, "evaluator build context", limits=CONTEXT_LIMITS).files()
    except FolderError as e:
        raise ProblemError(str(e)) from None


def evaluator_image(problem: Problem, step: Callable[[str], None] = lambda _m: None) -> str:
    """The problem's evaluator image, built from its Dockerfile once (reused after)."""
    from sandbox import image
    from sandbox.docker_backend import connect

    assert problem.image_context is not None
    if harbor.is_harbor(problem.root):
        dockerfile = (problem.image_context / "Dockerfile").is_file()
        return harbor.task_image(
            problem, context_hash(problem.image_context) if dockerfile else None, step
        )
    key = context_hash(problem.image_context)
    tag = f"{REPOSITORY}:{key}"
    client = connect()
    if not image.image_exists(client, tag):
        step(f"building the evaluator image {tag} from {problem.image_context}")
        # the build's own lines are not shown: a failure is its last error, in one line
        image.build_dockerfile(client, problem.image_context, tag, {"dgm.evaluator": key})
    return tag
