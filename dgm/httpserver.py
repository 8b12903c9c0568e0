"""The threading HTTP server dgm's own servers build on (the UI, the fake upstream that
stands in for a hosted LLM): a client that hangs up mid-request (a browser tab closed
while its page was made, a caller that timed out) is routine, so it costs a debug line,
not a traceback on the server's stderr.

The gateway's servers (dgm/llm/server.py) log every failed connection at debug instead:
a sandbox that dies mid-call can fail a request in more ways than a hang-up.
"""

from __future__ import annotations

import logging
import sys
from http.server import ThreadingHTTPServer

log = logging.getLogger(__name__)


class ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
            return
        # Its message only: formatting a traceback on 3.11 parses source (the carets), and
        # CPython 3.11's AST recursion counter is shared by threads (benchmarks/pyparse.py).
        log.debug("%s hung up: %s", client_address, error)
