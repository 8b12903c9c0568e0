"""The sandbox image: its tag tracks its inputs, and it holds what the agent contract needs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sandbox import SandboxBackend, Status
from sandbox import image as sandbox_image
from tests.sandbox.conftest import SMALL

pytestmark = pytest.mark.docker


def test_tag_is_a_hash_of_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = sandbox_image.image_tag()
    assert re.fullmatch(r"dgm-sandbox:[0-9a-f]{12}", tag)
    for name in sandbox_image.INPUTS:
        shutil.copy(sandbox_image.HERE / name, tmp_path / name)
    monkeypatch.setattr(sandbox_image, "HERE", tmp_path)
    assert sandbox_image.image_tag() == tag  # same inputs, same tag
    (tmp_path / "packages.txt").write_text((tmp_path / "packages.txt").read_text() + "jq\n")
    assert sandbox_image.image_tag() != tag
    assert "jq" in sandbox_image.packages()


def test_cache_dir_is_outside_the_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DGM_CACHE_DIR", str(tmp_path / "c"))
    assert sandbox_image.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.delenv("DGM_CACHE_DIR")
    repo = Path(sandbox_image.__file__).resolve().parents[1]
    assert not sandbox_image.cache_dir().resolve().is_relative_to(repo)


def test_built_image_is_labelled_with_its_inputs(docker_backend: SandboxBackend) -> None:
    info = docker_backend.client.api.inspect_image(sandbox_image.image_tag())  # type: ignore[attr-defined]
    assert info["Config"]["Labels"]["dgm.inputs"] == sandbox_image.inputs_hash()


def test_image_holds_the_agent_contract_tools(docker_backend: SandboxBackend) -> None:
    probe = (
        "python3 -c 'import sys; print(sys.version_info[:2])'; python -c 'import sys; print(sys.executable)'; "
        "python3 -m pytest --version; git --version | cut -d' ' -f1; patch --version | head -1 | cut -d' ' -f2; "
        "ps --version >/dev/null && echo procps; test -s /etc/ssl/certs/ca-certificates.crt && echo certs; "
        "id -un; git config --system user.name"
    )
    with docker_backend.open(SMALL) as sb:
        r = sb.run(probe, timeout_s=30)
    assert r.status is Status.ok, r
    lines = r.stdout.splitlines()
    assert lines[0] == "(3, 11)" and lines[1] == "/usr/bin/python"
    assert lines[2].startswith("pytest ") and lines[3:] == [
        "git",
        "patch",
        "procps",
        "certs",
        "sandbox",
        "sandbox",
    ]
