"""Talking to one `docker exec` over its hijacked socket: send stdin, read the
multiplexed stdout/stderr frames under a deadline, keep at most a cap of each.

docker-py's `exec_run` can neither feed stdin nor stop waiting, so this speaks the wire
format directly: each frame is an 8-byte header (stream id, 3 zero bytes, big-endian
length) followed by that many bytes.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HEADER = struct.Struct(">BxxxL")


@dataclass
class CappedBuffer:
    """Keeps the first `cap` bytes written to it and counts the rest; `tee` sees them live."""

    cap: int
    tee: Callable[[bytes], None] | None = None
    data: bytearray = field(default_factory=bytearray)
    seen: int = 0

    def write(self, chunk: bytes) -> None:
        if self.tee is not None and self.seen < self.cap:
            self.tee(chunk[: self.cap - self.seen])
        self.seen += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.seen > len(self.data)


@dataclass
class StreamOutcome:
    stdout: CappedBuffer
    stderr: CappedBuffer
    finished: bool  # the stream ended (the process exited); False: deadline or flood
    flooded: bool  # stopped reading because output passed the flood limit


def capped_pair(
    out_cap: int, err_cap: int, on_output: Callable[[str, bytes], None] | None
) -> tuple[CappedBuffer, CappedBuffer]:
    """Buffers for stdout and stderr, each streaming to `on_output(stream, chunk)` if given."""
    if on_output is None:
        return CappedBuffer(out_cap), CappedBuffer(err_cap)
    return (
        CappedBuffer(out_cap, tee=lambda b: on_output("stdout", b)),
        CappedBuffer(err_cap, tee=lambda b: on_output("stderr", b)),
    )


class FrameReader:
    """Incremental parser of the multiplexed stream."""

    def __init__(self, stdout: CappedBuffer, stderr: CappedBuffer) -> None:
        self.pending = bytearray()
        self.sinks = {1: stdout, 2: stderr}

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        while len(self.pending) >= HEADER.size:
            stream, size = HEADER.unpack_from(self.pending)
            if len(self.pending) < HEADER.size + size:
                return
            payload = bytes(self.pending[HEADER.size : HEADER.size + size])
            del self.pending[: HEADER.size + size]
            sink = self.sinks.get(stream)
            if sink is not None:
                sink.write(payload)


def pump(
    sock: socket.socket,
    stdin: bytes | None,
    deadline: float,
    stdout_cap: int,
    stderr_cap: int,
    flood_limit: int,
    on_output: Callable[[str, bytes], None] | None = None,
) -> StreamOutcome:
    """Send `stdin` (then EOF), read frames until EOF, the deadline, or `flood_limit`
    bytes of output in total. Never blocks past the deadline."""
    out, err = capped_pair(stdout_cap, stderr_cap, on_output)
    reader = FrameReader(out, err)
    sock.setblocking(False)
    to_send = memoryview(stdin) if stdin is not None else None
    if to_send is not None and len(to_send) == 0:
        sock.shutdown(socket.SHUT_WR)
        to_send = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return StreamOutcome(out, err, finished=False, flooded=False)
        wlist = [sock] if to_send is not None else []
        readable, writable, _ = select.select([sock], wlist, [], min(left, 1.0))
        if writable and to_send is not None:
            try:
                to_send = to_send[sock.send(to_send[: 1 << 20]) :]
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                to_send = memoryview(b"")  # the process stopped reading; its exit code will say why
            if to_send is not None and len(to_send) == 0:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                to_send = None
        if readable:
            try:
                chunk = sock.recv(1 << 16)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return StreamOutcome(out, err, finished=True, flooded=False)
            reader.feed(chunk)
            if out.seen + err.seen > flood_limit:
                return StreamOutcome(out, err, finished=False, flooded=True)


NAME_COST = 512  # bytes a fetched file's name counts on top of its length (sandbox/runner.py's)


@dataclass
class FetchedFiles:
    """Files the runner sends after a command (b"N" names one, b"F" chunks its content),
    kept up to `cap` bytes and `most` files in all; past either, none is kept and `over`
    says why (the runner caps them too: this keeps a broken runner from filling memory)."""

    cap: int
    most: int
    files: dict[str, bytearray] = field(default_factory=dict)
    total: int = 0
    over: str = ""
    _current: bytearray | None = None

    def start(self, name: bytes) -> None:
        if self.over:
            return
        if len(self.files) >= self.most:
            self._drop(f"more than {self.most} files")
            return
        self.total += len(name) + NAME_COST  # names count, or they alone could fill memory
        if self.total > self.cap:
            self._drop(f"larger than the cap of {self.cap} bytes")
            return
        self._current = self.files[name.decode("utf-8", errors="replace")] = bytearray()

    def write(self, chunk: bytes) -> None:
        if self.over or self._current is None:
            return
        self.total += len(chunk)
        if self.total > self.cap:
            self._drop(f"larger than the cap of {self.cap} bytes")
            return
        self._current += chunk

    def _drop(self, why: str) -> None:
        self.over, self.files, self._current = why, {}, None


class MessageReader:
    """Parses the runner's replies (sandbox/runner.py) out of its stdout stream: output
    chunks go to the two buffers, fetched files to `files`, the final b"X" message to `exit`."""

    def __init__(
        self, stdout: CappedBuffer, stderr: CappedBuffer, files: FetchedFiles | None = None
    ) -> None:
        self.pending = bytearray()
        self.sinks = {b"O": stdout, b"E": stderr}
        self.files = files
        self.exit: dict[str, object] | None = None

    def write(self, chunk: bytes) -> None:
        self.pending += chunk
        while len(self.pending) >= 5:
            kind = bytes(self.pending[:1])
            (size,) = struct.unpack_from(">I", self.pending, 1)
            if len(self.pending) < 5 + size:
                return
            payload = bytes(self.pending[5 : 5 + size])
            del self.pending[: 5 + size]
            if kind == b"X":
                self.exit = json.loads(payload)
            elif kind in self.sinks:
                self.sinks[kind].write(payload)
            elif kind == b"N" and self.files is not None:
                self.files.start(payload)
            elif kind == b"F" and self.files is not None:
                self.files.write(payload)
