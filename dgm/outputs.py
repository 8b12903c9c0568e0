"""Where commands write: one rule for every file or folder a command creates.

- An output that exists (a file, or a folder with anything in it) is refused unless the
  user passed `--force`; a forced folder keeps its other files, ours replace theirs.
- An output that is the archive (the same file through any path, link or hard link, or one
  of SQLite's -wal/-shm/-journal files beside it) is refused always, `--force` or not.
- A file is written atomically: a temporary file in the same folder, fsync, rename. A new
  folder is filled under a temporary name and renamed into place: an interrupted or failed
  write leaves nothing half-written. An existing folder (empty, or forced) is filled file by
  file, each file atomically, so it keeps its owner and mode.
- An unwritable or odd path (a folder where a file goes, a missing parent folder, no
  permission, /proc) is a UserError: one line naming the path, exit 2.

Every command that writes (`dgm bench export -o`, `dgm report --out`, `dgm archive export`,
the archive `dgm run` creates) goes through here.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dgm.errors import UserError

SQLITE_SIBLINGS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Output:
    """Where a command writes, as the user named it."""

    path: Path
    flag: str
    """How the user gave it, for messages: `-o`, `--out`, `DEST`."""
    force: bool = False
    archive: str | None = None
    """The archive (a path or URL) the command reads: never overwritten."""

    def named(self, path: Path | None = None) -> str:
        return f"{self.flag} {path or self.path}"


def archive_file(location: str | None) -> Path | None:
    """The local file behind an archive location (a SQLite path or URL), else None."""
    if not location:
        return None
    if "://" not in location:
        return Path(location).expanduser()
    if not location.startswith("sqlite"):
        return None
    database = location.split("://", 1)[1].split("?", 1)[0]
    database = database[1:] if database.startswith("/") else database  # sqlite:///rel, ////abs
    return Path(database) if database and database != ":memory:" else None


def is_archive(target: Path, location: str | None) -> bool:
    """Whether writing `target` would overwrite the archive or one of its SQLite files."""
    db = archive_file(location)
    if db is None:
        return False
    resolved = db.resolve()
    guarded = [resolved.with_name(resolved.name + s) for s in SQLITE_SIBLINGS]
    if target.resolve() in guarded:
        return True
    try:
        target_stat = os.stat(target)
    except OSError:
        return False
    for g in guarded:
        try:
            if os.path.samestat(target_stat, os.stat(g)):  # a hard link or a bind mount
                return True
        except OSError:
            continue
    return False


def _refuse_archive(out: Output, target: Path) -> None:
    if is_archive(target, out.archive):
        raise UserError(
            f"{out.named(target)} is the archive itself: write somewhere else "
            "(--force never overwrites the archive)"
        )


def _existing(out: Output, what: str) -> UserError:
    return UserError(f"{out.named()} already exists ({what}): choose a new path, or add --force")


def _check_parent(out: Output, make_parents: bool) -> None:
    parent = out.path.absolute().parent
    if make_parents:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _os_error(out, e) from None
    if not parent.is_dir():
        raise UserError(f"{out.named()}: no folder {parent}: create it first or choose another")


def _os_error(out: Output, e: OSError) -> UserError:
    return UserError(f"cannot write {out.named()}: {e.strerror or e}")


def check_file(out: Output) -> None:
    """Refuse before any work is done: the archive, an existing file without --force, a
    folder, a device or pipe, a link to nothing, a missing parent folder."""
    _refuse_archive(out, out.path)
    if out.path.is_dir():
        raise UserError(f"{out.named()} is a folder: give a file path")
    if out.path.is_symlink() and not out.path.exists():
        raise UserError(f"{out.named()} is a link to nothing: give another path")
    if out.path.exists():
        if not stat.S_ISREG(out.path.stat().st_mode):  # /dev/null, a FIFO: never replaced
            raise UserError(f"{out.named()} is not a regular file: give a file path")
        if not out.force:
            raise _existing(out, "a file")
    _check_parent(out, make_parents=False)


def write_file(out: Output, data: bytes) -> Path:
    """Write `data` to `out.path` atomically, under the rule above. Through a link, the file
    it points to is replaced and the link stays."""
    check_file(out)
    try:
        _atomic_write(out.path.resolve() if out.path.exists() else out.path, data)
    except OSError as e:
        raise _os_error(out, e) from None
    return out.path


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.absolute().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_synced(f.fileno(), data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.absolute().parent)


def _write_synced(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fchmod(fd, 0o666 & ~_umask())  # what a plain open() would have made, not mkstemp's 0600
    os.fsync(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # the rename happened; a folder we cannot open cannot be synced either
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_folder(out: Output, make_parents: bool = False) -> None:
    """Refuse before any work is done: the archive, a file, a folder with something in it
    (without --force), a missing parent folder (unless `make_parents`: a default path)."""
    _refuse_archive(out, out.path)
    if out.path.is_symlink() and not out.path.is_dir():
        raise UserError(f"{out.named()} is a link to no folder: give a folder path")
    if out.path.exists():
        if not out.path.is_dir():
            raise UserError(f"{out.named()} is a file: give a folder path")
        if any(out.path.iterdir()) and not out.force:
            raise _existing(out, "a folder with files in it")
        return
    _check_parent(out, make_parents)


def write_folder(out: Output, files: Mapping[str, bytes], make_parents: bool = False) -> Path:
    """Write `files` (relative path -> bytes) into the folder `out.path`, under the rule above."""
    check_folder(out, make_parents)
    for rel in files:
        _refuse_archive(out, out.path / _safe_rel(out, rel))
    dest = out.path.resolve() if out.path.exists() else out.path  # a link to a folder stays
    try:
        # An existing folder (empty, or --force) is filled file by file: it keeps its owner and
        # mode, and its parent may be one we cannot write (no rename of the folder itself).
        if dest.exists():
            for rel, data in files.items():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write(target, data)
        else:
            _fill_and_rename(dest, files)
    except OSError as e:
        raise _os_error(out, e) from None
    return out.path


def _safe_rel(out: Output, rel: str) -> str:
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        raise UserError(f"{out.named()}: refusing to write {rel!r} outside the folder")
    return rel


def _fill_and_rename(dest: Path, files: Mapping[str, bytes]) -> None:
    """A new folder appears whole or not at all."""
    parent = dest.absolute().parent
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_synced(fd, data)
            finally:
                os.close(fd)
        for path in [*tmp.rglob("*"), tmp]:
            if path.is_dir():
                os.chmod(path, 0o777 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)
