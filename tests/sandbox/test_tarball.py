"""Copy-out safety on forged archives (what a compromised sandbox could send back)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sandbox import SandboxError
from sandbox.execstream import CappedBuffer, FrameReader
from sandbox.tarball import pack_files, unpack_files, write_tree


def forged(*members: tuple[str, str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            elif kind == "lnk":
                info.type, info.linkname = tarfile.LNKTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../escape", "out/../../escape", "out/a/../../../x"]
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(SandboxError, match="unsafe path"):
        unpack_files(
            forged(("out/ok", "file", b"1"), (name, "file", b"evil")), 1 << 20, strip_top=True
        )


def test_links_outside_are_skipped_and_links_inside_resolved() -> None:
    data = forged(
        ("out/a", "file", b"A"),
        ("out/sym", "sym", b"/etc/passwd"),
        ("out/hard-in", "lnk", b"out/a"),
        ("out/hard-out", "lnk", b"etc/shadow"),
    )
    assert unpack_files(data, 1 << 20, strip_top=True) == {"a": b"A", "hard-in": b"A"}


def test_size_cap_counts_content() -> None:
    data = forged(("out/a", "file", b"x" * 600), ("out/b", "file", b"y" * 600))
    with pytest.raises(SandboxError, match="cap"):
        unpack_files(data, 1000, strip_top=True)


def test_write_tree_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside)
    with pytest.raises(SandboxError):
        write_tree({"link/x": b"evil"}, dest)
    assert list(outside.iterdir()) == []
    (dest / "f").symlink_to(outside / "target")
    with pytest.raises(SandboxError):
        write_tree({"f": b"evil"}, dest)
    assert not (outside / "target").exists()


def test_pack_files_refuses_escaping_names() -> None:
    with pytest.raises(SandboxError):
        pack_files({"../x": b"1"})
    with pytest.raises(SandboxError):
        pack_files({"/abs": b"1"})


def test_frame_reader_splits_streams_and_caps() -> None:
    out, err = CappedBuffer(5), CappedBuffer(100)
    reader = FrameReader(out, err)
    wire = (
        b"\x01\x00\x00\x00\x00\x00\x00\x03abc"
        + b"\x02\x00\x00\x00\x00\x00\x00\x02er"
        + b"\x01\x00\x00\x00\x00\x00\x00\x04defg"
    )
    for i in range(0, len(wire), 3):  # arrives in arbitrary pieces
        reader.feed(wire[i : i + 3])
    assert bytes(out.data) == b"abcde" and out.truncated and out.seen == 7
    assert bytes(err.data) == b"er" and not err.truncated
