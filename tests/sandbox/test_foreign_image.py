"""A foreign image (like an official SWE-bench one: its own /testbed, PATH, root user)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from sandbox import SandboxBackend, Status, open_backend
from sandbox.image import image_tag
from tests.sandbox.conftest import SMALL, assert_fresh_sandbox_works

pytestmark = pytest.mark.docker
TAG = "dgm-sandbox-test-foreign:1"


@pytest.fixture(scope="module")
def foreign(docker_backend: SandboxBackend) -> Iterator[SandboxBackend]:
    dockerfile = (
        f"FROM {image_tag()}\n"
        "LABEL dgm.inputs=\n"  # not a dgm-sandbox image any more
        "USER root\n"
        "RUN mkdir -p /testbed /opt/env/bin && chown root:root /testbed && echo base > /testbed/repo.txt "
        "&& printf '#!/bin/sh\\necho from-image-path\\n' > /opt/env/bin/envtool && chmod +x /opt/env/bin/envtool\n"
        "ENV PATH=/opt/env/bin:/usr/bin:/bin\n"
    )
    client = docker_backend.client  # type: ignore[attr-defined]
    client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=TAG, rm=True, network_mode="none"
    )
    backend = open_backend("docker", image=TAG, run_label="pytest-foreign", pool_size=1)
    yield backend
    backend.close()
    client.images.remove(TAG, force=True)


def test_foreign_image_keeps_its_testbed_and_path(foreign: SandboxBackend) -> None:
    with foreign.open(SMALL) as sb:
        r = sb.run(
            "cat /testbed/repo.txt; envtool; id -u; echo patched >> /testbed/repo.txt", timeout_s=10
        )
        assert r.status is Status.ok and r.stdout.split() == ["base", "from-image-path", "0"], r
        sb.put_files({"new.txt": b"n"}, "/testbed")
        assert sb.get_files("/testbed/repo.txt") == {"repo.txt": b"base\npatched\n"}
        hardened = sb.run(
            "cat /proc/self/status | grep CapEff; (echo x > /etc/x) 2>&1 | head -1; "
            "python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 53), 1)' 2>/dev/null || echo nonet",
            timeout_s=20,
        )
        assert "CapEff:\t0000000000000000" in hardened.stdout and "nonet" in hardened.stdout
        flood = sb.run("dd if=/dev/zero of=/tmp/f bs=1M count=200 2>&1", timeout_s=20)
        assert "No space left" in flood.stdout
    with foreign.open(SMALL) as sb2:  # a fresh container: the image's /testbed, unpatched
        assert sb2.get_files("/testbed/repo.txt") == {"repo.txt": b"base\n"}


def test_native_image_still_used_by_default(docker_backend: SandboxBackend) -> None:
    assert docker_backend.native is True  # type: ignore[attr-defined]
    assert_fresh_sandbox_works(docker_backend)
