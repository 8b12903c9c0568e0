"""A suite's instance images: which it needs, which are missing, their download size
(from the registry's manifests), pulling them through the Docker SDK, and pruning the
instance images a suite no longer needs.

An instance image is named as SWE-bench names them: the last part of its repository
starts with `sweb.eval.` (`swebench/sweb.eval.x86_64.django_1776_django-11099:latest`).
Pruning only ever considers such images, and only those under the same registry and
namespace as the suite's own images: an image of another registry, namespace or naming
is never touched.

Suites whose tasks run in the sandbox image (swe-mini, polyglot) need no instance image.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.suites import Suite, SuiteError, SWEBench
from benchmarks.task import Task

INSTANCE_PREFIX = "sweb.eval."
DOCKER_HUB = "registry-1.docker.io"
MANIFESTS = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Reference:
    """An image name split as Docker reads it."""

    registry: str  # host[:port], Docker Hub's for names without one
    repository: str  # path in the registry (library/NAME for Docker Hub's short names)
    tag: str

    @property
    def namespace(self) -> str:
        """registry and repository without its last part: what pruning stays within."""
        return f"{self.registry}/{self.repository.rpartition('/')[0]}"

    @property
    def is_instance(self) -> bool:
        return self.repository.rpartition("/")[2].startswith(INSTANCE_PREFIX)


def parse(image: str) -> Reference:
    name, tag = image, "latest"
    if "@" in name:
        name, tag = name.split("@", 1)
    elif ":" in name.rpartition("/")[2]:
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return Reference(first, rest, tag)
    return Reference(DOCKER_HUB, name if "/" in name else f"library/{name}", tag)


def needed_images(suite: Suite, tasks: list[Task]) -> list[str]:
    """The instance images these tasks run in (none for suites that use the sandbox image)."""
    if not isinstance(suite, SWEBench):
        return []
    from benchmarks import swebench

    return list(dict.fromkeys(swebench.image_name(suite.instance(t.instance_id)) for t in tasks))


def missing(client: Any, images: list[str]) -> list[str]:
    from sandbox.image import image_exists

    return [i for i in images if not image_exists(client, i)]


# --- the registry ---------------------------------------------------------------------


class RegistryError(SuiteError):
    """No registry answers for an image (offline, a wrong host): one line says which."""


def _base(ref: Reference) -> str:
    host = ref.registry.split(":")[0]
    local = host == "localhost" or host.startswith("127.") or host == "::1"
    return f"{'http' if local else 'https'}://{ref.registry}/v2"


def _get(url: str, accept: str = "", token: str = "") -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": accept} if accept else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - a registry URL
            return response.status, dict(response.headers), response.read(4 << 20)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def _token(challenge: str, ref: Reference) -> str:
    """An anonymous pull token from the registry's Bearer challenge (Docker Hub's flow)."""
    fields = dict(
        part.split("=", 1) for part in challenge.removeprefix("Bearer ").split(",") if "=" in part
    )
    fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
    realm = fields.pop("realm", "")
    if not realm:
        return ""
    query = urllib.parse.urlencode(
        {"service": fields.get("service", ""), "scope": f"repository:{ref.repository}:pull"}
    )
    status, _, body = _get(f"{realm}?{query}")
    data = json.loads(body or b"{}") if status == 200 else {}
    return str(data.get("token") or data.get("access_token") or "")


def reachable(image: str) -> None:
    """Raise RegistryError if the image's registry does not answer at all."""
    ref = parse(image)
    try:
        _get(f"{_base(ref)}/")
    except (OSError, ValueError) as e:
        why = getattr(e, "reason", None) or e
        raise RegistryError(
            f"no registry reachable for {image} ({ref.registry}: {str(why)[:120]}): pull where "
            "a registry answers, or build the image (`swebench images build`), then retry"
        ) from None


def download_size(image: str) -> int | None:
    """The image's compressed size for linux/amd64, summed from its manifest's layers;
    None when the registry does not say (no such image, an auth it wants)."""
    ref = parse(image)
    url = f"{_base(ref)}/{ref.repository}/manifests/{ref.tag}"
    try:
        status, headers, body = _get(url, MANIFESTS)
        token = ""
        if status == 401:
            token = _token(
                headers.get("Www-Authenticate", headers.get("WWW-Authenticate", "")), ref
            )
            status, headers, body = _get(url, MANIFESTS, token)
        if status != 200:
            return None
        manifest = json.loads(body)
        if "manifests" in manifest:  # a list: the amd64 Linux one
            chosen = next(
                (
                    m
                    for m in manifest["manifests"]
                    if (m.get("platform") or {}).get("architecture") == "amd64"
                    and (m.get("platform") or {}).get("os") == "linux"
                ),
                None,
            )
            if chosen is None:
                return None
            status, _, body = _get(
                f"{_base(ref)}/{ref.repository}/manifests/{chosen['digest']}", MANIFESTS, token
            )
            if status != 200:
                return None
            manifest = json.loads(body)
        layers = manifest.get("layers") or []
        return sum(int(layer.get("size") or 0) for layer in layers) + int(
            (manifest.get("config") or {}).get("size") or 0
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- pulling and pruning --------------------------------------------------------------


Progress = Callable[[str, int, int], None]
"""(image, bytes done, bytes known so far) as a pull goes."""


def pull(client: Any, image: str, progress: Progress = lambda _i, _d, _t: None) -> None:
    """Pull one image through the Docker SDK, reporting bytes as its layers download."""
    if "@" in image:  # by digest: the whole reference
        name, tag = image, None
    else:
        tag = parse(image).tag
        name = image.removesuffix(f":{tag}")
    layers: dict[str, tuple[int, int]] = {}
    try:
        for event in client.api.pull(name, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise RegistryError(f"pulling {image} failed: {str(event['error'])[:200]}")
            detail = event.get("progressDetail") or {}
            layer = event.get("id")
            if layer and event.get("status") == "Downloading" and detail.get("total"):
                layers[layer] = (int(detail.get("current") or 0), int(detail["total"]))
            elif layer and event.get("status") in ("Download complete", "Pull complete"):
                total = layers.get(layer, (0, 0))[1]
                layers[layer] = (total, total)
            done = sum(c for c, _ in layers.values())
            progress(image, done, sum(t for _, t in layers.values()))
    except RegistryError:
        raise
    except Exception as e:  # noqa: BLE001 - the engine's and the SDK's errors alike: one line
        raise RegistryError(f"pulling {image} failed: {str(e).splitlines()[0][:200]}") from None


def prunable(client: Any, images: list[str]) -> list[str]:
    """Local instance images under the namespaces of `images` that `images` does not name."""
    keep = {_normal(i) for i in images}
    spaces = {parse(i).namespace for i in images}
    out = []
    for img in client.images.list():
        for tag in img.tags:
            ref = parse(tag)
            if ref.is_instance and ref.namespace in spaces and _normal(tag) not in keep:
                out.append(tag)
    return sorted(out)


def _normal(image: str) -> str:
    ref = parse(image)
    return f"{ref.registry}/{ref.repository}:{ref.tag}"


def remove(client: Any, tag: str) -> str | None:
    """Remove one image tag; None, or why it stays (a container uses it)."""
    import docker.errors

    try:
        client.images.remove(tag)
        return None
    except docker.errors.APIError as e:
        return str(e.explanation or e).splitlines()[0][:200]
