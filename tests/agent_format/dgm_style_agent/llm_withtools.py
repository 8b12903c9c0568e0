"""The tool-use loop, in each SDK's own wire format."""

import json

import anthropic
import openai
from tools import load_all_tools

CLAUDE_MODEL = "claude-3-5-sonnet-20241022"
OPENAI_MODEL = "gpt-4o-2024-08-06"
MAX_TURNS = 20


def run_tool(tools, name, arguments, git_dir):
    if name not in tools:
        return f"Error: Tool '{name}' not found"
    try:
        return tools[name](git_dir=git_dir, **arguments)
    except Exception as e:  # the model sees what went wrong, as in DGM
        return f"Error executing tool '{name}': {e}"


def chat_with_agent(msg, model, git_dir, log):
    tools = load_all_tools()
    if model.startswith("claude"):
        return _claude(msg, model, git_dir, tools, log)
    return _openai(msg, model, git_dir, tools, log)


def _claude(msg, model, git_dir, tools, log):
    client = anthropic.Anthropic()
    specs = [t["info"] for t in tools.values()]
    functions = {name: t["function"] for name, t in tools.items()}
    history = [{"role": "user", "content": [{"type": "text", "text": msg}]}]
    log(f"User: {msg}")
    for _ in range(MAX_TURNS):
        response = client.messages.create(
            model=model,
            max_tokens=4096,
            messages=history,
            tools=specs,
            tool_choice={"type": "auto"},
        )
        history.append({"role": "assistant", "content": response.content})
        uses = [b for b in response.content if b.type == "tool_use"]
        for b in response.content:
            log(
                f"Assistant: {b.text}"
                if b.type == "text"
                else f"Tool use: {b.name} {json.dumps(b.input)}"
            )
        if response.stop_reason != "tool_use":
            return history
        results = []
        for use in uses:
            output = run_tool(functions, use.name, use.input, git_dir)
            log(f"Tool result: {output}")
            results.append({"type": "tool_result", "tool_use_id": use.id, "content": output})
        history.append({"role": "user", "content": results})
    return history


def _openai(msg, model, git_dir, tools, log):
    client = openai.OpenAI()
    specs = [
        {
            "type": "function",
            "function": {
                "name": t["info"]["name"],
                "description": t["info"]["description"],
                "parameters": t["info"]["input_schema"],
            },
        }
        for t in tools.values()
    ]
    functions = {name: t["function"] for name, t in tools.items()}
    history = [{"role": "user", "content": msg}]
    log(f"User: {msg}")
    for _ in range(MAX_TURNS):
        response = client.chat.completions.create(model=model, messages=history, tools=specs)
        message = response.choices[0].message
        history.append(message.model_dump(exclude_none=True))
        log(f"Assistant: {message.content or ''}")
        if not message.tool_calls:
            return history
        for call in message.tool_calls:
            arguments = json.loads(call.function.arguments or "{}")
            output = run_tool(functions, call.function.name, arguments, git_dir)
            log(f"Tool use: {call.function.name} {call.function.arguments}\nTool result: {output}")
            history.append({"role": "tool", "tool_call_id": call.id, "content": output})
    return history
