"""Writes LLM call records to the archive off the caller's path.

A record costs a SQLite commit (a sync to disk) and about 3 ms of SQLAlchemy's Python;
done on the caller's path, or in a thread of the gateway (it would hold the GIL), that
more than doubles the gateway's overhead. So records go, in order, to one writer
*subprocess* per host process (`writer_main`), which opens each archive
by URL and writes. It is a plain subprocess fed pickles on stdin, not multiprocessing:
nothing of the caller's main module is re-run. Archives another process cannot open
(in-memory SQLite, objects without a URL) get a writer thread instead.

`flush()` returns once every record queued so far is written; a crash of the gateway
loses at most the records still queued. If the writer dies, the records in flight are
lost (and logged) and the next record starts a new writer.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Protocol

from archive.info import LLMCallRecord

log = logging.getLogger(__name__)


class Recorder(Protocol):
    def put(self, record: LLMCallRecord) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def write_record(store: Any, call: LLMCallRecord) -> None:
    """Store one call; if its agent is unknown to the archive, store it without the agent
    (the cost must still count) and say so."""
    from archive import ArchiveFull

    try:
        store.record_llm_call(call)
    except ArchiveFull:  # no room for any record: nothing to try without the agent
        raise
    except Exception as e:  # noqa: BLE001 - the archive's error type is not ours to import
        if call.agent_id is None:
            raise
        log.warning(
            "recording an LLM call of agent %s failed (%s); recording it without the agent",
            call.agent_id,
            e,
        )
        store.record_llm_call(replace(call, agent_id=None))


class ThreadRecorder:
    def __init__(self, write: Callable[[LLMCallRecord], None]) -> None:
        self._write = write
        self._queue: queue.Queue[LLMCallRecord | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="dgm-llm-recorder")
        self._thread.start()

    def put(self, record: LLMCallRecord) -> None:
        self._queue.put(record)

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            record = self._queue.get()
            try:
                if record is None:
                    return
                self._write(record)
            except Exception:  # noqa: BLE001 - one bad record must not stop the others
                log.exception("writing an LLM call record failed")
            finally:
                self._queue.task_done()


# -- the writer subprocess ------------------------------------------------------------------
# Frames both ways: 4-byte big-endian length, then a pickle of a tuple.
#   to the writer:   ("record", url, record) | ("flush", n) | ("forget", url)
#   from the writer: ("flushed", n)


def _send(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[Any, ...] | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    data = stream.read(struct.unpack(">I", head)[0])
    return pickle.loads(data)  # noqa: S301 - our own parent, over our own pipe


def writer_main() -> None:
    """The writer subprocess: write records until stdin closes."""
    from archive import ArchiveError, ArchiveFull, open_archive
    from dgm.redact import redact_logs

    logging.basicConfig(level=logging.WARNING, format="dgm-llm-recorder: %(message)s")
    redact_logs()  # its errors name the archive URL
    stores: dict[str, Any] = {}
    full_said: set[str] = set()  # a full disk is said once per archive, in its one line
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (message := _receive(stdin)) is not None:
        kind = message[0]
        try:
            if kind == "record":
                url, record = message[1], message[2]
                if url not in stores:
                    stores[url] = open_archive(url, create=False)
                write_record(stores[url], record)
            elif kind == "forget" and message[1] in stores:
                stores.pop(message[1]).close()
            elif kind == "flush":
                _send(stdout, ("flushed", message[1]))
        except ArchiveFull as e:
            if message[1] not in full_said:
                full_said.add(message[1])
                log.error("LLM call records are not being written: %s", e)
        except ArchiveError as e:  # the database is away (a restart): said in one line
            log.error("writing an LLM call record failed: %s", e)
        except Exception:  # noqa: BLE001 - one bad record must not stop the others
            log.exception("writing an LLM call record failed")
    for store in stores.values():
        store.close()


def _child_env() -> dict[str, str]:
    """Our environment, with the directories dgm and archive were imported from on the path."""
    import archive

    roots = {str(Path(m.__file__).resolve().parents[1]) for m in (sys.modules["dgm"], archive)}  # type: ignore[arg-type]
    path = os.pathsep.join([*sorted(roots), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path}


# Once writer_main returns, every record is written and every archive closed: the writer
# leaves without the interpreter's teardown, which its parent's exit would wait for (a
# second on a loaded machine, for the modules an archive imports).
WRITER = "from dgm.llm.recorder import writer_main; writer_main(); import os; os._exit(0)"

# At exit, what the writer may still take to write what is queued. A normal end has
# flushed already (the gateway's close), so the writer only closes its archives; a writer
# still busy then is stuck on an archive that is away or locked, and waiting longer
# would only hold the process after it said why it stopped.
EXIT_WAIT_S = 10.0


class _Writer:
    """The host side of the one writer subprocess: a feeder thread (so callers never block
    on the pipe) and a reader thread (flush acknowledgements)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", WRITER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_env(),
        )
        self._outbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._cond = threading.Condition()
        self._acked = 0
        self._asked = 0
        self.dead = False
        threading.Thread(target=self._feed, daemon=True, name="dgm-llm-recorder-feed").start()
        threading.Thread(target=self._read, daemon=True, name="dgm-llm-recorder-acks").start()

    def send(self, message: tuple[Any, ...]) -> None:
        self._outbox.put(message)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was sent before is written: False if `timeout` s passed first."""
        with self._cond:
            self._asked += 1
            n = self._asked
        self._outbox.put(("flush", n))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._acked < n and not self.dead:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._cond.wait(1.0)
        return True

    def close(self) -> None:
        self._outbox.put(None)
        try:
            self._proc.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            log.error(
                "the LLM call writer did not finish within %g s; stopping it (queued records "
                "are lost)",
                EXIT_WAIT_S,
            )
            with self._cond:  # said already: its reader thread need not say it died
                self.dead = True
                self._cond.notify_all()
            self._proc.kill()
            self._proc.wait()

    def _feed(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        while (message := self._outbox.get()) is not None:
            try:
                _send(stdin, message)
            except (BrokenPipeError, OSError):
                self._died()
                return
        stdin.close()

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        while (message := _receive(stdout)) is not None:
            with self._cond:
                self._acked = max(self._acked, message[1])
                self._cond.notify_all()
        if self._proc.wait() != 0:
            self._died()

    def _died(self) -> None:
        with self._cond:
            if not self.dead:
                log.error(
                    "the LLM call writer process died (exit code %s): records in flight are lost",
                    self._proc.poll(),
                )
            self.dead = True
            self._cond.notify_all()


_writer: _Writer | None = None
_writer_lock = threading.Lock()


def _shared_writer() -> _Writer:
    global _writer
    with _writer_lock:
        if _writer is None or _writer.dead:
            _writer = _Writer()
        return _writer


@atexit.register
def _close_writer() -> None:
    if _writer is not None and not _writer.dead:
        _writer.close()


class ProcessRecorder:
    """One archive's records, through the shared writer subprocess."""

    def __init__(self, url: str) -> None:
        self.url = url
        _shared_writer()  # start it now: its imports take a moment

    def put(self, record: LLMCallRecord) -> None:
        _shared_writer().send(("record", self.url, record))

    def flush(self) -> None:
        _shared_writer().flush()

    def close(self) -> None:
        w = _shared_writer()
        w.send(("forget", self.url))
        # Bounded: a writer stuck on an archive that is away or locked must not hold the
        # run's close (it is stopped at exit, after EXIT_WAIT_S more).
        if not w.flush(timeout=EXIT_WAIT_S):
            log.error(
                "the LLM call writer has not written this run's records within %g s (is the "
                "archive away or locked?); going on without them",
                EXIT_WAIT_S,
            )


def open_recorder(store: Any) -> Recorder:
    """The writer subprocess when another process can open `store` by URL, else a thread."""
    url = getattr(store, "url", None)
    if isinstance(url, str) and url not in ("sqlite://", "sqlite:///") and ":memory:" not in url:
        return ProcessRecorder(url)
    return ThreadRecorder(lambda call: write_record(store, call))
