"""The one gateway every model call goes through.

    with Gateway(open_provider("local"), archive=archive, run_id=run_id, budget=Budget(max_usd=5)) as gw:
        s = gw.open_session(agent_id="a1", task_id="t1")   # s.env goes into the sandbox
        client = gw.client(purpose="diagnose")              # host-side: an openai.OpenAI client

It serves the OpenAI chat-completions protocol on a Unix socket (and optionally on
127.0.0.1). Each caller holds a session token that attributes its calls to run / agent /
task / purpose; budgets are enforced per run, per session and per task; every call (and
every failed attempt) is recorded in the archive; retryable upstream failures are retried
with exponential backoff and jitter; temperature-0 requests may be answered from the
archive. API keys stay in this process: they are not in Session.env, not recorded, not logged.

A run that uses several models (ReEvo's generator and reflector) serves them all from one
gateway (`add_model`): one ledger, so the run's budget holds across models, exact to one call.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from archive import LLMCallRecord
from dgm.errors import UserError
from dgm.llm import server as http
from dgm.llm.budget import Budget, Ledger, Usage, tally
from dgm.llm.errors import BudgetExceeded, LLMError
from dgm.llm.provider import Completion, Provider
from dgm.llm.recorder import Recorder, open_recorder
from dgm.llm.request import cacheable, canonical, encode, encoded_key
from dgm.llm.wire import Reply, error_body, usage_of
from dgm.redact import host_secrets, redact

if TYPE_CHECKING:
    from dgm.llm.gateway_client import GatewayClient

log = logging.getLogger(__name__)

SANDBOX_DIR = "/run/dgm"
"""Where a sandbox mounts the directory holding the gateway socket."""


class RecordingArchive(Protocol):
    """The part of `archive` the gateway uses."""

    def record_llm_call(self, call: LLMCallRecord) -> Any: ...

    def find_llm_response(self, request_key: str, run_id: str | None = None) -> bytes | None: ...

    def append_event(self, run_id: str, kind: str, payload: dict[str, Any]) -> Any: ...


@runtime_checkable
class CallerAwareProvider(Protocol):
    """A provider whose answer depends on who asks (run, agent, task, purpose): replay."""

    def complete_for(self, caller: Session, request: dict[str, Any], key: str) -> Completion: ...


class RetryPolicy(BaseModel):
    """How hard the gateway tries before a call fails."""

    tries: int = Field(default=4, ge=1)
    """Attempts per call, the first included."""
    base_delay_s: float = Field(default=0.5, ge=0)
    """Wait before the second attempt; doubles each time, with jitter."""
    max_delay_s: float = Field(default=8.0, ge=0)
    """Upper bound of one wait."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based): full jitter."""
        cap = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        return random.uniform(cap / 2, cap)


@dataclass
class Session:
    """One caller's identity at the gateway. Its token is no secret beyond this run."""

    token: str
    run_id: str | None
    agent_id: str | None
    task_id: str | None
    purpose: str
    model: str
    socket_name: str
    scopes: list[str]

    @property
    def env(self) -> dict[str, str]:
        """What a sandboxed process needs to call the gateway (and nothing else)."""
        return {
            "DGM_LLM_SOCKET": f"{SANDBOX_DIR}/{self.socket_name}",
            "DGM_LLM_TOKEN": self.token,
            "DGM_LLM_MODEL": self.model,
        }


def _json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode())


def archive_usage(archive: Any, run_id: str) -> Usage:
    """A run's totals from its records (the tally `dgm llm usage` shows)."""
    return tally(archive.llm_calls(run_id, bodies=False))


