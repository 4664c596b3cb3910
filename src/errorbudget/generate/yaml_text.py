"""YAML text for the generated documents: block style, keys in the order built, multi-line
expressions as literal blocks, every other string plain where a YAML loader reads it back as
that string (PyYAML's own resolver decides), otherwise quoted.

Written here rather than with PyYAML's dumper because a rule file of 1,000 SLOs (~30,000
rules, 10 MB) took PyYAML's pure-Python emitter ~6 s and its libyaml one ~1.8 s, against the
2 s the whole command has (docs/performance.md, issue #11); this takes ~0.1 s. The tests
read every generated document back with ``yaml.safe_load`` and compare it with the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

import yaml

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`.~= ")
"""Characters a plain scalar must not start with (YAML's indicators, and ``.``/``=``/``~``
that start a special value or a document end)."""
_RESOLVER = yaml.resolver.Resolver()
"""What a safe loader would read a plain scalar as (bool, int, float, null, timestamp …)."""
_STR = "tag:yaml.org,2002:str"
_BLOCK_SAFE = re.compile(r"^[^\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0085\u2028\u2029\ufeff]*$")


def scalar(value: object) -> str:
    """One scalar as YAML text (strings: plain when unambiguous, else double-quoted)."""
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _string(str(value))


@lru_cache(maxsize=8192)
def _string(text: str) -> str:
    """A string scalar: plain where YAML reads it back as this string, else single-quoted
    (one line), else double-quoted with JSON's escapes. Cached: a rule file repeats the same
    keys, labels and severities thousands of times."""
    one_line = _BLOCK_SAFE.match(text) is not None and "\n" not in text
    if (
        one_line
        and text
        and text == text.strip()
        and text[0] not in _INDICATORS
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR  # type: ignore[no-untyped-call]
    ):
        return text
    if one_line:
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _literal(text: str) -> bool:
    """Whether ``text`` can be written as a ``|-`` block and read back the same."""
    lines = text.split("\n")
    return (
        len(lines) > 1
        and bool(lines[0])
        and not lines[0][0].isspace()
        and bool(lines[-1])
        and all(line == line.rstrip() for line in lines)
        and _BLOCK_SAFE.match(text) is not None
    )


def _mapping(value: object) -> dict[object, object] | None:
    # concrete types first: an ABC isinstance check costs ~10x more, per value
    if isinstance(value, dict):
        return value
    return dict(value) if isinstance(value, Mapping) else None


def _sequence(value: object) -> list[object] | tuple[object, ...] | None:
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return None


def _emit(value: object, indent: str, out: list[str]) -> None:
    """Append ``value`` (a mapping or a sequence) as block lines at ``indent``."""
    mapping = _mapping(value)
    if mapping is not None:
        inner = indent + "  "
        for key, item in mapping.items():
            _entry(f"{indent}{scalar(key)}:", item, inner, out)
        return
    items = _sequence(value) or ()
    nested = indent + "    "
    for item in items:
        entries = _mapping(item)
        if entries:
            lead = f"{indent}- "
            for key, inner_value in entries.items():
                _entry(f"{lead}{scalar(key)}:", inner_value, nested, out)
                lead = f"{indent}  "
        else:
            _entry(f"{indent}-", item, indent + "  ", out)


def _entry(head: str, value: object, inner: str, out: list[str]) -> None:
    """``head`` (``key:`` or ``-``) followed by ``value``; nested blocks at ``inner``
    (mapping values one level in, ``- key:`` values two)."""
    if isinstance(value, str):
        if "\n" in value and _literal(value):
            out.append(f"{head} |-")
            out.extend(f"{inner}{line}" if line else "" for line in value.split("\n"))
        else:
            out.append(f"{head} {_string(value)}")
        return
    mapping = _mapping(value)
    if mapping is not None:
        if not mapping:
            out.append(f"{head} {{}}")
            return
        out.append(head)
        _emit(mapping, inner, out)
        return
    items = _sequence(value)
    if items is not None:
        if not items:
            out.append(f"{head} []")
            return
        out.append(head)
        # block sequences under a key sit at the key's own indentation (PyYAML's style)
        _emit(items, inner[:-2], out)
        return
    out.append(f"{head} {scalar(value)}")


def dump(document: Mapping[str, object]) -> str:
    """``document`` (mappings, sequences, strings, numbers, booleans) as YAML text."""
    out: list[str] = []
    _emit(document, "", out)
    return "\n".join(out) + "\n"
