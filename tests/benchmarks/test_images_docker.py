"""Instance images against a real registry: Distribution (Debian's `docker-registry`, the
registry:2 server) on loopback, pushed to and pulled from by the Docker engine over the
registry protocol. `dgm bench pull` shows the size from the manifest and pulls with
progress; `dgm bench images --prune` removes only the instance images the suite no
longer needs, in its own namespace."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from benchmarks import images
from sandbox.docker_backend import connect
from sandbox.image import image_exists, image_tag
from tests.benchmarks.conftest import first_task
from tests.benchmarks.test_cli_bench import dgm
from tests.benchmarks.test_swebench_run_docker import row
from tests.conftest import missing

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]
TASK = "ledgerly__ledgerly-1"
BLOB_BYTES = 6_000_000  # random: the layer cannot compress below it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        missing("docker", "no docker-registry: `apt-get install docker-registry` (setup.sh --dev)")
    tmp = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    (tmp / "config.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp / 'data'}\n"
        f"http:\n  addr: {address}\nlog:\n  level: error\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(tmp / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the registry did not start")
        yield address
    finally:
        proc.terminate()
        proc.wait(10)


def build_unique(tag: str) -> None:
    """An image FROM the sandbox image plus one layer of random bytes (so a pull downloads)."""
    dockerfile = (
        f"FROM {image_tag()}\nLABEL dgm.inputs=\nUSER root\n"
        f"RUN head -c {BLOB_BYTES} /dev/urandom > /opt/blob\n"
    ).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    connect().images.build(
        fileobj=context, custom_context=True, tag=tag, rm=True, network_mode="none"
    )


def suite_file(tmp: Path, image: str, name: str = "rows.jsonl") -> Path:
    path = tmp / name
    path.write_text(json.dumps({**row(first_task(TASK)), "image": image}) + "\n")
    return path


def test_pull_shows_the_size_first_and_pulls_with_progress(registry: str, tmp_path: Path) -> None:
    client = connect()
    image = f"{registry}/dgmtest/sweb.eval.x86_64.{TASK}:latest"
    build_unique(image)
    try:
        for line in client.api.push(
            image.rsplit(":", 1)[0], tag="latest", stream=True, decode=True
        ):
            assert "error" not in line, line
        client.images.remove(image)
        assert not image_exists(client, image)
        size = images.download_size(image)
        assert size is not None and size > BLOB_BYTES
        suite = f"swebench:{suite_file(tmp_path, image)}"
        proc = dgm("bench", "pull", suite, cwd=tmp_path, timeout=600)
        assert proc.returncode == 0, proc.stderr
        first = proc.stderr.strip().splitlines()[0]
        assert first.startswith("1 instance image(s) to pull: ") and "free at" in first, first
        assert "MB to download" in first  # from the registry's manifest
        assert image_exists(client, image)
        assert "1 image(s) pulled" in proc.stdout
        again = dgm("bench", "pull", suite, cwd=tmp_path)
        assert again.returncode == 0 and "0 image(s) pulled" in again.stdout, again.stderr
    finally:
        client.images.remove(image, force=True)


def test_no_registry_is_one_line_before_any_run(tmp_path: Path) -> None:
    image = f"127.0.0.1:{free_port()}/dgmtest/sweb.eval.x86_64.{TASK}:latest"  # nothing listens
    suite = f"swebench:{suite_file(tmp_path, image)}"
    proc = dgm("bench", "pull", suite, cwd=tmp_path)
    assert proc.returncode == 2 and "no registry reachable for" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    run = dgm(
        "bench", "run", "--agent", "seed", "--suite", suite, "--model", "local", "--pull",
        "--archive", "a.db", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2 and "no registry reachable for" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists()  # no run, not even an archive
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "suite": suite,
                "model": "local",
                "max_iterations": 0,
                "stages": [{"name": "full", "tasks": "full"}],
            }
        )
    )
    whole = dgm("run", str(config), "--pull", "--archive", "b.db", cwd=tmp_path)
    assert whole.returncode == 2 and "no registry reachable for" in whole.stderr, whole.stderr
    assert len(whole.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.db").exists()  # refused before its archive is created


def test_prune_removes_only_what_the_suite_no_longer_needs(registry: str, tmp_path: Path) -> None:
    client = connect()
    base = client.images.get(image_tag())
    space = f"{registry}/dgmprune"
    tags = {
        "needed": f"{space}/sweb.eval.x86_64.{TASK}:latest",
        "stale": f"{space}/sweb.eval.x86_64.gone__gone-1:latest",
        "other namespace": f"{registry}/dgmelse/sweb.eval.x86_64.gone__gone-1:latest",
        "not an instance": f"{space}/tools:latest",
    }
    for tag in tags.values():
        repo, _, version = tag.rpartition(":")
        base.tag(repo, version)
    try:
        suite = f"swebench:{suite_file(tmp_path, tags['needed'])}"
        listing = dgm("bench", "images", suite, cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr
        assert "1 of 1 present; 1 not needed" in listing.stdout.replace("\n", " ")
        proc = dgm("bench", "images", suite, "--prune", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "removed 1 instance image(s)" in proc.stdout
        left = {k: image_exists(client, t) for k, t in tags.items()}
        assert left == {
            "needed": True,
            "stale": False,
            "other namespace": True,
            "not an instance": True,
        }
        assert image_exists(client, image_tag())
    finally:
        for tag in tags.values():
            if image_exists(client, tag):
                client.images.remove(tag)


def test_reference_parsing() -> None:
    ref = images.parse("swebench/sweb.eval.x86_64.django_1776_django-11099:latest")
    assert (ref.registry, ref.repository, ref.tag) == (
        "registry-1.docker.io",
        "swebench/sweb.eval.x86_64.django_1776_django-11099",
        "latest",
    )
    assert ref.is_instance and ref.namespace == "registry-1.docker.io/swebench"
    local = images.parse("localhost:5000/a/b:v1")
    assert (local.registry, local.repository, local.tag) == ("localhost:5000", "a/b", "v1")
    assert images.parse("python").repository == "library/python"
    assert not images.parse("dgm-sandbox:abc").is_instance
