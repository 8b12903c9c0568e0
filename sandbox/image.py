"""The sandbox image: its tag (a hash of its inputs) and how to build it.

Online, `sandbox/Dockerfile` builds it from python:3.11-slim-bookworm. Offline (no
registry answers, as on the machines this was built on) the same image is made from
scratch: `debootstrap --variant=minbase bookworm` a Debian rootfs with packages.txt in it
(cached as a tarball outside the repo), `docker import` it, run image_setup.sh in a
container of it, and commit the result. Both paths read the same three input files, and
the tag `dgm-sandbox:<hash12>` changes exactly when one of them does, so an unchanged
image is reused and `dgm sandbox build` returns in seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import docker
import docker.errors

from sandbox.protocol import SandboxError

HERE = Path(__file__).resolve().parent
INPUTS = ("Dockerfile", "packages.txt", "image_setup.sh")
REPOSITORY = "dgm-sandbox"
BASE_IMAGE = "python:3.11-slim-bookworm"
SUITE = "bookworm"
RECIPE = "dgm-sandbox-recipe-1"  # bump when the build steps below change meaning
IMAGE_CHANGES = [
    "ENV PATH=/usr/bin:/bin:/usr/local/bin",
    "ENV LANG=C.UTF-8",
    "ENV HOME=/tmp",
    "WORKDIR /testbed",
    'CMD ["sleep", "infinity"]',
]

Step = Callable[[str], None]


def inputs_hash() -> str:
    h = hashlib.sha256(RECIPE.encode())
    for name in INPUTS:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


def image_tag() -> str:
    """The tag the current inputs build to; the default image of the Docker backend."""
    return f"{REPOSITORY}:{inputs_hash()[:12]}"


def packages() -> list[str]:
    lines = (HERE / "packages.txt").read_text().splitlines()
    return [p.strip() for p in lines if p.strip() and not p.startswith("#")]


def cache_dir() -> Path:
    """Where the debootstrap tarball is kept (never inside the repository)."""
    env = os.environ.get("DGM_CACHE_DIR")
    base = (
        Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dgm"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base


def mirror() -> str:
    return os.environ.get("DGM_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build(
    client: docker.DockerClient,
    *,
    mode: str = "auto",
    force: bool = False,
    step: Step = lambda _msg: None,
) -> tuple[str, str]:
    """Build (or reuse) the image; returns (tag, how: 'reused' | 'online' | 'offline').

    mode: 'auto' tries the registry for the base image and falls back to offline,
    'online' only uses the Dockerfile, 'offline' only debootstrap.
    """
    tag = image_tag()
    if not force and image_exists(client, tag):
        return tag, "reused"
    if mode in ("auto", "online"):
        step(f"pulling {BASE_IMAGE}")
        if _pull_base(client):
            _build_online(client, tag, step)
            return tag, "online"
        if mode == "online":
            raise SandboxError(
                f"cannot pull {BASE_IMAGE} (no registry); use `dgm sandbox build --offline`"
            )
        step("no registry answers: building offline")
    _build_offline(client, tag, step)
    return tag, "offline"


def _pull_base(client: docker.DockerClient) -> bool:
    try:
        client.api.inspect_image(BASE_IMAGE)
        return True
    except docker.errors.ImageNotFound:
        pass
    try:
        repo, _, version = BASE_IMAGE.partition(":")
        client.api.pull(repo, tag=version)
        return True
    except (docker.errors.APIError, docker.errors.DockerException, OSError):
        return False


def _build_online(client: docker.DockerClient, tag: str, step: Step) -> None:
    step("docker build (Dockerfile)")
    build_dockerfile(client, HERE, tag, {"dgm.inputs": inputs_hash()}, step)


def build_dockerfile(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    labels: dict[str, str],
    step: Step = lambda _msg: None,
) -> None:
    """`docker build` of the folder `context` (its Dockerfile) as `tag`; a failure is a
    SandboxError of one line: the build's last error."""
    try:
        for chunk in client.api.build(
            path=str(context), tag=tag, rm=True, forcerm=True, decode=True, labels=labels
        ):
            if "error" in chunk:
                last = [ln for ln in str(chunk["error"]).strip().splitlines() if ln.strip()]
                raise SandboxError(f"docker build failed: {(last or ['(no message)'])[-1][:300]}")
            line = chunk.get("stream", "").strip()
            if line:
                step(line[:120])
    except docker.errors.APIError as e:  # a Dockerfile the engine refuses to parse
        raise SandboxError(
            f"docker build failed: {e.explanation or e}".splitlines()[0][:300]
        ) from None


