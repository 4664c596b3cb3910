"""pydantic errors → problems at file:line:col, with "did you mean" for unknown keys and
literal values, and discriminator tags named (``window.type``, ``indicator.source``).

A field whose model a source plugin chooses (``sources``, an SLO's ``indicator``:
``errorbudget.indicators.PluginChoice``) is followed to the plugin's model, so a wrong key
inside ``sources.genesys`` or a Genesys indicator gets the same suggestions as any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr, Tag
from pydantic_core import ErrorDetails

from errorbudget.config_sources import sources_model
from errorbudget.errors import ConfigError, Problem
from errorbudget.indicators import IndicatorSettings, PluginChoice
from errorbudget.source_catalog import source_catalog
from errorbudget.yamlsource import NodeIndex, YamlPath, did_you_mean


def strip_annotation(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``None`` from a union."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return strip_annotation(members[0])
    return annotation


def _tags(annotation: Any) -> dict[str, type[BaseModel]]:
    """Discriminator tag → member model for a union of models with ``Literal`` fields, or of
    members tagged with ``Tag`` (a callable discriminator)."""
    tags: dict[str, type[BaseModel]] = {}
    for member in get_args(annotation):
        tagged = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        member = strip_annotation(member)
        if tagged and isinstance(member, type) and issubclass(member, BaseModel):
            tags[tagged[0]] = member
            continue
        if isinstance(member, type) and issubclass(member, BaseModel):
            for info in member.model_fields.values():
                literal = get_origin(info.annotation) is Literal
                if literal and get_args(info.annotation) == (info.default,):
                    tags[str(info.default)] = member
    return tags


def _type_at(
    loc: Sequence[str | int], root: type[BaseModel], index: NodeIndex | None = None
) -> Any:
    """The annotation a pydantic ``loc`` points at, from ``root`` down. A field whose model
    a source plugin chooses (``PluginChoice``) is followed to that model: ``sources`` by
    the key, an ``indicator`` by its ``source`` as written (``index``)."""
    current: Any = root
    path: list[str | int] = []
    for element in loc:
        current = _plugin_model(current, tuple(path), index)
        current = strip_annotation(current)
        path.append(element)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(element))
            if info is None:
                return None
            choice = [m for m in info.metadata if isinstance(m, PluginChoice)]
            current = Annotated[info.annotation, *choice] if choice else info.annotation
        elif origin is list and isinstance(element, int):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        elif origin in (Union, UnionType) and str(element) in _tags(current):
            current = _tags(current)[str(element)]
        else:
            return None
    return strip_annotation(_plugin_model(current, tuple(path), index))


def _plugin_model(annotation: Any, path: YamlPath, index: NodeIndex | None) -> Any:
    """The model a ``PluginChoice`` field stands for (else ``annotation`` unchanged)."""
    choice = next(
        (m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, PluginChoice)),
        None,
    )
    if choice is None:
        return annotation
    catalog = source_catalog()
    if choice.by == "sources":
        return sources_model(catalog)
    node = index.values.get((*path, "source")) if index is not None else None
    name = node.value if isinstance(node, yaml.ScalarNode) else "ingest"
    if name not in catalog:
        return IndicatorSettings
    try:
        return catalog.kind(name).indicator_model
    except ConfigError:
        return IndicatorSettings


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for element in path:
        text += f"[{element}]" if isinstance(element, int) else f".{element}"
    return text.lstrip(".") or "(top level)"


_YAML_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def error_problem(
    error: ErrorDetails, index: NodeIndex, source: str, root: type[BaseModel]
) -> Problem:
    """One pydantic error as a problem at the file:line:col its ``loc`` names (``root``:
    the model validated, e.g. ``Config``)."""
    loc = [e for e in error["loc"] if e != "[key]"]
    on_key = error["loc"][-1:] == ("[key]",) or error["type"] == "extra_forbidden"
    found, skipped = index.deepest(loc)
    kind, ctx = error["type"], error.get("ctx", {})
    message = error["msg"].removeprefix("Value error, ")
    where = _dotted(found)
    if kind == "missing" and skipped:
        message = f"missing required key {skipped[-1]!r}"
    elif kind == "extra_forbidden":
        parent = _type_at(loc[:-1], root, index)
        is_model = isinstance(parent, type) and issubclass(parent, BaseModel)
        fields = list(parent.model_fields) if is_model else []
        hint = did_you_mean(str(loc[-1]), fields)
        if not hint and fields:
            hint = f" (expected one of: {', '.join(fields)})"
        message = f"unknown key {loc[-1]!r}{hint}"
        where = _dotted(found[:-1])
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "'type'")).strip("'")
        tags = list(_tags(_type_at(loc, root, index)))
        if kind == "union_tag_invalid":
            found = (*found, discriminator)
            hint = did_you_mean(str(ctx.get("tag")), tags)
            message = f"{discriminator} {ctx.get('tag')!r} is not one of {', '.join(tags)}{hint}"
        else:
            message = f"missing key {discriminator!r} (one of: {', '.join(tags)})"
    elif kind == "source_unknown":  # an indicator's source no plugin has (indicators.py)
        where = _dotted(found[:-1] if found[-1:] == ("source",) else found)
    elif kind in ("model_attributes_type", "model_type"):
        message = "expected a mapping (key: value lines)"
    if kind in ("source_unknown", "source_missing"):
        pass  # the message names the value already
    elif kind == "secret_suspected":
        pass  # a value that likely holds a secret (a pasted token, user:password@) is not echoed
    elif _type_at(loc, root, index) is SecretStr:
        pass  # a secret is never echoed, not even a wrong one
    elif kind == "string_type":
        node = index.values.get(found)
        if isinstance(node, yaml.ScalarNode) and node.style is None:
            if node.value.lower() in _YAML_BOOLEANS:
                message += f" (YAML reads unquoted {node.value} as a boolean: quote it)"
            elif node.tag != "tag:yaml.org,2002:str":
                message += f" (got {node.value}: quote it to make it a string)"
    elif not isinstance(error["input"], dict | list) and kind not in (
        "missing",
        "extra_forbidden",
    ):
        message += f" (got {repr(error['input'])[:60]})"
        if kind == "literal_error":
            expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            message += did_you_mean(str(error["input"]), expected)
    line, column = index.position(found, key=on_key)
    return Problem(source, line, column, f"{where}: {message}")
