"""A loopback port for a Unix socket, for the life of one command (runs inside a sandbox).

    python3 loopback.py SOCKET [NAME=TEMPLATE ...] -- COMMAND [ARG ...]

Listens on 127.0.0.1 (a free port), pipes each connection's bytes to SOCKET and back,
sets each NAME to TEMPLATE with `{port}` filled in, runs COMMAND with that environment
and exits with its exit code. For clients that speak HTTP over TCP only (vendor SDKs): a
sandbox has no network but loopback, and the socket is the one way out it is given.
Standard library only: it runs with the sandbox image's python3, before any package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

CHUNK = 65536


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def _serve(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _accept(listener: socket.socket, path: str) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") < 1 or argv.index("--") == len(argv) - 1:
        print("usage: loopback.py SOCKET [NAME=TEMPLATE ...] -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    split = argv.index("--")
    path, templates, command = argv[0], argv[1:split], argv[split + 1 :]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    threading.Thread(target=_accept, args=(listener, path), daemon=True).start()
    env = dict(os.environ)
    for t in templates:
        name, _, value = t.partition("=")
        env[name] = value.replace("{port}", str(port))
    try:
        return subprocess.call(command, env=env)
    except OSError as e:
        print(f"loopback.py: cannot run {command[0]}: {e}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
