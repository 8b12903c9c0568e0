"""Reading a folder whose files go into a sandbox (an agent, a problem) without following links.

A symbolic link inside such a folder may point anywhere on the host: a link to
/proc/self/environ would copy dgm's own environment, API keys included, into the archive
and into every sandbox. So a link is refused, with one line naming it, and so is anything
that is neither a regular file nor a folder (a FIFO would block the read for ever). Files
are opened relative to their folder's descriptor with O_NOFOLLOW, so a link swapped in
while the folder is read is refused too. Caps on the number of files and on their sizes
keep a mistaken path (a home folder, a dataset) from being read whole.

Used by dgm for agent folders and by benchmarks for problem folders; `read_utf8` and
`utf8_text` are the one home of "this file is not UTF-8 text" (which byte, and the fix) for
every text file a user hands in.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
TRIM = "give a folder holding only its code (no data, caches or virtualenvs)"


class FolderError(ValueError):
    """A folder (or a file in it) cannot be read safely; the message names it and the fix."""


@dataclass(frozen=True)
class FolderLimits:
    """How much of a folder is read before giving up (an agent or a problem is small)."""

    max_files: int = 2000
    max_file_bytes: int = 16 * MIB
    max_total_bytes: int = 64 * MIB


DEFAULT_LIMITS = FolderLimits()


def _keep_all(rel: str) -> bool:
    return True


@dataclass(frozen=True)
class Folder:
    """A folder to read without following a link: `what` names it in errors ("agent
    folder"), `keep` (given a file's relative path) picks its files, `limits` caps them.
    `root` itself may be a link: the user named it. Its methods raise FolderError."""

    root: Path
    what: str
    keep: Callable[[str], bool] = _keep_all
    limits: FolderLimits = DEFAULT_LIMITS

    def files(self) -> dict[str, Path]:
        """Every regular file under `root` that `keep` accepts, by relative path, checked
        against `limits`, never following a link."""
        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise FolderError(f"{self.what} {root} is not a folder")
        top = root.resolve()
        label = f"{self.what} {root}"
        files: dict[str, Path] = {}
        total = 0
        try:
            for dirpath, dirnames, filenames, dirfd in os.fwalk(
                top, follow_symlinks=False, onerror=_raise
            ):
                rel_dir = Path(dirpath).relative_to(top)
                for name in sorted(dirnames + filenames):
                    rel = (rel_dir / name).as_posix()
                    if not self.keep(rel):
                        if name in dirnames:
                            dirnames.remove(name)  # not descended: links in .git or .venv are fine
                        continue
                    st = os.lstat(name, dir_fd=dirfd)
                    if stat.S_ISDIR(st.st_mode):
                        continue
                    _check_kind(label, rel, st.st_mode, name, dirfd)
                    _check_size(label, rel, st.st_size, self.limits.max_file_bytes)
                    total += st.st_size
                    if len(files) >= self.limits.max_files:
                        raise FolderError(
                            f"{label} holds more than {self.limits.max_files} files (the limit): {TRIM}"
                        )
                    if total > self.limits.max_total_bytes:
                        raise FolderError(
                            f"{label} holds more than {self.limits.max_total_bytes // MIB} MiB (the "
                            f"limit): {TRIM}"
                        )
                    files[rel] = top / rel
                dirnames.sort()
        except OSError as e:
            raise FolderError(f"{label}: cannot read {e.filename or ''}: {e.strerror}") from None
        return dict(sorted(files.items()))

    def read(self) -> dict[str, bytes]:
        """`files()` with their bytes, each read without following a link."""
        label = f"{self.what} {Path(self.root).expanduser()}"
        return {
            rel: read_file(path, label, self.limits.max_file_bytes, shown=rel)
            for rel, path in self.files().items()
        }


def _raise(e: OSError) -> None:
    raise e


def _check_kind(label: str, rel: str, mode: int, name: str, dirfd: int) -> None:
    if stat.S_ISLNK(mode):
        target = os.readlink(name, dir_fd=dirfd)
        raise FolderError(
            f"{label}: {rel} is a symbolic link (to {target}); links are not read: "
            "replace it with the file itself"
        )
    if not stat.S_ISREG(mode):
        raise FolderError(
            f"{label}: {rel} is not a regular file (a device, FIFO or socket): remove it"
        )


def _check_size(label: str, rel: str, size: int, limit: int) -> None:
    if size > limit:
        raise FolderError(
            f"{label}: {rel} is {size / MIB:.1f} MiB, over the {limit // MIB} MiB limit per "
            "file: remove it from the folder"
        )


def read_file(
    path: Path, what: str, limit: int = FolderLimits.max_file_bytes, shown: str | None = None
) -> bytes:
    """One regular file, at most `limit` bytes, refused if it is a link (O_NOFOLLOW: also
    when it became one after it was listed). Errors read "`what`: `shown` is ..."."""
    path = Path(path)
    shown = shown or str(path)
    try:
        dirfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise FolderError(f"{what}: cannot read {shown}: {e.strerror}") from None
    try:
        _check_kind(what, shown, os.lstat(path.name, dir_fd=dirfd).st_mode, path.name, dirfd)
        fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dirfd)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            _check_kind(what, shown, st.st_mode, path.name, dirfd)
            _check_size(what, shown, st.st_size, limit)
            data = f.read(limit + 1)
    except OSError as e:  # ELOOP: a link swapped in
        raise FolderError(f"{what}: cannot read {shown}: {e.strerror}") from None
    finally:
        os.close(dirfd)
    _check_size(what, shown, len(data), limit)
    return data


def utf8_text(data: bytes, shown: str, error: Callable[[str], Exception], fix: str) -> str:
    """`data` decoded as UTF-8; else `error` with one line naming `shown`, the first byte
    that is not UTF-8 and `fix` (the caller's own error type, so its handler reports it)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{shown} is not UTF-8 text (byte {e.start}): {fix}") from None


def read_utf8(
    path: Path, error: Callable[[str], Exception], fix: str, shown: str | None = None
) -> str:
    """The text of the file at `path`, newlines read as Path.read_text reads them; a file
    that cannot be read, or is not UTF-8 (see utf8_text), raises `error` naming `shown`
    (default: the path)."""
    shown = shown or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise error(f"cannot read {shown}: {e.strerror or e}") from None
    return utf8_text(data, shown, error, fix).replace("\r\n", "\n").replace("\r", "\n")
