"""Fixtures for the sandbox tests: real backends with small limits, and an
`aftermath` check that a fresh sandbox still works after each attack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import Limits, SandboxBackend, Status, open_backend
from sandbox.docker_backend import DockerBackend
from sandbox.local_backend import bwrap_works
from tests.conftest import missing

SMALL = Limits(
    timeout_s=5,
    memory_mb=256,
    cpus=1.0,
    pids=64,
    disk_mb=64,
    output_cap_bytes=64 << 10,
    copy_out_cap_mb=16,
)
# Every backend, as a parameter carrying its component's marker.
BACKENDS = [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("local", marks=pytest.mark.bwrap),
]


def require_bwrap() -> None:
    usable, why = bwrap_works()
    if not usable:
        missing("bwrap", f"bubblewrap is not usable here: {why} (apt-get install bubblewrap)")


def _open(name: str) -> SandboxBackend:
    if name == "local":
        require_bwrap()
    return open_backend(name, run_label="pytest-sandbox", pool_size=2)


@pytest.fixture(scope="session")
def docker_backend() -> Iterator[SandboxBackend]:
    backend = _open("docker")
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def recycled_backend() -> Iterator[DockerBackend]:
    """Docker with recycling, one container in the pool: a clean sandbox's container is
    the very one the next sandbox gets."""
    backend = DockerBackend(run_label="pytest-sandbox", pool_size=1, recycle=True)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def local_backend() -> Iterator[SandboxBackend]:
    backend = _open("local")
    yield backend
    backend.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> SandboxBackend:
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def limits() -> Limits:
    return SMALL


def assert_fresh_sandbox_works(backend: SandboxBackend) -> None:
    """A later sandbox is unaffected: it starts, runs, and sees none of the earlier files."""
    with backend.open(SMALL) as sb:
        r = sb.run(
            "echo alive; ls -A /testbed /out /tmp | grep -v '^/' | grep -v '^$' | wc -l",
            timeout_s=10,
        )
        assert r.status is Status.ok, r
        assert r.stdout.split() == ["alive", "0"], r.stdout
