"""Every module here with tool_info() and tool_function() is a tool."""

import importlib
from pathlib import Path


def load_all_tools():
    tools = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem == "__init__":
            continue
        module = importlib.import_module(f"tools.{path.stem}")
        info = module.tool_info()
        tools[info["name"]] = {"info": info, "function": module.tool_function}
    return tools
