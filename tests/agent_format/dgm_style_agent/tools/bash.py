import subprocess


def tool_info():
    return {
        "name": "bash",
        "description": "Run a bash command in the repository; returns its output.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string", "description": "The command."}},
            "required": ["command"],
        },
    }


def tool_function(command, git_dir="."):
    proc = subprocess.run(
        ["bash", "-c", command], cwd=git_dir, capture_output=True, text=True, timeout=120
    )
    return f"{proc.stdout}{proc.stderr}[exit code {proc.returncode}]"
