"""`python -m sandbox.reaper OWNER`: wait for the process named by OWNER (an owner token,
sandbox.owner) to end, then remove every sandbox it started.

A process about to leave at once (`os._exit` after a second Ctrl-C) starts this instead of
removing its sandboxes itself: removed while it still runs, the jobs in its threads would
see their sandbox vanish and record that as the job's failure, a result no resume redoes.
"""

from __future__ import annotations

import subprocess
import sys
import time

from sandbox.owner import owner_alive, owner_token

WAIT_S = 60.0  # the owner is exiting: it should be gone in milliseconds


def start_after_exit() -> None:
    """Start the reaper for this process, detached (its own session, no inherited pipes)."""
    subprocess.Popen(
        [sys.executable, "-m", "sandbox.reaper", owner_token()],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def main(owner: str) -> int:
    deadline = time.monotonic() + WAIT_S
    while owner_alive(owner):
        if time.monotonic() > deadline:
            return 1  # still running: its own cleanup (or the next orphan sweep) will do
        time.sleep(0.05)
    from sandbox.docker_backend import remove_containers_of

    remove_containers_of(owner)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
