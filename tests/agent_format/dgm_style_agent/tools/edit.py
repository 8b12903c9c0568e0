from pathlib import Path


def tool_info():
    return {
        "name": "editor",
        "description": "View a file, create one, or replace a unique string in one.",
        "input_schema": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "enum": ["view", "create", "str_replace"]},
                "path": {
                    "type": "string",
                    "description": "Absolute, or relative to the repository.",
                },
                "file_text": {"type": "string"},
                "old_str": {"type": "string"},
                "new_str": {"type": "string"},
            },
            "required": ["command", "path"],
        },
    }


def tool_function(command, path, git_dir=".", file_text=None, old_str=None, new_str=None):
    target = Path(git_dir) / path
    if command == "view":
        return target.read_text()
    if command == "create":
        target.write_text(file_text or "")
        return f"created {path}"
    if command == "str_replace":
        text = target.read_text()
        if text.count(old_str) != 1:
            return f"error: old_str occurs {text.count(old_str)} times in {path}"
        target.write_text(text.replace(old_str, new_str or ""))
        return f"edited {path}"
    return f"error: unknown command {command}"
