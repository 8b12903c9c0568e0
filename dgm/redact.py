"""Keep secrets out of everything dgm says: error messages, log lines, tables, headers.

Two kinds of secret are masked with `***`:
- the host's own: every value of an environment variable whose name looks secret (an
  upstream may echo part of a key in an error body, which would then travel into a
  sandbox and the log);
- secrets by their shape, wherever they come from: the password of a URL
  (`postgresql://user:***@host/db`), secret query parameters (`?token=***`), `Bearer ***`,
  API keys of the known providers (`sk-***`), and `NAME=***` for a secret-looking NAME.

The CLI redacts every error it prints (dgm.cli.main) and every log record (`redact_logs`);
the gateway redacts what it says to agents. This is the one place that knows the shapes.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import traceback
from collections.abc import Mapping, Sequence

MASK = "***"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
MIN_LEN = 8  # shorter values are too likely to occur by chance to be worth masking

# (pattern, replacement): group 1 is what stays in front of the mask
SHAPES: list[tuple[re.Pattern[str], str]] = [
    # scheme://user:password@host (the password may hold '@': up to the last one)
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#]*:)[^\s/?#]*(?=@)"), rf"\g<1>{MASK}"),
    (
        re.compile(
            r"([?&;](?:password|passwd|pwd|token|access_token|api[_-]?key|key|secret|sig)=)[^&;\s#'\"]+",
            re.IGNORECASE,
        ),
        rf"\g<1>{MASK}",
    ),
    (re.compile(r"(\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{MASK}"),
    # OpenAI/Anthropic sk-..., GitHub, Slack, Hugging Face, Google, AWS access key ids
    (
        re.compile(
            r"\b(sk-|gh[pousr]_|github_pat_|xox[abprs]-|hf_|AIza)[A-Za-z0-9_\-]{12,}"
            r"|\bAKIA[0-9A-Z]{16}\b"
        ),
        rf"\g<1>{MASK}",
    ),
    # NAME=value or NAME: value for an environment-style NAME that looks secret
    (
        re.compile(
            r"\b([A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)[A-Z0-9_]*\s*[=:]\s*)"
            r"(?!\*\*\*)[^\s,;'\"]+"
        ),
        rf"\g<1>{MASK}",
    ),
]


def host_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-looking variables, longest first (so no partial masking)."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_LEN}
    return sorted(values, key=len, reverse=True)


@functools.cache
def _process_secrets() -> list[str]:
    return host_secrets()  # once: scanning the environment costs more than the patterns


def redact(text: str, secrets: Sequence[str] | None = None) -> str:
    """`text` with the host's secrets (`secrets`, else this process's environment as it was
    at the first call) and anything shaped like a secret replaced by ***."""
    for s in _process_secrets() if secrets is None else secrets:
        if s in text:
            text = text.replace(s, MASK)
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact_logs() -> None:
    """From now on every log record of this process is redacted when it is made: its
    message, its arguments and its traceback (whatever handler prints it)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "redacts", False):
        return

    def redacted_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            record.msg, record.args = redact(record.getMessage()), ()
        except Exception:  # a malformed call: logging reports it when the record is printed
            return record
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text, record.exc_info = redact(text).rstrip("\n"), None
        return record

    redacted_record.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacted_record)
