"""STOP's helpers an improver may import (`from helpers import extract_code`), as in
STOP's own harness. Standard library only."""


def extract_code(algorithm_str):
    """The largest fenced code block of a reply (or of each reply of a list); None if none."""
    if isinstance(algorithm_str, list):
        return [extract_code(s) for s in algorithm_str]
    if isinstance(algorithm_str, str):
        return find_largest_code_block_line_by_line(algorithm_str)
    return None


def find_largest_code_block_line_by_line(text):
    """STOP's extraction: fences may nest; the longest outermost block wins."""
    largest_block, current_block, nesting_level = "", "", 0
    for line in text.split("\n"):
        if line.startswith("```"):
            if not line[3:].strip():  # a closing fence
                nesting_level -= 1
                current_block += line + "\n"
                if nesting_level == 0:
                    if len(current_block) > len(largest_block):
                        largest_block = current_block
                    current_block = ""
            else:  # an opening fence
                current_block += line + "\n"
                nesting_level += 1
        elif nesting_level > 0:
            current_block += line + "\n"
    if largest_block:
        largest_block = "\n".join(largest_block.strip().split("\n")[1:-1])
    return largest_block if largest_block else None
