"""A problem: an initial program and an evaluator that scores a candidate in the sandbox.

Every layout (benchmarks/problems/layouts.py reads them) becomes the same `Problem`:
files to put in the sandbox under /task, the candidate's file(s), a command, and how to
read the score from what the command leaves behind. dgm's own layout, a `problem.yaml`
beside the files (see `ProblemSpec`), is read here (`load_dgm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchmarks.problems.result import Direction
from sandbox.folders import Folder, FolderError, read_file, read_utf8
from sandbox.protocol import MAX_SECONDS, MemoryMb, Seconds

HERE = Path(__file__).resolve().parent
SHIPPED_DIR = HERE / "shipped"
SHIPPED = {
    "tsp_constructive": "TSP constructive heuristic: select_next_node, 64 instances of 50 cities",
    "bin_packing_online": "online bin packing: priority(item, bins), Weibull items, excess over the L1 bound",
    "parity_noise": "learning parity with noise (STOP's downstream task): algorithm(...) -> predictions",
    "rastrigin_search": "black-box minimisation: minimize(f, dim, rng) on 5-D Rastrigin, 2000 calls",
}
ALIASES = {
    "tsp": "tsp_constructive",
    "bpp_online": "bin_packing_online",
    "bin_packing": "bin_packing_online",
    "parity": "parity_noise",
    "lpn": "parity_noise",
    "rastrigin": "rastrigin_search",
}
TASK = "/task"  # where a problem's files go in the sandbox
HARNESS = "/task/.dgm"  # the harness and the openevolve shim (on PYTHONPATH)
HARNESS_DIR = Path(__file__).resolve().parent / "harness"  # its source on the host
REPORT_DIR = "/out/.dgm"  # the evaluator's result file and the tripwire's report
Reader = Literal["reevo_stdout", "result_file", "json_line", "container_json"]


class ProblemError(Exception):
    """A problem path or its content is not usable; the message says what to do."""


@dataclass
class Problem:
    """One problem, whatever its layout. Paths in `files`, `program` and `heldout` are
    relative to /task in the sandbox."""

    name: str
    layout: Literal["dgm", "reevo", "openevolve", "container"]
    root: Path
    description: str
    direction: Direction
    files: dict[str, Path]
    """The evaluator's files (code and data) that go in the sandbox, by sandbox path."""
    program: dict[str, str]
    """The candidate's file(s) and their seed source; the first one is the main file."""
    command: list[str]
    workdir: str
    reader: Reader
    primary: str = "score"
    """The metric that is the primary score (result_file and json_line readers)."""
    timeout_s: float = 120.0
    memory_mb: int = 2048
    requirements: list[str] = field(default_factory=list)
    apt: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)
    """Files of the problem never put in the sandbox of a training evaluation."""
    prompts: dict[str, str] = field(default_factory=dict)
    """Texts for the LLM that the layout brings (ReEvo: seed_func, func_signature, ...)."""
    func_name: str = ""
    black_box: bool = False
    """ReEvo's black-box problem: the prompts do not say what the problem is about."""
    image_context: Path | None = None
    """A container evaluator's build context (its Dockerfile): candidates run in its image."""

    @property
    def main_file(self) -> str:
        return next(iter(self.program))

    def seed(self) -> dict[str, str]:
        return dict(self.program)


def checked_timeout(value: object, where: str) -> float:
    """A timeout a layout's own config gives, in seconds: a finite number above 0 and at
    most MAX_SECONDS (.inf or 1e300 would mean no deadline at all), else ProblemError."""
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_SECONDS:  # NaN fails every comparison
        shown = str(value) if str(value).isprintable() else repr(value)  # one line, always
        raise ProblemError(
            f"{where}: timeout {shown:.40} is out of range: give seconds, more than 0 and "
            f"at most {MAX_SECONDS:.0f}"
        )
    return seconds


class EvaluatorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module: str | None = Field(
        default=None,
        description="A Python file with evaluate(program_path) -> dict (or OpenEvolve's EvaluationResult).",
    )
    command: list[str] | None = Field(
        default=None,
        description="A command run in the problem's directory; its last stdout line is the score, or a JSON object of metrics. `{program}` becomes the candidate's path.",
    )

    @model_validator(mode="after")
    def one_of(self) -> EvaluatorSpec:
        if (self.module is None) == (self.command is None):
            raise ValueError("give exactly one of evaluator.module and evaluator.command")
        return self


