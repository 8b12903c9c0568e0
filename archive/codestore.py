"""Content-addressed storage: blobs, manifests and their delta compression.

A blob is one distinct content, keyed by its sha256 and stored once. Its bytes are
zlib-compressed, and when a natural "previous version" exists (the parent agent's copy
of the same file, the parent's manifest) they are compressed with that version as zlib's
preset dictionary: a one-line change to a 5 KB file then costs tens of bytes, not a
kilobyte. Chains are capped at MAX_DEPTH so reading any blob stays cheap.

A manifest is itself a blob: sorted lines `<blob key> <path>`, delta-compressed against
the parent's manifest, so a child that changes one file of 200 adds one short manifest
delta rather than 200 rows. It names blobs by their integer key, not their 64-character
hash: random hex does not compress, and a full manifest is stored every MANIFEST_MAX_DEPTH
generations, so short keys make both the deltas and the periodic full copies small.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from archive.errors import ArchiveError
from archive.models import Blob

MAX_DEPTH = 32  # longest delta chain of a file; beyond it the blob is stored whole
MANIFEST_MAX_DEPTH = 64  # manifests are small to decompress, and a full one costs more
PENDING = "dgm_archive_blobs_to_cache"  # key in Connection.info
ZDICT_LIMIT = 32 * 1024  # zlib only looks back 32 KB, so larger bases buy little


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def compress(raw: bytes, base: bytes | None = None) -> bytes:
    c = zlib.compressobj(6, zdict=base) if base else zlib.compressobj(6)
    return c.compress(raw) + c.flush()


def decompress(data: bytes, base: bytes | None = None) -> bytes:
    d = zlib.decompressobj(zdict=base) if base else zlib.decompressobj()
    return d.decompress(data) + d.flush()


def check_path(path: str) -> str:
    """A manifest path: relative, POSIX, normalised, no '..', no control characters."""
    parts = path.split("/")
    if (
        not path
        or "" in parts
        or "." in parts
        or ".." in parts
        or "\\" in path
        or any(c in path for c in "\n\r\0")
    ):
        raise ArchiveError(f"invalid file path {path!r}: use a relative POSIX path without '..'")
    return path


def encode_manifest(entries: Mapping[str, int]) -> bytes:
    """{path: blob key} -> manifest bytes (deterministic, so identical trees dedupe)."""
    return "".join(f"{entries[p]} {p}\n" for p in sorted(entries)).encode()


def decode_manifest(data: bytes) -> dict[str, int]:
    out = {}
    for line in data.decode().splitlines():
        key, path = line.split(" ", 1)
        out[path] = int(key)
    return out


# Prepared once: "expanding" IN parameters keep SQLAlchemy's statement cache warm instead of
# building one bound parameter per value on every call.
BY_HASH = select(Blob.hash, Blob.pk).where(Blob.hash.in_(bindparam("hashes", expanding=True)))
BY_PK = select(Blob.pk, Blob.base_pk, Blob.data, Blob.hash, Blob.depth).where(
    Blob.pk.in_(bindparam("pks", expanding=True))
)
DEPTHS = select(Blob.pk, Blob.depth).where(Blob.pk.in_(bindparam("pks", expanding=True)))


class BlobCache:
    """Raw contents and delta-chain depths by blob key. Blobs never change, so sharing
    across threads is safe. The depth rides along so that a child delta-compressed against
    a cached parent blob needs no query to check the chain's cap."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: OrderedDict[int, tuple[bytes, int]] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def get(self, pk: int) -> bytes | None:
        with self._lock:
            item = self._items.get(pk)
            if item is None:
                return None
            self._items.move_to_end(pk)
            return item[0]

    def depth(self, pk: int) -> int | None:
        """The blob's delta-chain depth, when its contents are cached."""
        with self._lock:
            item = self._items.get(pk)
            return None if item is None else item[1]

    def put(self, pk: int, raw: bytes, depth: int) -> None:
        if len(raw) > self._max // 8:
            return
        with self._lock:
            if pk in self._items:
                return
            self._items[pk] = (raw, depth)
            self._bytes += len(raw)
            while self._bytes > self._max:
                _, (old, _depth) = self._items.popitem(last=False)
                self._bytes -= len(old)