class Gateway:
    """Serve `provider` to every caller of one run.

    budget: the run's limits, over the whole run and every model it serves: a run the
    archive already holds calls of (a resumed run) starts from what those spent, so this is
    the one place a run's spending is counted. task_budget: each (agent, task)'s, shared by that pair's
    sessions; a session's own comes with `open_session`. retry: how hard to try a failing
    upstream. cache: answer temperature-0 requests from earlier recordings (providers
    that allow it).
    """

    def __init__(
        self,
        provider: Provider,
        archive: RecordingArchive | None = None,
        run_id: str | None = None,
        budget: Budget | None = None,
        socket_path: str | os.PathLike[str] | None = None,
        port: int | None = None,
        task_budget: Budget | None = None,
        retry: RetryPolicy | None = None,
        cache: bool = True,
        agent_models: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.agent_models = dict(agent_models or {})
        """SDK agents' model names -> a model served here, or "run" (the session's)."""
        """The default model's; `add_model` serves more."""
        self._providers: dict[str, Provider] = {provider.model: provider}
        self.archive = archive
        self.run_id = run_id
        self.task_budget = task_budget
        self.retry = retry or RetryPolicy()
        self.cache = cache and archive is not None
        self._requested_socket = Path(socket_path) if socket_path else None
        self._requested_port = port
        self._ledger = Ledger()
        self._ledger.set_budget(self._run_scope, budget)
        self._sessions: dict[str, Session] = {}
        self._session_numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._servers: list[Any] = []
        self._tmpdir: str | None = None
        self.socket_path: str | None = None
        self.port: int | None = None
        self._clients: list[Any] = []
        self._recorder: Recorder | None = None
        self._secrets = host_secrets()

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Gateway:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self.archive is not None:
            self._recorder = open_recorder(self.archive)
            if self.run_id is not None:  # a resumed run: `budget` is the whole run's
                self._ledger.seed(self._run_scope, archive_usage(self.archive, self.run_id))
        if self._requested_socket:
            path = self._requested_socket
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_socket():
                path.unlink()  # a stale socket from a gateway that died
        else:
            self._tmpdir = tempfile.mkdtemp(prefix="dgm-llm-")
            os.chmod(
                self._tmpdir, 0o755
            )  # sandboxes run as other users; the dir is ours alone to write
            path = Path(self._tmpdir) / "llm.sock"
        try:
            unix = http.UnixServer(str(path), self)
        except OSError as e:
            raise UserError(
                f"cannot serve on socket {path}: {e.strerror}: pick another --socket"
            ) from None
        os.chmod(path, 0o666)
        self.socket_path = str(path)
        self._servers.append(unix)
        http.start(unix)
        if self._requested_port is not None:
            try:
                tcp = http.TCPServer(self._requested_port, self)
            except OSError as e:
                raise UserError(
                    f"cannot serve on 127.0.0.1:{self._requested_port}: {e.strerror}: pick another --port"
                ) from None
            self.port = tcp.server_address[1]
            self._servers.append(tcp)
            http.start(tcp)

    def close(self) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()
        for s in self._servers:
            s.shutdown()
            s.server_close()
        self._servers.clear()
        if self.socket_path and Path(self.socket_path).is_socket():
            Path(self.socket_path).unlink()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        if self._recorder is not None:
            self._recorder.close()  # writes whatever is still queued
            self._recorder = None

    # -- sessions ----------------------------------------------------------------------

    def add_model(self, provider: Provider) -> None:
        """Serve `provider`'s model too, under the same budgets and records: sessions
        opened with `model=provider.model` call it."""
        with self._lock:
            known = self._providers.setdefault(provider.model, provider)
        if known is not provider:
            raise UserError(
                f"two models of the run are both named {provider.model!r}: give them distinct "
                "names (a scripted model is named after its file's name)"
            )

    def takes_n(self, model: str | None = None) -> bool:
        """Whether `model` (default: the default model's) answers `n` samples in one call."""
        return self._providers[model or self.provider.model].takes_n

    @property
    def _run_scope(self) -> str:
        return f"run {self.run_id}" if self.run_id else "gateway"

    def open_session(
        self,
        agent_id: str | None = None,
        task_id: str | None = None,
        purpose: str = "agent",
        budget: Budget | None = None,
        model: str | None = None,
    ) -> Session:
        """A new caller identity; `budget` caps this session alone; `model`: one this
        gateway serves (the default model's when None)."""
        if self.socket_path is None:
            raise RuntimeError(
                "start the gateway (use it as a context manager) before opening sessions"
            )
        model = model or self.provider.model
        if model not in self._providers:
            raise ValueError(f"this gateway does not serve {model!r}: add_model it first")
        token = secrets.token_urlsafe(24)
        scopes = [
            self._run_scope,
            f"session {next(self._session_numbers)} (agent {agent_id}, task {task_id}, {purpose})",
        ]
        if task_id is not None:
            scopes.append(f"task {task_id} of agent {agent_id}")
            if self.task_budget is not None:
                self._ledger.set_budget(scopes[-1], self.task_budget)
        self._ledger.set_budget(scopes[1], budget)
        s = Session(
            token,
            self.run_id,
            agent_id,
            task_id,
            purpose,
            model,
            Path(self.socket_path).name,
            scopes,
        )
        with self._lock:
            self._sessions[token] = s
        return s

    def close_session(self, session: Session) -> None:
        """Revoke a session's token (its usage stays counted)."""
        with self._lock:
            self._sessions.pop(session.token, None)

    def socket_client(
        self, purpose: str, agent_id: str | None = None, model: str | None = None
    ) -> GatewayClient:
        """A session's chat client on this gateway's socket without the openai SDK
        (dgm/llm/gateway_client.py): what the operators' chats use."""
        from dgm.llm.gateway_client import GatewayClient

        s = self.open_session(agent_id=agent_id, purpose=purpose, model=model)
        assert self.socket_path is not None  # open_session refuses a gateway not started
        c = GatewayClient(self.socket_path, s.token)
        self._clients.append(c)
        return c

    def client(
        self,
        purpose: str = "host",
        agent_id: str | None = None,
        task_id: str | None = None,
        budget: Budget | None = None,
        timeout_s: float = 900.0,
        model: str | None = None,
    ) -> Any:
        """An openai.OpenAI client for host-side code that talks to this gateway's socket
        (its calls go to `model`, whatever model name they send)."""
        import httpx
        import openai

        s = self.open_session(
            agent_id=agent_id, task_id=task_id, purpose=purpose, budget=budget, model=model
        )
        # Plain HTTP over our own Unix socket: never TLS, so no certificate bundle to load
        # (certifi's, a tenth of a second a client on a loaded machine; one client an agent).
        http_client = httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket_path, verify=False), timeout=timeout_s
        )
        c = openai.OpenAI(
            api_key=s.token,
            base_url="http://dgm-gateway/v1",
            http_client=http_client,
            max_retries=0,
        )
        self._clients.append(c)
        return c

    def usage(self, session_or_run: Session | str | None = None) -> Usage:
        """Totals of a session, or of this gateway's run (live, the run's earlier sessions
        included), or of any other run in the archive."""
        if isinstance(session_or_run, Session):
            return self._ledger.usage(session_or_run.scopes[1])
        if session_or_run is None or session_or_run == self.run_id:
            return self._ledger.usage(self._run_scope)
        if self.archive is None:
            raise ValueError(
                f"run {session_or_run!r} is not this gateway's and there is no archive to ask"
            )
        return archive_usage(self.archive, session_or_run)

    # -- the protocol ----------------------------------------------------------------

    def models(self, token: str | None) -> Reply:
        if self._session(token) is None:
            return self._unauthorized()
        return _json_reply(
            200,
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "dgm"}
                    for m in list(self._providers)
                ],
            },
        )

    def _session(self, token: str | None) -> Session | None:
        if token is None:
            return None
        with self._lock:
            return self._sessions.get(token)

    def _error_reply(self, e: LLMError) -> Reply:
        # The gateway already retried: tell OpenAI clients not to retry on their own.
        return Reply(
            e.http_status,
            error_body(e.kind, redact(e.message, self._secrets)),
            {"x-should-retry": "false"},
        )

    def _log_failure(self, what: str) -> None:
        """Log the exception being handled, traceback included, with secrets masked."""
        log.error("%s\n%s", what, redact(traceback.format_exc(), self._secrets))

    @staticmethod
    def _unauthorized() -> Reply:
        return Reply(
            401,
            error_body(
                "auth",
                "unknown or missing session token: send Authorization: Bearer $DGM_LLM_TOKEN",
            ),
            {"x-should-retry": "false"},
        )

    def sdk_chat(self, token: str | None, body: bytes) -> Reply:
        """Answer a chat call an SDK agent made (dgm/llm/dialects.py): its model name is
        mapped by `agent_models`; a name it does not map is a failed call, recorded."""
        session = self._session(token)
        if session is None:
            return self._unauthorized()
        try:
            parsed = json.loads(body)
            name = str(parsed.get("model")) if isinstance(parsed, dict) else "None"
        except ValueError:
            return self.chat(token, body)  # the same bad-request answer as any other call
        target = self.agent_models.get(name)
        model = session.model if target == "run" else target
        if model in self._providers:
            return self.chat(token, body, model=model)
        why = (
            f"the agent asked for model {name!r}, which agent_format.models does not map: add "
            f"{name!r}: run to agent_format.models in the run's config"
            if target is None
            else f"agent_format.models maps {name!r} to {target!r}, which this run does not serve"
        )
        err = LLMError("model_not_mapped", why)
        raw = encode(canonical(parsed, name))
        self._record(session, raw, encoded_key(raw), None, 0.0, err.kind, error_body(err.kind, why))
        self._ledger.charge(session.scopes, 0, 0, 0.0, error_kind=err.kind)
        return self._error_reply(err)

    def chat(self, token: str | None, body: bytes, model: str | None = None) -> Reply:
        """Answer one POST /v1/chat/completions (with `model`, one this gateway serves,
        instead of the session's). Never raises."""
        session = self._session(token)
        if session is None:
            return self._unauthorized()
        if model is not None:
            session = replace(session, model=model)  # same token, scopes, budgets
        try:
            parsed = json.loads(body)
            if (
                not isinstance(parsed, dict)
                or not isinstance(parsed.get("messages"), list)
                or not parsed["messages"]
            ):
                raise ValueError("the body must be a JSON object with a non-empty `messages` list")
            if parsed.get("stream"):
                raise ValueError("streaming is not supported: send stream=false")
        except ValueError as e:
            return self._error_reply(LLMError("bad_request", f"bad request: {e}"))
        request = canonical(parsed, session.model)
        raw = encode(request)  # recorded as is, and hashed for the key: encoded once
        try:
            return self._call(session, request, raw, encoded_key(raw))
        except Exception as e:  # noqa: BLE001 - one bad call must never take the gateway down
            self._log_failure("gateway failed on a call")
            return self._error_reply(
                LLMError("internal", f"gateway error: {type(e).__name__}: {e}")
            )

    def _call(self, session: Session, request: dict[str, Any], raw: bytes, key: str) -> Reply:
        try:
            self._ledger.reserve(session.scopes)
        except BudgetExceeded as e:
            self._record(session, raw, key, None, 0.0, e.kind)
            self._event(
                session, "llm_budget_exceeded", {"message": e.message, "scopes": session.scopes}
            )
            return self._error_reply(e)

        start = time.perf_counter()
        if self.cache and self._providers[session.model].cacheable and cacheable(request):
            hit = self._find(key)
            if hit is not None:
                tokens_in, tokens_out = usage_of(json.loads(hit))
                done = Completion(hit, tokens_in, tokens_out, 0.0)  # a cache hit costs nothing
                self._ledger.charge(session.scopes, tokens_in, tokens_out, 0.0)
                self._record(session, raw, key, done, time.perf_counter() - start, None)
                return Reply(200, done.body)

        for attempt in range(self.retry.tries):
            t0 = time.perf_counter()
            try:
                done = self._complete(session, request, key)
            except LLMError as e:
                self._record(session, raw, key, None, time.perf_counter() - t0, e.kind)
                if e.retryable and attempt + 1 < self.retry.tries:
                    log.info(
                        "retrying after %s (attempt %d of %d)",
                        e.kind,
                        attempt + 1,
                        self.retry.tries,
                    )
                    time.sleep(self.retry.delay(attempt))
                    continue
                self._ledger.charge(session.scopes, 0, 0, 0.0, error_kind=e.kind)
                return self._error_reply(e)
            except Exception as e:  # noqa: BLE001 - a provider bug is one failed call, not a dead gateway
                self._log_failure(f"provider {session.model} raised")
                err = LLMError("internal", f"provider error: {type(e).__name__}: {e}")
                self._record(session, raw, key, None, time.perf_counter() - t0, err.kind)
                self._ledger.charge(session.scopes, 0, 0, 0.0, error_kind=err.kind)
                return self._error_reply(err)
            self._ledger.charge(session.scopes, done.tokens_in, done.tokens_out, done.cost_usd)
            self._record(session, raw, key, done, time.perf_counter() - t0, None)
            return Reply(200, done.body)
        raise AssertionError("unreachable: the last attempt returns")

    def _complete(self, session: Session, request: dict[str, Any], key: str) -> Completion:
        provider = self._providers[session.model]
        if isinstance(provider, CallerAwareProvider):  # replay matches by caller too
            return provider.complete_for(session, request, key)
        return provider.complete(request, key)

    # -- the archive -----------------------------------------------------------------

    def _find(self, key: str) -> bytes | None:
        try:
            return self.archive.find_llm_response(key)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - a cache we cannot read is a cache miss
            self._log_failure("archive lookup failed")
            return None

    def _record(
        self,
        s: Session,
        raw: bytes,
        key: str,
        done: Completion | None,
        latency_s: float,
        error_kind: str | None,
        error_response: bytes | None = None,
    ) -> None:
        if self._recorder is None:
            return
        self._recorder.put(
            LLMCallRecord(
                run_id=self.run_id,
                agent_id=s.agent_id,
                task_id=s.task_id,
                purpose=s.purpose,
                model=s.model,
                tokens_in=done.tokens_in if done else 0,
                tokens_out=done.tokens_out if done else 0,
                cost_usd=done.cost_usd if done else 0.0,
                latency_s=latency_s,
                request=raw,
                response=done.body if done else error_response,
                error_kind=error_kind,
                request_key=key,
            )
        )

    def flush(self) -> None:
        """Wait until every call so far is in the archive (records are written in the background)."""
        if self._recorder is not None:
            self._recorder.flush()

    def _event(self, s: Session, kind: str, data: dict[str, Any]) -> None:
        if self.archive is None or self.run_id is None:
            return
        try:
            self.archive.append_event(
                self.run_id,
                kind,
                {**data, "agent_id": s.agent_id, "task_id": s.task_id, "purpose": s.purpose},
            )
        except Exception:  # noqa: BLE001
            self._log_failure("recording an event failed")
