"""A sandbox broken from outside (its container stopped or removed while a command runs:
what an engine restart does) raises EngineUnavailable, so no caller can take it for the
command's own result; a fresh sandbox works after. What the code inside does to itself
(OOM, floods, signals: tests/sandbox/test_adversarial.py) stays a result."""

from __future__ import annotations

import threading
import time

import pytest

from sandbox import EngineUnavailable, SandboxBackend
from tests.sandbox.conftest import SMALL, assert_fresh_sandbox_works

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(
    ("act", "said"),
    [
        ("kill", "its container was stopped from outside the sandbox"),
        ("stop", "its container was stopped from outside the sandbox"),
        ("remove", "the sandbox failed from outside"),
    ],
)
def test_a_container_stopped_from_outside_mid_command_is_engine_unavailable(
    docker_backend: SandboxBackend, act: str, said: str
) -> None:
    api = docker_backend.client.api  # type: ignore[attr-defined]
    with docker_backend.open(SMALL) as sb:

        def from_outside() -> None:
            time.sleep(1.0)
            if act == "kill":
                api.kill(sb.id)  # type: ignore[attr-defined]
            elif act == "stop":
                api.stop(sb.id, timeout=0)  # type: ignore[attr-defined]
            else:
                api.remove_container(sb.id, force=True)  # type: ignore[attr-defined]

        threading.Thread(target=from_outside, daemon=True).start()
        assert sb.run("cat /proc/self/oom_score_adj", timeout_s=10).stdout.strip() == "500"
        with pytest.raises(EngineUnavailable) as caught:
            sb.run("sleep 20", timeout_s=30)
        assert said in str(caught.value) and "\n" not in str(caught.value)
        with pytest.raises(EngineUnavailable):  # broken for good: every later call says so
            sb.run("echo hi", timeout_s=5)
        with pytest.raises(EngineUnavailable):
            sb.get_files("/testbed")
    assert_fresh_sandbox_works(docker_backend)