def rootfs_tarball(step: Step) -> Path:
    """The cached debootstrap rootfs (made once per package list)."""
    key = hashlib.sha256(f"{SUITE}|minbase|{mirror()}|{','.join(packages())}".encode()).hexdigest()[
        :12
    ]
    target = cache_dir() / f"rootfs-{SUITE}-{key}.tar"
    if target.exists():
        step(f"using cached rootfs {target.name}")
        return target
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "offline build needs debootstrap: apt-get install debootstrap (or build online)"
        )
    if os.geteuid() != 0:
        raise SandboxError(
            "offline build runs debootstrap, which needs root; run `dgm sandbox build` as root"
        )
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="debootstrap-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(packages())}",
            SUITE,
            str(root),
            mirror(),
        ]
        step("debootstrap " + SUITE + " (about 90 s)")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-20:]
            if line.startswith("I: "):
                step("debootstrap: " + line[3:].strip())
        if proc.wait() != 0:
            raise SandboxError("debootstrap failed:\n" + "\n".join(tail))
        for junk in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            for p in (root / junk).glob("*"):
                if p.is_file():
                    p.unlink()
                elif p.is_dir() and p.name != "partial":
                    shutil.rmtree(p, ignore_errors=True)
        step("packing rootfs")
        partial = target.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(root, arcname=".", recursive=True)
        partial.rename(target)
    return target


def _build_offline(client: docker.DockerClient, tag: str, step: Step) -> None:
    tarball = rootfs_tarball(step)
    base = f"{REPOSITORY}-base:{tarball.stem.rsplit('-', 1)[-1]}"
    if not image_exists(client, base):
        step(f"docker import {tarball.name}")
        repo, _, version = base.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repo, tag=version)
    step("running image_setup.sh")
    script = (HERE / "image_setup.sh").read_text()
    container = client.containers.create(
        base, ["sh", "-c", script], network_mode="none", user="0:0", labels={"dgm.build": "1"}
    )
    try:
        container.start()
        status = container.wait()
        if status.get("StatusCode") != 0:
            logs = container.logs().decode(errors="replace")[-2000:]
            raise SandboxError(f"image_setup.sh failed in the offline build:\n{logs}")
        step(f"committing {tag}")
        repo, _, version = tag.partition(":")
        container.commit(
            repository=repo,
            tag=version,
            changes=IMAGE_CHANGES,
            conf={"Labels": {"dgm.inputs": inputs_hash()}},
        )
    finally:
        container.remove(force=True)


LAYER_REPOSITORY = "dgm-problem"
LAYER_RECIPE = "dgm-problem-layer-1"  # bump when the layer's build steps change meaning
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
COMMIT_TIMEOUT_S = 900


def layer_tag(
    base: str, pip: Sequence[str], apt: Sequence[str], wheels_only: bool = False, script: str = ""
) -> str:
    """The tag of the layer `build_layer` makes: a hash of the base, both package lists and
    the script."""
    key = "\0".join([LAYER_RECIPE, base, *sorted(pip), "|", *sorted(apt)])
    key += "\0wheels-only" if wheels_only else ""
    key += f"\0script={script}" if script else ""
    return f"{LAYER_REPOSITORY}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def build_layer(
    client: docker.DockerClient,
    base: str,
    *,
    pip: Sequence[str],
    apt: Sequence[str] = (),
    step: Step = lambda _msg: None,
    wheels_only: bool = False,
    venv: str | None = None,
    script: str = "",
) -> str:
    """An image `FROM base` with Debian packages `apt` and PyPI requirements `pip` installed
    (wheels fetched at build time, verified with the host's CA bundle); returns its tag.
    Cached by a hash of its inputs: an unchanged layer is reused. With nothing to install,
    the base itself. The build container has the network; sandboxes made from the layer
    do not (the backend's hardening is the same for every image). wheels_only: install
    built wheels only, so no package's build code runs in the networked build container
    (for requirements an LLM may have written).

    venv: install `pip` into a virtual environment at this path, made by the base's own
    python3, and keep the base's configuration (PATH, WORKDIR): for a foreign base (a
    SWE-bench instance image), whose own Python environment must not change. Keyed by the
    base's image ID, so a base pulled anew gets a new layer.

    script: shell commands run as root after the installs, with the network (fetching what
    sandboxes need offline, e.g. npm packages)."""
    pip, apt = [p.strip() for p in pip if p.strip()], [a.strip() for a in apt if a.strip()]
    if not pip and not apt and not script:
        return base
    if venv is not None and (apt or script):
        raise ValueError("a venv layer installs PyPI packages only")
    try:
        key = base if venv is None else f"{client.api.inspect_image(base)['Id']}\0venv={venv}"
        tag = layer_tag(key, pip, apt, wheels_only, script)
        if not image_exists(client, tag):
            _build_layer(client, base, tag, pip, apt, step, wheels_only, venv, script)
    except (docker.errors.DockerException, OSError) as e:  # the engine's: APIError, timeouts
        said = " ".join(str(e).split()) or type(e).__name__
        raise SandboxError(f"the package layer for {base} could not be built: {said}") from None
    return tag


