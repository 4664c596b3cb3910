"""A strict check of a Grafana dashboard (JSON model) against grafana-foundation-sdk's typed
models — the dashboard schema as the SDK's 11.6 build encodes it (Grafana itself is not
installable here; the JSON Schemas the SDK's repository generates from the same definitions
are not in the Python package, and they type an annotation's target after Grafana's built-in
data source only).

``dashboard_problems(doc)`` returns what is wrong, as ``$.path: what`` strings (empty: valid):

1. **Decoding.** ``Dashboard.from_json`` with the SDK's plugins registered (every panel's
   ``options`` and ``fieldConfig.defaults.custom`` decode into that panel type's models,
   every target into its data source's query model; an Infinity target into
   ``errorbudget.generate.grafana_infinity.InfinityQuery``, which refuses unknown fields). A
   target whose data source has no model is a problem (it would pass through unchecked), and
   so is a decoding error.
   A panel type the SDK has no model for (a misspelled ``gauge``) is a problem too.
2. **Round trip.** Encoding the decoded model must give the document back: a field the models
   do not know (a misspelled ``gridPoss``, an option the panel type does not have, an
   annotation target's field) is dropped by decoding, and reported where it was.
3. **Types.** Every attribute of every decoded model object must match its annotation in the
   SDK's classes (``int``, ``str``, ``list[...]``, ``Literal``, enums — a ``"absolut"``
   thresholds mode or a ``gridPos.h`` of ``"nine"`` — and nested models; raw dicts the SDK
   keeps, such as transformations, are decoded into their model first).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard

from errorbudget.generate import grafana_infinity


def _encode(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


def _differences(original: Any, decoded: Any, path: str) -> list[str]:
    if isinstance(original, dict) and isinstance(decoded, dict):
        # Keys only the model has are its defaults (a table's empty ``custom``): not errors.
        found = [f"{path}.{key}: unknown field" for key in original if key not in decoded]
        for key in original.keys() & decoded.keys():
            found += _differences(original[key], decoded[key], f"{path}.{key}")
        return found
    if isinstance(original, list) and isinstance(decoded, list):
        if len(original) != len(decoded):
            return [f"{path}: {len(original)} items became {len(decoded)}"]
        found = []
        for index, (left, right) in enumerate(zip(original, decoded, strict=True)):
            found += _differences(left, right, f"{path}[{index}]")
        return found
    if original != decoded or type(original) is not type(decoded):
        numbers = isinstance(original, int | float) and isinstance(decoded, int | float)
        if numbers and original == decoded and not isinstance(original, bool):
            return []
        return [f"{path}: {original!r} decoded as {decoded!r}"]
    return []


def _hints(cls: type) -> dict[str, Any]:
    module = __import__(cls.__module__, fromlist=["_"])
    return typing.get_type_hints(cls, globalns=vars(module))


def _type_problems(value: Any, hint: Any, path: str) -> list[str]:
    origin = typing.get_origin(hint)
    if hint is typing.Any or hint is object:
        return []
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return []
        best: list[str] | None = None
        for option in options:
            if option is type(None):
                continue
            found = _type_problems(value, option, path)
            if not found:
                return []
            best = found if best is None else best
        return best or [f"{path}: {value!r} is none of {hint}"]
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        (item,) = typing.get_args(hint)
        found = []
        for index, element in enumerate(value):
            found += _type_problems(element, item, f"{path}[{index}]")
        return found
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object"]
        _, item = typing.get_args(hint)
        found = []
        for key, element in value.items():
            found += _type_problems(element, item, f"{path}.{key}")
        return found
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = {member.value for member in hint}
        raw = value.value if isinstance(value, enum.Enum) else value
        return [] if raw in members else [f"{path}: {value!r} is not one of {sorted(members)}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if isinstance(hint, type):
        if isinstance(value, dict) and hasattr(hint, "from_json"):
            try:
                value = hint.from_json(value)  # a raw dict the SDK kept: decode it here
            except (KeyError, TypeError, ValueError) as exc:
                return [f"{path}: cannot be read as {hint.__name__}: {exc}"]
        if not isinstance(value, hint):
            return [f"{path}: {type(value).__name__} where {hint.__name__} is expected"]
        return _object_problems(value, path)
    return []


def _object_problems(model: Any, path: str) -> list[str]:
    if isinstance(model, cogruntime.UnknownDataquery):
        return [f"{path}: a query of a data source without a model (not checked)"]
    if isinstance(model, grafana_infinity.InfinityAnnotationTarget):
        return _object_problems(model.query, path)
    try:
        hints = _hints(type(model))
    except (NameError, TypeError):
        hints = {}
    found = []
    for name, hint in hints.items():
        if name.startswith("_") or typing.get_origin(hint) is typing.ClassVar:
            continue
        if hasattr(model, name):
            found += _type_problems(getattr(model, name), hint, f"{path}.{name}")
    return found


def decode(doc: dict[str, Any]) -> dashboard.Dashboard:
    """The dashboard decoded into the SDK's models (annotation targets of Infinity queries
    into that model: the SDK types annotation targets after Grafana's own data source)."""
    plugins.register_default_plugins()
    grafana_infinity.register()
    model = dashboard.Dashboard.from_json(doc)
    raw_annotations = doc.get("annotations", {}).get("list", [])
    for annotation, raw in zip(model.annotations.list_val or [], raw_annotations, strict=False):
        if annotation.datasource.type_val == grafana_infinity.INFINITY and "target" in raw:
            query = grafana_infinity.InfinityQuery.from_json(raw["target"])
            annotation.target = grafana_infinity.InfinityAnnotationTarget(query)
    return model


def dashboard_problems(doc: dict[str, Any]) -> list[str]:
    """Everything the SDK's typed models find wrong with ``doc`` (empty: valid)."""
    try:
        model = decode(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"$: cannot be decoded: {exc!r}"]
    known = set(cogruntime.Runtime().panelcfg_variants) | {"row"}
    unknown_types = [
        f"$.panels[{index}].type: {panel.get('type')!r} is not a panel type the SDK knows"
        for index, panel in enumerate(doc.get("panels", []))
        if panel.get("type") not in known
    ]
    return unknown_types + _differences(doc, _encode(model), "$") + _object_problems(model, "$")