class ProblemSpec(BaseModel):
    """dgm's problem.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short name of the problem.")
    description: str = Field(default="", description="What the program must do; shown to the LLM.")
    program: list[str] = Field(
        min_length=1,
        description="The initial program's file(s), relative to problem.yaml; the first is the main one. Regions between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers, when present, are the ones to evolve.",
    )
    evaluator: EvaluatorSpec
    score: str = Field(default="score", description="The metric that is the primary score.")
    direction: Direction = Field(description="min or max: which way the primary score is better.")
    timeout_s: Seconds = Field(
        default=120.0,
        description="Deadline of one evaluation (seconds); the sandbox kills it there.",
    )
    memory_mb: MemoryMb = Field(default=2048, description="Memory limit of one evaluation (MiB).")
    requirements: list[str] = Field(
        default_factory=list,
        description="PyPI requirements of the evaluator (a requirements.txt beside problem.yaml adds to them).",
    )
    apt: list[str] = Field(default_factory=list, description="Debian packages the evaluator needs.")
    heldout: list[str] = Field(
        default_factory=list,
        description="Files (relative paths) never put in the sandbox of a training evaluation.",
    )
    func_name: str = Field(
        default="", description="The function the LLM writes, when there is one."
    )


def read_spec(root: Path) -> ProblemSpec:
    try:
        raw = yaml.safe_load((root / "problem.yaml").read_text(encoding="utf-8"))
        return ProblemSpec.model_validate(raw)
    except (yaml.YAMLError, ValidationError, OSError, UnicodeDecodeError) as e:
        first = str(e).replace("\n", " ")[:300]
        raise ProblemError(f"{root / 'problem.yaml'} is not a valid problem: {first}") from None


def load_dgm(root: Path) -> Problem:
    listed = tree(root)  # first: a link (problem.yaml included) is refused before any read
    spec = read_spec(root)
    program: dict[str, str] = {}
    for rel in spec.program:
        if Path(rel).as_posix() not in listed:
            raise ProblemError(f"{root / 'problem.yaml'}: program file {rel} does not exist")
        program[f"problem/{rel}"] = read_utf8(
            listed[Path(rel).as_posix()], ProblemError, "save the program as UTF-8", str(root / rel)
        )
    heldout = {f"problem/{h}" for h in spec.heldout}
    files = {f"problem/{rel}": f for rel, f in listed.items()}
    files = {k: v for k, v in files.items() if k not in program and k not in heldout}
    requirements = spec.requirements + read_requirements(root / "requirements.txt")
    main = f"{TASK}/problem/{spec.program[0]}"
    if spec.evaluator.module:
        if f"problem/{spec.evaluator.module}" not in files:
            raise ProblemError(
                f"{root / 'problem.yaml'}: evaluator module {spec.evaluator.module} does not exist"
            )
        command = [
            "python3",
            f"{HARNESS}/run_evaluate.py",
            f"{TASK}/problem/{spec.evaluator.module}",
            main,
            f"{REPORT_DIR}/result.json",
        ]
        reader: Reader = "result_file"
    else:
        command = [a.replace("{program}", main) for a in spec.evaluator.command or []]
        reader = "json_line"
    return Problem(
        name=spec.name,
        layout="dgm",
        root=root,
        description=spec.description,
        direction=spec.direction,
        files=files,
        program=program,
        command=command,
        workdir=f"{TASK}/problem",
        reader=reader,
        primary=spec.score,
        timeout_s=spec.timeout_s,
        memory_mb=spec.memory_mb,
        requirements=requirements,
        apt=spec.apt,
        heldout=sorted(heldout),
        func_name=spec.func_name,
    )


SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".venv", "node_modules"}


def tree(root: Path) -> dict[str, Path]:
    """Every regular file under `root` by relative path (caches and VCS dirs left out). A
    link is refused, not followed; sandbox.folders caps the count and sizes."""
    try:
        return Folder(
            root, "problem folder", keep=lambda rel: not SKIP_DIRS & set(rel.split("/"))
        ).files()
    except FolderError as e:
        raise ProblemError(str(e)) from None


def read_text(path: Path) -> str:
    """A problem's text file (a config, a prompt), never through a link: its text may reach
    an LLM prompt or a sandbox."""
    try:
        return read_file(path, "problem file").decode(errors="replace")
    except FolderError as e:
        raise ProblemError(str(e)) from None


def read_requirements(path: Path) -> list[str]:
    return parse_requirements(path.read_text()) if path.is_file() else []


def parse_requirements(text: str) -> list[str]:
    """The requirement lines of a requirements.txt: comments and pip options left out."""
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("-")]
