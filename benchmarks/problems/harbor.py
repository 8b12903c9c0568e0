"""Harbor tasks read as container-evaluator problems, in Harbor's own layout:

    TASK/
      task.toml            [agent] / [verifier] timeout_sec and env, [environment] memory_mb
      instruction.md       what to do (the problem's description)
      environment/         the image's build context: its Dockerfile (WORKDIR: where it runs),
                           or task.toml's [environment] docker_image (present locally)
      tests/test.sh        the verifier: writes /logs/verifier/reward.txt (a number) or
                           reward.json (an object of numbers, `reward` the score)
      solution/solve.sh    the reference solution: the seed (a stub when there is none)

The candidate is the solution folder: its files are evolved, as Harbor's oracle runs one:
copied to /solution and run with `bash /solution/solve.sh` in the environment's WORKDIR,
then `bash /tests/test.sh`, and the reward is the score (higher is better).

Harbor runs both as root; dgm runs every candidate as the sandbox user (uid 1000) with the
run-time hardening of every sandbox (no network, capabilities dropped, memory/pids/CPU
caps, a deadline). The paths Harbor writes sit on the image's root-owned filesystem, so a
layer over the environment's image makes them the sandbox user's: /solution,
/logs/{agent,verifier,artifacts} and the WORKDIR (chown -R). /logs and /tests stay root's:
the tests are baked in read-only, and the runner (harbor_evaluate.sh) empties
/logs/verifier between the two steps, so a reward is the verifier's. The layer is built
once, tagged by a hash of what goes into it (`dgm-harbor:<hash12>`).
"""

from __future__ import annotations

import hashlib
import re
import shlex
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmarks.problems.problem import Problem, ProblemError, checked_timeout
from sandbox.folders import Folder, FolderError, read_file, utf8_text
from sandbox.protocol import MAX_SECONDS, SANDBOX_UID, MemoryMb

REPOSITORY = "dgm-harbor"
RECIPE = "dgm-harbor-layer-1"  # bump when the layer's build steps change meaning
RUNNER = Path(__file__).with_name("harbor_evaluate.sh")
RUNNER_DIR = "/dgm-harbor"
PRIMARY = "reward"
MARGIN_S = 15.0  # the sandbox's deadline past the two steps' own: copying, reading the reward
STUB = "#!/bin/bash\n# The commands that do what instruction.md asks.\n"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Timed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout_sec: float = 600.0
    env: dict[str, str] = Field(default_factory=dict)


class Environment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    memory_mb: MemoryMb = 2048
    docker_image: str | None = None


class TaskToml(BaseModel):
    """The parts of Harbor's task.toml dgm reads (the rest, metadata included, is Harbor's)."""

    model_config = ConfigDict(extra="ignore")

    agent: Timed = Field(default_factory=Timed)
    verifier: Timed = Field(default_factory=Timed)
    solution: Timed = Field(default_factory=Timed)
    environment: Environment = Field(default_factory=Environment)


def is_harbor(path: Path) -> bool:
    return (path / "task.toml").is_file() and (path / "tests" / "test.sh").is_file()