class BlobStore:
    """Reads and writes blobs through a caller's connection (the caller owns the transaction)."""

    def __init__(self, cache: BlobCache) -> None:
        self.cache = cache

    def put(
        self, conn: Connection, raw: bytes, base_pk: int | None = None, max_depth: int = MAX_DEPTH
    ) -> int:
        """Store `raw` (once) and return its key; `base_pk` is a hint for delta compression."""
        return self.put_many(conn, [(raw, base_pk)], max_depth)[0]

    def put_many(
        self,
        conn: Connection,
        items: Sequence[tuple[bytes, int | None]],
        max_depth: int = MAX_DEPTH,
    ) -> list[int]:
        """Store many (raw, base hint) pairs in a few statements; their keys, in order."""
        digests = [sha256(raw) for raw, _ in items]
        known = self.pks_by_hash(conn, digests)
        new: dict[bytes, tuple[bytes, int | None]] = {}
        for digest, item in zip(digests, items, strict=True):
            if digest not in known:
                new.setdefault(digest, item)
        if new:
            hints = {base for _, base in new.values() if base is not None}
            depths = {b: d for b in hints if (d := self.cache.depth(b)) is not None}
            unknown = [b for b in hints if b not in depths]
            if unknown:
                depths.update((pk, d) for pk, d in conn.execute(DEPTHS, {"pks": unknown}))
            usable = [b for b in hints if depths.get(b, max_depth) < max_depth]
            bases = self.get_many(conn, usable)
            rows = []
            new_depths: dict[bytes, int] = {}
            for digest, (raw, base) in new.items():
                base_raw = bases.get(base) if base is not None else None
                if base_raw is not None and len(base_raw) > ZDICT_LIMIT:
                    base_raw = None
                depth = depths[base] + 1 if base_raw is not None else 0  # type: ignore[index]
                new_depths[digest] = depth
                rows.append(
                    {
                        "hash": digest,
                        "size": len(raw),
                        "base_pk": base if base_raw is not None else None,
                        "depth": depth,
                        "data": compress(raw, base_raw),
                    }
                )
            # RETURNING gives the new keys in the same statement; a hash another writer
            # stored between our SELECT and this INSERT is skipped and looked up after.
            inserted = conn.execute(_insert_ignoring_duplicates(conn), rows)
            stored = {digest: pk for digest, pk in inserted}
            known.update(stored)
            if len(known) < len(set(digests)):
                known.update(self.pks_by_hash(conn, [d for d in new if d not in known]))
            for digest, pk in stored.items():  # not the others': their depth is another's
                self._remember(conn, pk, new[digest][0], new_depths[digest])
        return [known[d] for d in digests]

    def _remember(self, conn: Connection, pk: int, raw: bytes, depth: int) -> None:
        """Cache only after commit: a rolled-back key may be reused for other content."""
        conn.info.setdefault(PENDING, []).append((pk, raw, depth))

    def committed(self, conn: Connection) -> None:
        """The caller's transaction committed: cache what it read and wrote."""
        for pk, raw, depth in conn.info.pop(PENDING, ()):
            self.cache.put(pk, raw, depth)

    def get(self, conn: Connection, pk: int) -> bytes:
        return self.get_many(conn, [pk])[pk]

    def get_many(self, conn: Connection, pks: Iterable[int]) -> dict[int, bytes]:
        """Raw contents for many keys, resolving delta chains one level per query."""
        out: dict[int, bytes] = {}
        missing = []
        for pk in set(pks):
            raw = self.cache.get(pk)
            if raw is None:
                missing.append(pk)
            else:
                out[pk] = raw
        if not missing:
            return out
        rows: list[Any] = []
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            rows += conn.execute(BY_PK, {"pks": chunk}).all()
        if len(rows) != len(missing):
            raise ArchiveError("the archive is corrupt: a blob it refers to is missing")
        bases = self.get_many(conn, [r.base_pk for r in rows if r.base_pk is not None])
        for r in rows:
            try:
                raw = decompress(r.data, bases.get(r.base_pk) if r.base_pk is not None else None)
            except zlib.error as e:
                raise ArchiveError(
                    f"the archive is corrupt: blob {r.hash.hex()[:12]} ({e})"
                ) from None
            out[r.pk] = raw
            self._remember(conn, r.pk, raw, r.depth)
        return out

    def pks_by_hash(self, conn: Connection, digests: Iterable[bytes]) -> dict[bytes, int]:
        digests = list(set(digests))
        out: dict[bytes, int] = {}
        for i in range(0, len(digests), 500):
            chunk = digests[i : i + 500]
            out.update((digest, pk) for digest, pk in conn.execute(BY_HASH, {"hashes": chunk}))
        return out


def dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT of the connection's dialect (PostgreSQL or
    SQLite). Imported on use: the PostgreSQL dialect is slow to import and a SQLite reader
    never needs it."""
    return importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}").insert


_INSERTS: dict[str, Any] = {}  # dialect name -> the statement below, built once


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    """INSERT that skips a hash another writer stored first (content-addressed: same bytes),
    returning the keys of the rows it stored."""
    stmt = _INSERTS.get(conn.dialect.name)
    if stmt is None:
        if conn.dialect.name in ("postgresql", "sqlite"):
            stmt = dialect_insert(conn)(Blob).on_conflict_do_nothing(index_elements=["hash"])
        else:
            stmt = insert(Blob)
        stmt = _INSERTS[conn.dialect.name] = stmt.returning(Blob.hash, Blob.pk)
    return stmt