def _build_layer(
    client: docker.DockerClient,
    base: str,
    tag: str,
    pip: Sequence[str],
    apt: Sequence[str],
    step: Step,
    wheels_only: bool,
    venv: str | None,
    extra: str = "",
) -> None:
    debs = " ".join(sorted(set(apt) | ({"python3-pip"} if pip else set())))
    only_binary = " --only-binary :all:" if wheels_only else ""
    if venv is not None:
        debs, script = "", venv_script(venv, only_binary)
    else:
        script = "set -eu\nexport DEBIAN_FRONTEND=noninteractive\napt-get update -qq\n"
        script += f"apt-get install -y -qq --no-install-recommends {debs}\n"
    if pip and venv is None:
        script += (
            "pip install --no-cache-dir --break-system-packages --root-user-action=ignore "
            f"--cert /tmp/dgm-layer/ca.crt -r /tmp/dgm-layer/requirements.txt{only_binary}\n"
        )
    script += f"{extra}\n" if extra else ""
    script += (
        "rm -rf /tmp/dgm-layer /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /root/.cache\n"
    )
    files = {"requirements.txt": "\n".join(pip).encode() + b"\n"}
    if HOST_CA_BUNDLE.exists():
        files["ca.crt"] = HOST_CA_BUNDLE.read_bytes()
    step(f"building package layer {tag}: {debs} {' '.join(pip)}".strip())
    container = client.containers.create(
        base, ["sh", "-c", script], user="0:0", labels={"dgm.build": "1"}
    )
    try:
        container.put_archive("/tmp", _tar({f"dgm-layer/{k}": v for k, v in files.items()}))
        container.start()
        status = container.wait()
        if status.get("StatusCode") != 0:
            logs = container.logs().decode(errors="replace")[-2000:]
            raise SandboxError(
                f"the package layer build failed (packages: {debs} {' '.join(pip)}):\n{logs}"
            )
        labels = dict((client.api.inspect_image(base).get("Config") or {}).get("Labels") or {})
        repo, _, version = tag.partition(":")
        # Committing a layer of many packages (DGM's agent: about 600 MB) outlasts the
        # client's 60 s default on a busy disk; the engine goes on, the tag would be lost.
        client.api.timeout = max(client.api.timeout, COMMIT_TIMEOUT_S)
        container.commit(
            repository=repo,
            tag=version,
            # a venv layer keeps the base's PATH and WORKDIR; the build's command is undone
            changes=IMAGE_CHANGES if venv is None else ['CMD ["sleep", "infinity"]'],
            conf={"Labels": {**labels, "dgm.layer": tag}},
        )
    finally:
        container.remove(force=True)


def venv_script(venv: str, only_binary: str) -> str:
    """The build of a venv layer: the venv made by the base's python3 (Debian's and
    Ubuntu's own python3 need python3-venv for it, installed then), the packages in it."""
    return (
        "set -eu\n"
        "py=$(command -v python3 || command -v python || true)\n"
        '[ -n "$py" ] || { echo "the image has no python3 on its PATH" >&2; exit 1; }\n'
        f'if ! "$py" -m venv {venv} >/tmp/dgm-venv.log 2>&1; then\n'
        f"  rm -rf {venv}\n"
        "  command -v apt-get >/dev/null || { cat /tmp/dgm-venv.log >&2; exit 1; }\n"
        "  export DEBIAN_FRONTEND=noninteractive\n"
        "  apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv\n"
        f'  "$py" -m venv {venv}\n'
        "fi\n"
        f"PIP_ROOT_USER_ACTION=ignore {venv}/bin/python -m pip install --no-cache-dir "
        f"--cert /tmp/dgm-layer/ca.crt -r /tmp/dgm-layer/requirements.txt{only_binary}\n"
    )


def _tar(files: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
