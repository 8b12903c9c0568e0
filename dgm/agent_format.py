"""DGM's agent format: a folder with `coding_agent.py` (and its `requirements.txt`), run
unchanged, beside dgm's own contract (dgm/agent_contract.py, which launches either).

    python coding_agent.py --problem_statement TEXT --git_dir /testbed/ --base_commit SHA \\
        --chat_history_file /out/chat_history.md --outdir /out/ [--self_improve]

A folder is in DGM's format when it has no `__main__.py` and its `coding_agent.py` names
those five options (DGM's harness, swe_bench/harness.py, passes them). Such an agent
calls its LLM with the Anthropic or OpenAI SDK, so in its sandbox it finds, on loopback
(sandbox/loopback.py pipes a port to the gateway's socket):

    OPENAI_BASE_URL=http://127.0.0.1:PORT/sdk/v1   ANTHROPIC_BASE_URL=http://127.0.0.1:PORT/sdk
    ANTHROPIC_BEDROCK_BASE_URL=http://127.0.0.1:PORT/sdk

and its session's token where the SDKs look for keys (OPENAI_API_KEY, ANTHROPIC_API_KEY,
AWS_ACCESS_KEY_ID): no key enters, and the gateway's budgets and records hold as for any
call (dgm/llm/dialects.py translates). The model names its code writes are mapped to the
run's model by `agent_format.models` (DEFAULT_MODELS: the names DGM's initial agent uses).
Its `requirements.txt` is installed, wheels only, into a cached layer of the sandbox image
(sandbox/image.py's `build_layer`, as a problem's packages are), or of a SWE-bench
instance image, there into a venv of its own (VENV) so the instance's Python is untouched;
the sandboxes made from it are hardened like any other.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

import sandbox
from benchmarks.problems.problem import parse_requirements
from sandbox import SandboxBackend, SandboxError

Kind = Literal["native", "dgm"]
FORMATS = ("auto", "native", "dgm")

ENTRY = "coding_agent.py"
OPTIONS = ("--problem_statement", "--git_dir", "--base_commit", "--chat_history_file", "--outdir")
CHAT_HISTORY = "/out/chat_history.md"
DEFAULT_MODELS = {
    # llm_withtools.py's CLAUDE_MODEL as its Bedrock client sends it, and OPENAI_MODEL
    "us.anthropic.claude-3-5-sonnet-20241022-v2:0": "run",
    "o3-mini-2025-01-31": "run",
    "claude-3-5-sonnet-20241022": "run",
}
VENV = "/opt/dgm-agent"  # the agent's packages in a foreign image's layer (a SWE-bench one)
LOOPBACK = Path(sandbox.__file__).resolve().parent / "loopback.py"
# Where each SDK finds its endpoint ({port}: the loopback port) and its key.
ENDPOINTS = {
    "OPENAI_BASE_URL": "http://127.0.0.1:{port}/sdk/v1",
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:{port}/sdk",
    "ANTHROPIC_BEDROCK_BASE_URL": "http://127.0.0.1:{port}/sdk",
}
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID")
# A requirement an LLM may have written must name a package of the index, nothing else:
# no URL, path or VCS source (the layer build has the network).
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?\s*([<>=!~;].*)?$")


class AgentFormatSettings(BaseModel):
    """Agents in another system's format (docs/agents.md)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["auto", "native", "dgm"] = Field(
        default="auto",
        description="The seed's format: 'native' (dgm's contract, __main__.py), 'dgm' (DGM's coding_agent.py) or 'auto' (told by its files).",
    )
    models: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MODELS),
        description="Model names an SDK agent's code sends -> 'run' (the run's model) or another model the run serves, added to DGM's own names; an unmapped name fails the call.",
    )

    @field_validator("models")
    @classmethod
    def known_names_kept(cls, models: dict[str, str]) -> dict[str, str]:
        """A map given (in YAML, or one name by `--set agent_format.models.NAME=run`) adds
        to DGM's own names instead of dropping them."""
        return {**DEFAULT_MODELS, **models}


def kind_of(files: Mapping[str, bytes]) -> Kind | None:
    """Which contract an agent's files keep: dgm's (`__main__.py`), DGM's, or neither."""
    if "__main__.py" in files or "agent/__main__.py" in files:
        return "native"
    entry = files.get(ENTRY)
    if entry is not None and all(o.encode() in entry for o in OPTIONS):
        return "dgm"
    return None


def dgm_breach(child: Mapping[str, bytes]) -> str | None:
    """Why a child of a DGM-format agent no longer keeps the format, or None."""
    if ENTRY not in child:
        return f"breaks DGM's agent format: {ENTRY} is gone"
    missing = [o for o in OPTIONS if o.encode() not in child[ENTRY]]
    if missing:
        return f"breaks DGM's agent format: {ENTRY} no longer names {', '.join(missing)}"
    return None


def check(files: Mapping[str, bytes], expected: str, what: str) -> Kind:
    """The files' format, refused (ValueError, one line) when it is not `expected` (or
    neither) or a requirement is no package name: before any run exists."""
    kind = kind_of(files)
    if kind is None:
        raise ValueError(
            f"{what} is not an agent: no __main__.py (dgm's contract) and no {ENTRY} taking "
            f"{' '.join(OPTIONS)} (DGM's format)"
        )
    if expected != "auto" and kind != expected:
        raise ValueError(
            f"{what} is an agent in {kind} format, not {expected}: drop the format option or fix the folder"
        )
    if kind == "dgm":
        try:
            requirements(files)
        except SandboxError as e:
            raise ValueError(f"{what}: {e}") from None
    return kind


