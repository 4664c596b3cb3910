"""YAML with positions: every key and value keeps its file:line:col, for precise problems.

Used by the config loader and the OpenSLO importer. ``${NAME}`` / ``${NAME:-default}``
substitution happens on the node tree, before values are constructed, so a missing variable
is reported where it is written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from errorbudget.errors import Problem

YamlPath = tuple[str | int, ...]
"""Keys and list indexes from the document root, e.g. ``("slos", 0, "target")``."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class NodeIndex:
    """Where each key and value of a YAML document is, by path (keys and list indexes)."""

    text: str
    values: dict[YamlPath, yaml.Node] = field(default_factory=dict)
    keys: dict[YamlPath, yaml.Node] = field(default_factory=dict)
    unresolved: set[YamlPath] = field(default_factory=set)
    """Values whose ``${…}`` could not be substituted (already reported)."""

    def deepest(self, path: Sequence[str | int]) -> tuple[YamlPath, list[str | int]]:
        """The longest existing path along ``path``, skipping elements the YAML lacks.

        Returns the found path and the skipped elements (discriminator tags, missing keys).
        """
        found: YamlPath = ()
        skipped: list[str | int] = []
        for element in path:
            if (*found, element) in self.values:
                found = (*found, element)
            else:
                skipped.append(element)
        return found, skipped

    def position(self, path: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value (or key) at ``path``, or its nearest parent."""
        found, _ = self.deepest(path)
        node = self.keys.get(found) if key else None
        node = node or self.values.get(found)
        if node is None:
            return (1, 1) if self.text else (0, 0)
        return node.start_mark.line + 1, node.start_mark.column + 1

    def offset_position(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1


@dataclass
class Document:
    """One YAML document: its data (plain Python), where things are, and syntax problems."""

    data: Any
    index: NodeIndex
    problems: list[Problem]


SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
"""libyaml's parser when PyYAML has it (six times faster: 8 ms for a config of 100 SLOs,
50 ms in Python), with the same nodes and marks."""
_RESOLVER = yaml.resolver.Resolver()
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


def compose_yaml(text: str, source: str, environ: Mapping[str, str] | None = None) -> Document:
    """Parse one YAML document keeping positions; substitute ``${ENV}`` when ``environ``."""
    documents = _compose(text, source, environ, single=True)
    return documents[0] if documents else Document(None, NodeIndex(text), [])


def compose_all_yaml(text: str, source: str) -> list[Document]:
    """Every document of a ``---`` separated stream, keeping positions (no substitution).

    A syntax error ends the stream: the documents before it are kept, and the last document
    carries the problem.
    """
    return _compose(text, source, None, single=False)


def _compose(
    text: str, source: str, environ: Mapping[str, str] | None, single: bool
) -> list[Document]:
    documents: list[Document] = []
    loader: yaml.SafeLoader | yaml.CSafeLoader | None = None
    try:
        loader = SAFE_LOADER(text)
        while True:
            index = NodeIndex(text)
            problems: list[Problem] = []
            if single:
                node = loader.get_single_node()
            elif loader.check_node():
                node = loader.get_node()
            else:
                break
            if node is None:
                break
            too_big = _expansion_problem(node, source)
            if too_big is not None:  # never construct it: validating would take hours
                documents.append(Document(None, index, [too_big]))
                break
            _walk(node, (), index, problems, source, environ, set())
            documents.append(Document(loader.construct_document(node), index, problems))
            if single:
                break
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = Problem(source, line, column, f"YAML syntax: {detail}")
        documents.append(Document(None, NodeIndex(text), [problem]))
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line, column = NodeIndex(text).offset_position(exc.position)
        message = f"YAML syntax: character U+{int(exc.character):04X} is not allowed"
        documents.append(Document(None, NodeIndex(text), [Problem(source, line, column, message)]))
    except yaml.YAMLError as exc:
        documents.append(Document(None, NodeIndex(text), [Problem(source, 0, 0, f"YAML: {exc}")]))
    finally:
        if loader is not None:
            loader.dispose()
    return documents


MAX_EXPANDED_VALUES = 1_000_000
"""The most values a document may hold once its aliases are expanded. Aliases are shared,
not copied, when loading, but validation visits every expanded value: nine nested lists of
ten aliases each (the "billion laughs") would take hours."""


def _expansion_problem(root: yaml.Node, source: str) -> Problem | None:
    """A problem when ``root`` expands to more than ``MAX_EXPANDED_VALUES`` values."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once (and ends the recursion)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        return total

    try:
        expanded = size(root)
    except RecursionError:
        expanded = MAX_EXPANDED_VALUES + 1
    if expanded <= MAX_EXPANDED_VALUES:
        return None
    return Problem(
        source,
        root.start_mark.line + 1,
        root.start_mark.column + 1,
        f"the document expands to more than {MAX_EXPANDED_VALUES:,} values through its "
        "aliases (*name): write the repeated parts out, or use fewer levels of aliases",
    )


def _walk(
    node: yaml.Node,
    path: YamlPath,
    index: NodeIndex,
    problems: list[Problem],
    source: str,
    environ: Mapping[str, str] | None,
    seen: set[int],
) -> None:
    index.values.setdefault(path, node)
    if id(node) in seen:  # an alias: already substituted and indexed
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode) and node.style == "":
        node.style = None  # libyaml's plain style, as the Python parser says it
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key == "<<":
                continue
            if key in first_line:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                message = f"duplicate key {key!r} (first given on line {first_line[key]})"
                problems.append(Problem(source, line, column, message))
                continue
            first_line[key] = key_node.start_mark.line + 1
            index.keys[(*path, key)] = key_node
            _walk(value_node, (*path, key), index, problems, source, environ, seen)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _walk(item, (*path, position), index, problems, source, environ, seen)
    elif isinstance(node, yaml.ScalarNode) and environ is not None:
        is_text = node.tag == "tag:yaml.org,2002:str" and "$" in node.value
        if is_text and not _substitute(node, index, problems, source, environ):
            index.unresolved.add(path)


def _substitute(
    node: yaml.ScalarNode,
    index: NodeIndex,
    problems: list[Problem],
    source: str,
    environ: Mapping[str, str],
) -> bool:
    """Substitute in place; False when a reference could not be resolved (reported)."""
    start, end = node.start_mark.index, node.end_mark.index
    raw_span = index.text[start:end]
    cursor = 0

    def where(reference: str) -> tuple[int, int]:
        """Where ``reference`` is written (exact unless escapes changed the scalar's text)."""
        nonlocal cursor
        offset = raw_span.find(reference, cursor)
        if offset < 0:
            return node.start_mark.line + 1, node.start_mark.column + 1
        cursor = offset + len(reference)
        return index.offset_position(start + offset)

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        inner = match.group(1)
        variable = _VARIABLE.match(inner) if inner is not None else None
        if variable is None:
            message = (
                f"{whole!r} is not a variable reference (write ${{NAME}} or ${{NAME:-default}})"
            )
            problems.append(Problem(source, *where(whole), message))
            return whole
        name, default = variable.group(1), variable.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        message = f"environment variable {name} is not set (give a default: ${{{name}:-value}})"
        problems.append(Problem(source, *where(whole), message))
        return whole

    reported = len(problems)
    value = _REFERENCE.sub(replace, node.value)
    if value != node.value:
        node.value = value
        if node.style is None:  # plain scalar: type it as YAML would have
            node.tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return len(problems) == reported
