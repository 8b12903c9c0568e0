"""`dgm llm`: the gateway on its own (serve), one call (chat), and what a run spent (usage)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer

from dgm.cli.common import ApiBaseOpt, Interrupts, ModelOpt, fmt_usd, make_console, plain
from dgm.errors import UserError, in_range

if TYPE_CHECKING:
    from rich.table import Table

    from dgm.llm.budget import Usage

app = typer.Typer(no_args_is_help=True)
console = make_console  # rich is imported when something is printed

MAX_TOKENS = 1_000_000  # longer than any model's context
MAX_TEMPERATURE = 2.0  # the OpenAI API's range; providers reject more
ARCHIVE_HELP = "Archive path or SQLAlchemy URL (default: $DGM_ARCHIVE or .dgm/archive.db)."


def _open_archive(archive: str | None, must_exist: bool) -> Any:
    """The archive to record into / read from (the project's default location rules)."""
    from dgm.cli.common import open_default_archive

    return open_default_archive(archive, create=not must_exist)


def _provider(model: str | None, api_base: str | None, archive: Any = None) -> Any:
    from dgm.config import check_api_base
    from dgm.llm import default_model, open_provider

    if api_base is not None:
        try:
            check_api_base(api_base)
        except ValueError as e:  # the same rule as a run's api_base
            raise UserError(f"--api-base: {e}") from None
    return open_provider(model or default_model(), archive=archive, api_base=api_base)


@app.command()
def serve(
    model: ModelOpt = None,
    socket: str | None = typer.Option(
        None, "--socket", help="Unix socket path (default: a fresh private temp dir)."
    ),
    port: int | None = typer.Option(
        None, "--port", help="Also serve on 127.0.0.1:PORT (0 picks a free port)."
    ),
    api_base: ApiBaseOpt = None,
    archive: str | None = typer.Option(
        None, "--archive", help=ARCHIVE_HELP + " Needed for replay:RUN."
    ),
) -> None:
    """Run the gateway until Ctrl-C and print how to reach it."""
    interrupts = Interrupts()
    interrupts.install()
    if port is not None:
        in_range("--port", port, 0, 65535)
    out = console()
    from dgm.llm import Gateway

    store = (
        _open_archive(archive, must_exist=True)
        if (archive or (model or "").startswith("replay:"))
        else None
    )
    provider = _provider(model, api_base, store)
    with Gateway(provider, archive=store, socket_path=socket, port=port) as gw:
        s = gw.open_session(purpose="serve")
        out.print(plain("dgm llm gateway", "bold") + " serving " + plain(provider.model, "cyan"))
        # the token is printed on purpose (it is how to reach the gateway): markup off, no mask
        out.print(f"  unix socket  {gw.socket_path}", markup=False)
        if gw.port is not None:
            out.print(f"  http         http://127.0.0.1:{gw.port}/v1")
        out.print(f"  token        {s.token}", markup=False)
        out.print(
            "  try:  curl --unix-socket "
            + str(gw.socket_path)
            + f" -H 'Authorization: Bearer {s.token}' http://gateway/v1/models",
            markup=False,
        )
        out.print("[dim]Ctrl-C stops it.[/]")
        try:
            # A wait that wakes: an interrupt Python dropped during start-up is `seen` only.
            while not interrupts.seen:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        out.print("stopped")


@app.command()
def chat(
    prompt: str = typer.Argument(..., help="What to ask."),
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    system: str | None = typer.Option(None, "--system", help="A system message."),
    max_tokens: int = typer.Option(512, "--max-tokens", help="Longest answer, in tokens."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature."),
    archive: str | None = typer.Option(
        None, "--archive", help=ARCHIVE_HELP + " Read only, for replay:RUN."
    ),
) -> None:
    """One call through the gateway: prints the answer, the tokens and the cost."""
    in_range("--max-tokens", max_tokens, 1, MAX_TOKENS)
    in_range("--temperature", temperature, 0.0, MAX_TEMPERATURE)
    out = console()
    from dgm.llm import Gateway, from_client_error

    store = _open_archive(archive, must_exist=True) if (model or "").startswith("replay:") else None
    provider = _provider(model, api_base, store)
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    with Gateway(provider) as gw:
        client = gw.client(purpose="chat")
        with out.status(plain(f"asking {provider.model} ...")):
            try:
                r = client.chat.completions.create(
                    model=provider.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
            except Exception as e:  # noqa: BLE001 - the gateway's error message says what went wrong
                raise UserError(f"{provider.model}: {from_client_error(e)}") from None
        usage = gw.usage()
    out.print(plain(r.choices[0].message.content or ""))
    for call in r.choices[0].message.tool_calls or []:
        out.print(plain(f"[tool call] {call.function.name}({call.function.arguments})"))
    out.print(
        plain(
            f"{provider.model}: {usage.tokens_in} tokens in, {usage.tokens_out} out, {fmt_usd(usage.cost_usd)}",
            "dim",
        )
    )


def _usage_table(title: str, rows: dict[str, Usage]) -> Table:
    from rich.table import Table

    t = Table(title=plain(title))
    name = title.split()[-1]
    for col in (name, "calls", "errors", "refused", "tokens in", "tokens out", "cost"):
        t.add_column(col, justify="left" if col == name else "right")
    for key, u in sorted(rows.items(), key=lambda kv: -kv[1].cost_usd):
        t.add_row(
            plain(key),
            str(u.calls),
            str(u.errors),
            str(u.refused),
            f"{u.tokens_in:,}",
            f"{u.tokens_out:,}",
            fmt_usd(u.cost_usd),
        )
    return t


@app.command()
def usage(
    run: str = typer.Argument(..., help="Run id."),
    archive: str | None = typer.Option(None, "--archive", help=ARCHIVE_HELP),
) -> None:
    """Calls, tokens and cost of a run: by purpose, by model, by agent."""
    from dgm.cli.common import archive_errors, open_for_browsing
    from dgm.llm.budget import tally, tally_by

    out = console()
    store = open_for_browsing(archive)
    with archive_errors():
        calls = store.llm_calls(store.resolve_run(run), bodies=False)
    if not calls:
        out.print(plain(f"run {run} made no LLM calls"))
        return
    for field, title in (
        ("purpose", "by purpose"),
        ("model", "by model"),
        ("agent_id", "by agent"),
    ):
        out.print(_usage_table(f"run {run}: LLM usage {title}", tally_by(calls, field)))
    total = tally(calls)
    out.print(
        f"total: {total.calls} calls ({total.errors} failed, {total.refused} refused), "
        f"{total.tokens_in:,} tokens in, {total.tokens_out:,} out, {fmt_usd(total.cost_usd)}"
    )
