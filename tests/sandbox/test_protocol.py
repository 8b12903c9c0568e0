"""The contract types: both backends satisfy the protocols; Limits is frozen and validated."""

from __future__ import annotations

import pydantic
import pytest

from sandbox import ExecResult, Limits, Sandbox, SandboxBackend, SandboxError, Status, open_backend
from tests.sandbox.conftest import SMALL


def test_limits_are_frozen_hashable_and_validated() -> None:
    assert hash(Limits()) == hash(Limits())
    with pytest.raises(pydantic.ValidationError):
        Limits(memory_mb=1)
    with pytest.raises(pydantic.ValidationError):
        Limits(timeout_s=0)
    with pytest.raises(pydantic.ValidationError):
        SMALL.memory_mb = 5  # type: ignore[misc]
    assert all(f.description for f in Limits.model_fields.values())


def test_exec_result_ok_follows_status() -> None:
    r = ExecResult(status=Status.ok, exit_code=0, stdout="", stderr="", duration_s=0.1)
    assert (
        r.ok
        and not ExecResult(
            status=Status.timeout, exit_code=124, stdout="", stderr="", duration_s=1
        ).ok
    )


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(SandboxError, match="docker, local"):
        open_backend("podman")


@pytest.mark.docker
def test_both_backends_satisfy_the_protocols(backend: SandboxBackend) -> None:
    assert isinstance(backend, SandboxBackend)
    with backend.open(SMALL) as sb:
        assert isinstance(sb, Sandbox)
