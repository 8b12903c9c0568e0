"""Tar streams in and out of a sandbox. Packing is for trusted host files; unpacking
treats the archive as hostile (it came out of a sandbox): no symlinks, no links, no
devices, no absolute names, no `..`, and a cap on the total size."""

from __future__ import annotations

import io
import logging
import os
import posixpath
import tarfile
from collections.abc import Mapping
from pathlib import Path

from sandbox.protocol import SANDBOX_UID, SandboxError

log = logging.getLogger(__name__)


def pack_dir(src: Path) -> bytes:
    """A tar of the contents of `src` (names relative to it). Symlinks are kept as links."""
    if not src.is_dir():
        raise SandboxError(f"put_dir: {src} is not a directory")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = Path(root) / name
                info = tar.gettarinfo(str(path), arcname=path.relative_to(src).as_posix())
                _own(info)
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                elif info.isdir() or info.issym():
                    tar.addfile(info)
    return buf.getvalue()


def pack_files(files: Mapping[str, bytes]) -> bytes:
    """A tar holding `files` (relative path -> content), with parent directories."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            rel = safe_relpath(name)
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mode = file_mode(data)
            _own(info)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def file_mode(data: bytes) -> int:
    """The mode a file copied in gets: a script (#!) may be run, nothing else."""
    return 0o755 if data.startswith(b"#!") else 0o644


def _own(info: tarfile.TarInfo) -> None:
    info.uid = info.gid = SANDBOX_UID
    info.uname = info.gname = ""


def safe_relpath(name: str) -> str:
    """`name` normalised, or SandboxError when it is absolute, empty or climbs out with `..`."""
    norm = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith("/") or norm in (".", "") or norm == ".." or norm.startswith("../"):
        raise SandboxError(
            f"unsafe path {name!r}: only relative paths inside the directory are allowed"
        )
    return norm


def unpack_files(data: bytes, cap_bytes: int, strip_top: bool) -> dict[str, bytes]:
    """Regular files of a hostile tar as {relative path: content}.

    `strip_top` drops the first path component (tar was made as `tar -c NAME`). Symlinks,
    hard links and special files are skipped with a warning; unsafe names and more than
    `cap_bytes` of content raise SandboxError.
    """
    out: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                name = safe_relpath(info.name)
                if strip_top:
                    parts = name.split("/", 1)
                    name = parts[1] if len(parts) == 2 else ""
                if info.isdir():
                    continue
                if info.islnk():
                    # A hard link to a file earlier in this archive: take that file's
                    # content (never anything outside the archive).
                    target = safe_relpath(info.linkname)
                    if strip_top:
                        target = target.split("/", 1)[-1]
                    if target in out:
                        total += len(out[target])
                        if total > cap_bytes:
                            raise SandboxError(
                                f"copy-out is larger than the cap of {cap_bytes} bytes; raise Limits.copy_out_cap_mb"
                            )
                        out[name] = out[target]
                        continue
                if not info.isreg():
                    log.warning(
                        "copy-out: skipped %s (%s is not a regular file)", info.name, _kind(info)
                    )
                    continue
                total += info.size
                if total > cap_bytes:
                    raise SandboxError(
                        f"copy-out is larger than the cap of {cap_bytes} bytes; raise Limits.copy_out_cap_mb"
                    )
                f = tar.extractfile(info)
                out[name or posixpath.basename(info.name)] = f.read() if f else b""
    except tarfile.TarError as e:
        raise SandboxError(f"copy-out: unreadable archive from the sandbox ({e})") from e
    return out


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hard link"
    return "special file"


def write_tree(files: Mapping[str, bytes], dest: Path) -> None:
    """Write {relative path: bytes} under `dest`, never outside it, never through a symlink."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    for name, data in files.items():
        rel = safe_relpath(name)
        target = root / rel
        parent = target.parent
        parent.mkdir(parents=True, exist_ok=True)
        # A pre-existing symlink anywhere on the way could redirect the write outside.
        if not parent.resolve().is_relative_to(root) or target.is_symlink():
            raise SandboxError(
                f"copy-out: refusing to write {name!r} through a symlink under {dest}"
            )
        target.write_bytes(data)
