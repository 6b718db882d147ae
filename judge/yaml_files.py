"""Reading a YAML file that must hold a mapping, with one-line errors naming the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from judge.errors import UserInputError


def load_yaml_mapping(
    path: Path, *, what: str, expected: str = "a YAML mapping at the top level"
) -> tuple[str, dict[str, Any]]:
    """(text, mapping) of a UTF-8 YAML file; `what` names the file's role in messages ("config", "rubric")."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{what} file not found", file=path) from None
    except IsADirectoryError:
        raise UserInputError(f"expected a {what} file, got a directory", file=path) from None
    except OSError as e:
        raise UserInputError(f"cannot read {what}: {e.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise UserInputError(f"{what} is not valid UTF-8", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise UserInputError(f"invalid YAML: {getattr(e, 'problem', e)}", file=path, line=line) from None
    if not isinstance(data, dict):
        raise UserInputError(f"expected {expected}", file=path)
    return text, data


def yaml_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the node at `loc` (keys and list indexes) in YAML `text`, or of its deepest
    existing parent; the line of a mapping key for a key that is there. None when the text does not parse."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
