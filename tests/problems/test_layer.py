"""The problem layer: built once per package list on the sandbox image, hardened like it."""

from __future__ import annotations

import pytest

from benchmarks.problems import load, problem_image
from sandbox import Limits, SandboxError, open_backend
from sandbox.docker_backend import connect
from sandbox.image import build_layer, image_tag, layer_tag


def test_layer_tag_is_a_hash_of_base_and_packages() -> None:
    assert layer_tag("b:1", ["numpy==2.4.6"], []) == layer_tag("b:1", ["numpy==2.4.6"], [])
    assert layer_tag("b:1", ["numpy==2.4.6"], []) != layer_tag("b:2", ["numpy==2.4.6"], [])
    assert layer_tag("b:1", ["numpy==2.4.6"], []) != layer_tag("b:1", ["numpy==2.4.6"], ["jq"])


@pytest.mark.docker
def test_no_packages_is_the_base_image() -> None:
    assert build_layer(connect(), image_tag(), pip=[], apt=[]) == image_tag()


@pytest.mark.docker
def test_an_engine_error_is_a_one_line_sandbox_error() -> None:
    """docker-py's own errors (here the engine's 404 for a base it does not have) become
    the SandboxError a run and `dgm problem score` turn into one line, never a traceback."""
    with pytest.raises(SandboxError) as e:
        build_layer(connect(), "dgm-polish-no-such-base:0", pip=["numpy==2.4.6"])
    said = str(e.value)
    assert len(said.splitlines()) == 1 and "No such image" in said, said
    assert "dgm-polish-no-such-base:0" in said


@pytest.mark.docker
def test_layer_has_the_packages_and_no_network() -> None:
    tag = problem_image(load("tsp"))
    assert (
        tag == layer_tag(image_tag(), ["numpy==2.4.6"], []) and problem_image(load("parity")) == tag
    )
    labels = connect().api.inspect_image(tag)["Config"]["Labels"]
    assert labels["dgm.layer"] == tag and labels["dgm.inputs"]  # a native dgm image: full hardening
    with (
        open_backend("docker", image=tag, run_label="test-problem-layer", pool_size=0) as be,
        be.open(Limits(timeout_s=30)) as sb,
    ):
        r = sb.run(["python3", "-c", "import numpy; print(numpy.__version__)"])
        assert r.ok and r.stdout.strip() == "2.4.6"
        net = sb.run(
            ["python3", "-c", "import socket; socket.create_connection(('9.9.9.9', 53), 3)"]
        )
        assert not net.ok and "Network is unreachable" in net.stderr
        who = sb.run(["id", "-u"])
        assert who.stdout.strip() == "1000"
