"""YAML with line numbers: so every problem in an editor's file can say where it is.

PyYAML's composer keeps a line for every node; we walk the node tree once to map each
field path (``("chapters", 2, "title")``) to its line, and refuse duplicate keys, which
PyYAML would otherwise silently let the last one win. Every PyYAML error becomes a
:class:`YamlSyntaxError` with a line, and aliases are bounded (see :data:`ALIAS_BUDGET`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.reader import ReaderError

Loc = tuple[str | int, ...]
# One parse gives both the nodes (with lines) and the data; LibYAML's parser when built in.
# Its own subclass, so the changes below do not change PyYAML for anyone else.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Values an alias may bring in, all aliases of a file together. A hand-written show.yaml or
# front matter repeats a person or a link a few times; a 700-byte "billion laughs" file
# nests aliases to expand to billions. Counting (rather than refusing anchors) keeps valid
# YAML working and bounds the work at the file's own nodes plus this many.
ALIAS_BUDGET = 1000


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
    """Parse YAML safely and map every field path to its line (shifted by ``offset``).

    The node tree is walked, and its aliases counted, before anything is constructed: an
    alias bomb is refused after :data:`ALIAS_BUDGET` values instead of filling memory.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        line_map = LineMap()
        if node is not None:
            _walk(node, line_map, offset)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        raise YamlSyntaxError(f"malformed YAML: {exc.problem or exc.context}", line) from exc
    except ReaderError as exc:
        raise _reader_error(exc, text, offset) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"malformed YAML: {_one_line(str(exc))}", offset + 1) from exc
    finally:
        loader.dispose()
    return data, line_map


def _reader_error(exc: ReaderError, text: str, offset: int) -> YamlSyntaxError:
    """PyYAML says "position 9" on a second line; say which line, and which character."""
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    line = text.count("\n", 0, exc.position) + 1 + offset
    return YamlSyntaxError(f"malformed YAML: character U+{code:04X}: {exc.reason}", line)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """A YAML timestamp, or its text when it names no real instant (``2026-02-30``,
    an offset of ``+99:00``): the model then says which field is wrong and why."""
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return str(node.value)


def _construct_object(loader: Any, node: yaml.Node, deep: bool = False) -> Any:
    """PyYAML's constructors raise bare ValueError, KeyError, ... for a value that does not
    fit its tag (``!!int abc``, ``!!bool maybe``): make each a located YAML error."""
    try:
        return _BaseLoader.construct_object(loader, node, deep=deep)
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        scalar = isinstance(node, yaml.ScalarNode)
        what = repr(node.value) if scalar else type(node).__name__.removesuffix("Node").lower()
        problem = f"cannot read {what} as {tag}"
        raise ConstructorError(None, None, problem, node.start_mark) from exc


_Loader: Any = type("_Loader", (_BaseLoader,), {"construct_object": _construct_object})
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _walk(root: yaml.Node, line_map: LineMap, offset: int) -> None:
    """Record each field's line; count the values reached again through an alias.

    Iterative, so neither deep nesting nor a recursive alias can exhaust the stack.
    """
    walked: set[int] = set()
    expanded = 0
    stack: list[tuple[yaml.Node, Loc, int | None]] = [(root, (), None)]
    while stack:
        node, loc, alias_line = stack.pop()
        if alias_line is None and id(node) in walked:
            alias_line = line_map.line_of(loc) or offset + 1  # where the alias is used
        if alias_line is not None:
            expanded += 1
            if expanded > ALIAS_BUDGET:
                raise YamlSyntaxError(
                    f"YAML aliases repeat more than {ALIAS_BUDGET} values (an alias bomb?); "
                    "write the values out instead",
                    alias_line,
                )
        walked.add(id(node))
        line_map.lines.setdefault(loc, node.start_mark.line + 1 + offset)
        children: list[tuple[yaml.Node, Loc, int | None]] = []
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*loc, key)
                key_line = key_node.start_mark.line + 1 + offset
                if key in seen and alias_line is None:
                    line_map.duplicates.append((child, key_line))
                seen.add(key)
                line_map.lines[child] = key_line
                children.append((value_node, child, alias_line))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*loc, index), alias_line) for index, item in enumerate(node.value)]
        stack.extend(reversed(children))  # popped in document order
