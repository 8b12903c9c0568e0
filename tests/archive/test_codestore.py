"""Content-addressed code: dedup, delta chains, manifests, materialise, diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import Archive, ArchiveError
from archive.codestore import (
    MANIFEST_MAX_DEPTH,
    BlobCache,
    compress,
    decode_manifest,
    decompress,
    encode_manifest,
    sha256,
)
from archive.models import Blob
from tests.archive.conftest import agent_files, edit


def blob_stats(archive: Archive) -> tuple[int, int]:
    with archive.engine.connect() as conn:
        n, size = conn.execute(select(func.count(), func.sum(func.length(Blob.data)))).one()
    return n, int(size or 0)


def test_identical_content_is_stored_once(archive: Archive) -> None:
    run = archive.create_run("r")
    files = agent_files()
    archive.add_agent(run, files)
    before = blob_stats(archive)
    twin = archive.add_agent(run, dict(files))  # same tree: same blobs, same manifest
    archive.add_agent(archive.create_run("r2"), dict(files))
    assert blob_stats(archive) == before
    assert archive.agent_files(twin) == files


def test_a_thousand_one_line_children_cost_a_thousand_small_blobs(archive: Archive) -> None:
    run = archive.create_run("r")
    files = agent_files(n=200, lines=30)
    parent = archive.add_agent(run, files)
    n0, size0 = blob_stats(archive)
    current = files
    for i in range(1000 if archive.engine.dialect.name == "sqlite" else 200):
        path = f"agent/mod{i % 200:03d}.py"
        current = edit(current, path, b"return x", f"return -{i} + x".encode())
        parent = archive.add_agent(run, current, parent_id=parent)
    n1, size1 = blob_stats(archive)
    children = i + 1
    assert n1 - n0 == 2 * children  # one file blob and one manifest blob per child
    per_child = (size1 - size0) / children
    # A full copy of the changed file alone would be ~600 bytes compressed; the
    # whole 200-file tree ~30 KB. Deltas keep a child to a few hundred bytes.
    assert per_child < 200, per_child
    assert archive.agent_files(parent) == current


def test_delta_chains_are_capped(archive: Archive) -> None:
    run = archive.create_run("r")
    files = {"a.py": b"line\n" * 100}
    parent = archive.add_agent(run, files)
    for i in range(MANIFEST_MAX_DEPTH + 3):
        files = {"a.py": files["a.py"] + f"extra {i}\n".encode()}
        parent = archive.add_agent(run, files, parent_id=parent)
    with archive.engine.connect() as conn:
        depths = list(conn.execute(select(Blob.depth)).scalars())
    assert max(depths) == MANIFEST_MAX_DEPTH
    assert depths.count(0) == 2 + 2 + 1  # roots; file chain restarts twice, manifests once
    fresh = Archive(archive.url)  # a cold cache walks every chain from the database
    assert fresh.agent_files(parent) == files
    fresh.close()


def test_materialize_round_trip(archive: Archive, tmp_path: Path) -> None:
    run = archive.create_run("r")
    files = {
        "agent/__init__.py": b"",
        "agent/deep/nested/tool.py": "print('héllo')\n".encode(),
        "README.md": b"# agent\n",
        "data/blob.bin": bytes(range(256)) * 3,
    }
    agent = archive.add_agent(run, files)
    out = archive.materialize(agent, tmp_path / "out")
    found = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert found == files
    with pytest.raises(ArchiveError, match="not an empty directory"):
        archive.materialize(agent, out)


def test_diff_between_agents(archive: Archive) -> None:
    run = archive.create_run("r")
    files = agent_files(n=3)
    a = archive.add_agent(run, files)
    b_files = edit(files, "agent/mod001.py", b"return x * 2 + 1", b"return x * 2 + 100")
    b_files.pop("agent/mod002.py")
    b_files["agent/new.py"] = b"NEW = 1\n"
    b = archive.add_agent(run, b_files, parent_id=a)
    text = archive.diff(b)
    assert text == archive.diff(a, b)
    assert "diff --git a/agent/mod001.py b/agent/mod001.py" in text
    assert "-    return x * 2 + 1\n+    return x * 2 + 100\n" in text
    assert "--- a/agent/mod002.py\n+++ /dev/null" in text
    assert "--- /dev/null\n+++ b/agent/new.py\n@@ -0,0 +1 @@\n+NEW = 1\n" in text
    assert "mod000" not in text
    assert archive.diff(a, a) == ""
    assert "+++ b/agent/mod000.py" in archive.diff(a)  # a root: against the empty tree
    agent = archive.agent(b)
    assert (agent.files_changed, agent.lines_added, agent.lines_removed) == (
        3,
        2,
        1 + len(files["agent/mod002.py"].splitlines()),
    )


def test_compression_and_manifest_helpers() -> None:
    base = b"".join(f"line {i}\n".encode() for i in range(500))
    new = base.replace(b"line 250\n", b"line 250 changed\n")
    delta = compress(new, base)
    assert len(delta) < len(compress(new)) / 5
    assert decompress(delta, base) == new
    entries = {"b/x.py": 12, "a.py": 7}
    data = encode_manifest(entries)
    assert data.decode().splitlines()[0].endswith(" a.py")  # sorted: deterministic
    assert decode_manifest(data) == entries
    assert encode_manifest(dict(reversed(list(entries.items())))) == data


def test_blob_cache_is_bounded() -> None:
    cache = BlobCache(max_bytes=1000)
    for i in range(50):
        cache.put(i, b"x" * 100, 0)
    assert cache.get(0) is None and cache.get(49) == b"x" * 100


def test_a_blob_twice_in_one_batch_is_stored_once(archive: Archive) -> None:
    run = archive.create_run("r")
    agent = archive.add_agent(run, {"a.py": b"a", "b.py": b"same", "c.py": b"same"})
    before = blob_stats(archive)[0]
    archive.record_evaluations(
        agent,
        [
            dict(task_id="t1", stage="s", resolved=True, patch="new text", logs="new text"),
            dict(task_id="t2", stage="s", resolved=False, patch="new text"),
        ],
    )
    assert blob_stats(archive)[0] == before + 1
    first, second = archive.evaluations(agent)
    assert first.patch == first.logs == second.patch == b"new text"
    assert archive.agent_files(agent) == {"a.py": b"a", "b.py": b"same", "c.py": b"same"}


def test_a_cold_archive_extends_a_chain_as_a_warm_one_does(archive: Archive) -> None:
    # The writer knows its own blobs' depths from its cache; another process reads them.
    run = archive.create_run("r")
    files = {"a.py": b"line\n" * 100}
    parent = archive.add_agent(run, files)
    for i in range(5):
        files = {"a.py": files["a.py"] + f"extra {i}\n".encode()}
        parent = archive.add_agent(run, files, parent_id=parent)
    cold = Archive(archive.url)
    warm_child = archive.add_agent(run, {"a.py": files["a.py"] + b"warm\n"}, parent_id=parent)
    cold_child = cold.add_agent(run, {"a.py": files["a.py"] + b"cold\n"}, parent_id=parent)
    cold.close()
    with archive.engine.connect() as conn:
        depth = lambda data: conn.execute(  # noqa: E731
            select(Blob.depth).where(Blob.hash == sha256(data))
        ).scalar_one()
        assert depth(files["a.py"] + b"warm\n") == depth(files["a.py"] + b"cold\n") == 6
    assert archive.agent_files(cold_child)["a.py"].endswith(b"cold\n")
    assert archive.agent_files(warm_child)["a.py"].endswith(b"warm\n")