def requirements(files: Mapping[str, bytes]) -> list[str]:
    """The agent's requirements.txt; a SandboxError naming a line that is not a package."""
    reqs = parse_requirements(files.get("requirements.txt", b"").decode(errors="replace"))
    for line in reqs:
        if not REQUIREMENT.match(line) or "://" in line or " @ " in line:
            raise SandboxError(
                f"requirements.txt: {line!r} is not a package of the index (name[extras] and "
                "versions only: no URL, path or VCS source)"
            )
    return reqs


def command(harness_dir: str, self_improve: bool) -> list[str]:
    """DGM's command line, behind the loopback port: the problem comes from
    /task/problem.md, the base commit from /testbed's HEAD; the Python is the agent's venv
    in a foreign image's layer, else the image's python3."""
    endpoints = " ".join(shlex.quote(f"{k}={v}") for k, v in ENDPOINTS.items())
    agent = (
        '"$py" /agent/coding_agent.py --problem_statement "$(cat /task/problem.md)" '
        '--git_dir /testbed/ --base_commit "$(git -C /testbed rev-parse HEAD)" '
        f"--chat_history_file {CHAT_HISTORY} --outdir /out/"
    )
    flag = " --self_improve" if self_improve else ""
    return [
        "bash",
        "-c",
        f"py=python3; [ -x {VENV}/bin/python ] && py={VENV}/bin/python; "
        f'exec "$py" {harness_dir}/loopback.py "$DGM_LLM_SOCKET" {endpoints} -- {agent}{flag}',
    ]


def env(session_env: Mapping[str, str]) -> dict[str, str]:
    """The keys the SDKs read, each the session's token (nothing a provider would take),
    and a region for Bedrock clients."""
    token = session_env["DGM_LLM_TOKEN"]
    return {
        **{k: token for k in KEY_VARIABLES},
        "AWS_SECRET_ACCESS_KEY": "dgm-sandbox-not-a-secret",  # signs requests nobody checks
        "AWS_REGION": "us-east-1",
        "AWS_REGION_NAME": "us-east-1",
    }


def harness_files() -> dict[str, bytes]:
    return {"loopback.py": LOOPBACK.read_bytes()}


def local_refusal(reqs: list[str]) -> str:
    """Why an agent with requirements does not run in the local sandbox. It would need its
    packages installed on the host, with the network, from a requirements.txt an LLM may
    have rewritten: nothing of that belongs outside a sandbox; Docker's layer build has it."""
    shown = ", ".join(reqs[:3]) + (", ..." if len(reqs) > 3 else "")
    return (
        f"the agent's requirements.txt ({shown}) is installed into a Docker image layer, and "
        "the local sandbox installs nothing: use the docker sandbox, or an agent with no "
        "requirements.txt"
    )


class LayerBackends:
    """A Docker backend per agent requirements layer, opened when first needed (a layer
    is built once per base image and requirements, then reused by its tag)."""

    def __init__(self) -> None:
        self._backends: dict[tuple[str, str], SandboxBackend] = {}
        self._lock = threading.Lock()

    def get(
        self, files: Mapping[str, bytes], backend: SandboxBackend, step: Callable[[str], None]
    ) -> SandboxBackend:
        reqs = requirements(files)
        if not reqs:
            return backend
        base = getattr(backend, "image", None)
        if not isinstance(base, str):
            raise SandboxError(local_refusal(reqs))
        from sandbox import image, open_backend
        from sandbox.docker_backend import connect

        label = str(getattr(backend, "run_label", ""))
        # A foreign base (a SWE-bench instance image) keeps its Python as it is: the
        # agent's packages go into a venv of their own there.
        venv = None if getattr(backend, "native", True) else VENV
        with self._lock:  # one build per layer, however many evaluations start at once
            tag = image.build_layer(
                connect(), base, pip=reqs, step=step, wheels_only=True, venv=venv
            )
            if (tag, label) not in self._backends:
                self._backends[tag, label] = open_backend(
                    "docker", image=tag, run_label=label, pool_size=1
                )
            return self._backends[tag, label]

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for b in backends:
            b.close()


LAYERS = LayerBackends()
"""This process's layers (each backend also closes itself at exit)."""


def agent_backend(
    files: Mapping[str, bytes],
    backend: SandboxBackend,
    step: Callable[[str], None] = lambda _m: None,
) -> SandboxBackend:
    """The backend an agent runs in: `backend`, or for a DGM-format agent with
    requirements, one of its layer on top of `backend`'s image."""
    return LAYERS.get(files, backend, step) if kind_of(files) == "dgm" else backend


def prepare(
    files: Mapping[str, bytes],
    sandbox: str,
    step: Callable[[str], None],
    instance_images: Sequence[str] = (),
    sandbox_image: bool | None = None,
) -> None:
    """Build a DGM-format seed's layers now, before any run exists: a failed build is one
    line (a UserError naming its last error), not a sandbox_error on every evaluation. Over
    each of `instance_images` (a SWE-bench suite's tasks run in those) as its venv layer,
    and over the sandbox image when `sandbox_image` (None: when there is no instance
    image): the layers the run then takes from the cache."""
    from dgm.errors import UserError

    if kind_of(files) != "dgm" or not requirements(files):
        return
    if sandbox != "docker":
        raise UserError(local_refusal(requirements(files)))
    from sandbox import image
    from sandbox.docker_backend import connect

    client = connect()
    bases: list[tuple[str, str | None]] = [(b, VENV) for b in instance_images]
    if sandbox_image or (sandbox_image is None and not bases):
        bases.append((image.image_tag(), None))
    try:
        for base, venv in bases:
            image.build_layer(
                client, base, pip=requirements(files), step=step, wheels_only=True, venv=venv
            )
    except (SandboxError, OSError) as e:  # OSError: the engine's own errors (docker's APIError)
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
        raise UserError(f"the agent's requirements.txt did not install: {lines[-1]}") from None