def task_toml(path: Path) -> TaskToml:
    where = path / "task.toml"
    try:
        config = TaskToml.model_validate(tomllib.loads(where.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as e:
        raise ProblemError(f"{where} is not TOML: {e}") from None
    except ValidationError as e:
        first = e.errors()[0]
        at = ".".join(str(part) for part in first["loc"])
        raise ProblemError(f"{where}: {at}: {first['msg']}") from None
    for section, timed in (("solution", config.solution), ("verifier", config.verifier)):
        for name, value in timed.env.items():
            if not ENV_NAME.fullmatch(name):
                raise ProblemError(f"{where}: {section}.env: {name!r} is not a variable name")
            if "${" in value:  # Harbor fills it from the host's environment
                raise ProblemError(
                    f"{where}: {section}.env.{name} takes its value from the host's "
                    "environment: dgm puts nothing of the host's environment in a sandbox; "
                    "give the value itself or drop it"
                )
    return config


def load_harbor(path: Path) -> Problem:
    path = path.resolve()
    config = task_toml(path)
    if not config.environment.docker_image and not (path / "environment" / "Dockerfile").is_file():
        raise ProblemError(
            f"{path}: a Harbor task needs environment/Dockerfile or task.toml's "
            "environment.docker_image"
        )
    tests_files(path)  # a link among the tests is refused now, not at the image's build
    agent_s = checked_timeout(config.agent.timeout_sec, f"{path / 'task.toml'} agent.timeout_sec")
    verifier_s = checked_timeout(
        config.verifier.timeout_sec, f"{path / 'task.toml'} verifier.timeout_sec"
    )
    instruction = path / "instruction.md"
    return Problem(
        name=path.name,
        layout="container",
        root=path,
        description=instruction.read_text(encoding="utf-8")[:8000] if instruction.is_file() else "",
        direction="max",
        files={},  # the environment and the tests are in the image
        program=solution_files(path),
        command=["bash", f"{RUNNER_DIR}/evaluate.sh", f"{agent_s:g}", f"{verifier_s:g}"],
        workdir="/",  # the runner runs both steps in the image's WORKDIR
        reader="container_json",
        primary=PRIMARY,
        timeout_s=min(agent_s + verifier_s + MARGIN_S, MAX_SECONDS),
        memory_mb=config.environment.memory_mb,
        image_context=path / "environment",
    )


def solution_files(path: Path) -> dict[str, str]:
    """The seed: solution/'s files, solve.sh first, under /task/solution/ (a stub solve.sh
    when the task has no solution)."""
    folder = path / "solution"
    if not folder.is_dir():
        return {"solution/solve.sh": STUB}
    try:
        files = Folder(folder, "Harbor solution folder").files()
        texts = {rel: read_file(f, "Harbor solution folder") for rel, f in files.items()}
    except FolderError as e:
        raise ProblemError(str(e)) from None
    out: dict[str, str] = {}
    for rel in sorted(texts, key=lambda r: (r != "solve.sh", r)):
        out[f"solution/{rel}"] = utf8_text(
            texts[rel], str(folder / rel), ProblemError, "a candidate's files are text an LLM edits"
        )
    if "solution/solve.sh" not in out:
        raise ProblemError(f"{folder} has no solve.sh: Harbor runs `bash /solution/solve.sh`")
    return out


def layer_files(
    path: Path, environment: str, environment_id: str, workdir: str
) -> dict[str, bytes]:
    """The build context of the layer over the environment's image (file name -> bytes);
    the image's ID is in it, so the layer's tag changes with the image's content."""
    config = task_toml(path)
    chown = "" if workdir in ("", "/") else f" && chown -R {SANDBOX_UID}:{SANDBOX_UID} {workdir}"
    uid = f"{SANDBOX_UID}:{SANDBOX_UID}"
    dockerfile = (
        f"FROM {environment}\n"
        # `dgm.inputs=`: a foreign image to the sandbox (its root writable), whatever its base
        f"LABEL dgm.harbor.environment={environment_id} dgm.inputs=\n"
        "USER root\n"
        "RUN mkdir -p /solution /logs/agent /logs/verifier /logs/artifacts && "
        f"chown {uid} /solution /logs/agent /logs/verifier /logs/artifacts{chown}\n"
        "COPY tests/ /tests/\n"
        f"COPY dgm-harbor/ {RUNNER_DIR}/\n"
    )
    files = {
        "Dockerfile": dockerfile.encode(),
        "dgm-harbor/evaluate.sh": RUNNER.read_bytes(),
        "dgm-harbor/solution.env": exports(config.solution.env),
        "dgm-harbor/verifier.env": exports(config.verifier.env),
        "dgm-harbor/workdir": (workdir or "/").encode(),
    }
    for rel, f in tests_files(path).items():
        files[f"tests/{rel}"] = read_file(f, "Harbor tests folder")
    return files


def tests_files(path: Path) -> dict[str, Path]:
    try:
        return Folder(path / "tests", "Harbor tests folder").files()
    except FolderError as e:
        raise ProblemError(str(e)) from None


def exports(env: dict[str, str]) -> bytes:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items())).encode()


def files_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256(f"{RECIPE}\0".encode())
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel] + b"\0")
    return h.hexdigest()[:12]


def task_image(problem: Problem, environment_key: str | None, step: Callable[[str], None]) -> str:
    """The image a Harbor task's candidates run in: the environment's image (task.toml's
    docker_image, present locally, or built from environment/Dockerfile once, keyed by its
    files: `environment_key`), and over it the layer of writable paths, tests and runner
    (built once, keyed by its files and the environment image's ID)."""
    from sandbox import image
    from sandbox.docker_backend import connect

    assert problem.image_context is not None
    client = connect()
    given = task_toml(problem.root).environment.docker_image
    environment = given or f"{REPOSITORY}-environment:{environment_key}"
    if given and not image.image_exists(client, given):
        raise ProblemError(
            f"{problem.root / 'task.toml'}: environment.docker_image {given} is not present "
            f"locally: `docker pull {given}` (or build it), then retry"
        )
    if not image.image_exists(client, environment):
        step(f"building the Harbor environment {environment} from {problem.image_context}")
        image.build_dockerfile(
            client, problem.image_context, environment, {"dgm.harbor.environment": environment}
        )
    inspected = client.api.inspect_image(environment)
    workdir = (inspected.get("Config") or {}).get("WorkingDir") or "/"
    files = layer_files(problem.root, environment, inspected["Id"], workdir)
    tag = f"{REPOSITORY}:{files_hash(files)}"
    if not image.image_exists(client, tag):
        step(f"building the Harbor task's layer {tag} (the sandbox user's writable paths)")
        with tempfile.TemporaryDirectory(prefix="dgm-harbor-") as tmp:
            for rel, data in files.items():
                target = Path(tmp, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            Path(tmp, "dgm-harbor", "evaluate.sh").chmod(0o755)
            image.build_dockerfile(client, Path(tmp), tag, {"dgm.harbor": tag.split(":")[1]})
    return tag
