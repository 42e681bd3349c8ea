"""YAML with line numbers: so every problem in an editor's file can say where it is.

PyYAML's composer keeps a line for every node; we walk the node tree once to map each
field path (``("chapters", 2, "title")``) to its line, and refuse duplicate keys, which
PyYAML would otherwise silently let the last one win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]
# One parse gives both the nodes (with lines) and the data; LibYAML's parser when built in.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LineMap:
    """Field path → 1-based line in the file (``offset`` lines precede the YAML text)."""

    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int]] = field(default_factory=list)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest known prefix of ``loc`` (a missing field → its parent's line).

        >>> LineMap({("a",): 3, ("a", 0): 4}).line_of(("a", 0, "b"))
        4
        >>> LineMap({}).line_of(("x",)) is None
        True
        """
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


class YamlSyntaxError(ValueError):
    """Malformed YAML, with the 1-based line where the parser gave up."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def load_with_lines(text: str, offset: int = 0) -> tuple[Any, LineMap]:
    """Parse YAML safely and map every field path to its line (shifted by ``offset``)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        raise YamlSyntaxError(f"malformed YAML: {exc.problem or exc.context}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"malformed YAML: {exc}", None) from exc
    finally:
        loader.dispose()
    line_map = LineMap()
    if node is not None:
        _walk(node, (), line_map, offset)
    return data, line_map


def _walk(node: yaml.Node, loc: Loc, line_map: LineMap, offset: int) -> None:
    line_map.lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*loc, key)
            if key in seen:
                line_map.duplicates.append((child, key_node.start_mark.line + 1 + offset))
            seen.add(key)
            line_map.lines[child] = key_node.start_mark.line + 1 + offset
            _walk(value_node, child, line_map, offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), line_map, offset)
