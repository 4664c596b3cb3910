"""Faster construction of the frozen result records a status builds by the thousand.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (frozen
classes refuse plain assignment), about 75 ns a field: for the 1,010 ``BudgetStatus`` of
43 fields and ~5,000 ``ConditionResult`` of 12 fields of a 1,000-series status, ~8 ms of
its ~60 (issue #9). :func:`slot_constructor` generates, once per class, a function with
the same parameters and defaults that sets each slot through its member descriptor
instead — what ``__init__`` does, without the per-field ``__setattr__`` lookup and call,
at about half the cost. The record is the same class, as frozen as ever (assignment still
raises), and equal to the one ``__init__`` builds (tests/unit/test_record_builders.py).

Only for plain records: slotted, frozen dataclasses whose ``__init__`` is the generated
one, with no ``__post_init__``, no ``InitVar``, no keyword-only fields and no default
factories — so nothing ``__init__`` would do is skipped. Any other class is refused when
the constructor is made (at import), not when it is used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sized
from itertools import repeat
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def slot_constructor(cls: type[T]) -> Callable[..., T]:
    """A function taking ``cls.__init__``'s arguments (same names, order and defaults)
    and returning the same record, built through the slots' descriptors."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass with slots")
    if not params.init or ("__init__" in cls.__dict__ and not _generated(cls)):
        raise TypeError(f"{cls.__name__} has an __init__ of its own, which this would skip")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which this would skip")
    fields = dataclasses.fields(cls)
    if len(fields) != len(cls.__dict__["__slots__"]):
        raise TypeError(f"{cls.__name__} has slots that are not init fields")
    # the generated function's own names start with "__eb_": no field can be one of them
    namespace: dict[str, Any] = {"__eb_new": object.__new__, "__eb_cls": cls}
    parameters = []
    body = ["    __eb_record = __eb_new(__eb_cls)"]
    for field in fields:
        if field.name.startswith("__eb_"):
            raise TypeError(f"{cls.__name__}.{field.name}: a name this module reserves")
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} is not set by __init__")
        if field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name} is keyword-only")
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} has a default factory")
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"__eb_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=__eb_default_{field.name}")
        namespace[f"__eb_set_{field.name}"] = cls.__dict__[field.name].__set__
        body.append(f"    __eb_set_{field.name}(__eb_record, {field.name})")
    body.append("    return __eb_record")
    source = f"def build({', '.join(parameters)}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<slot_constructor {cls.__qualname__}>", "exec"), namespace)
    built: Callable[..., T] = namespace["build"]
    built.__qualname__ = built.__name__ = f"build_{cls.__name__}"
    built.__doc__ = f"``{cls.__name__}(...)``, built through its slots (record_builders.py)."
    return built


class Columns(Generic[T]):
    """Build many records of one class from columns: ``build(field=values, ...)`` takes
    one iterable per field (every row's value, in row order), or :class:`Same` for a value
    every row shares, and returns the records, built through the class's slots
    (:func:`slot_constructor`) by one ``map`` over the columns — no Python loop per row.
    A field with a default may be left out; a missing or unknown field raises."""

    def __init__(self, cls: type[T]) -> None:
        self._build = slot_constructor(cls)
        self._name = cls.__name__
        self._fields = [(f.name, f.default) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        self._known = {name for name, _ in self._fields}

    def build(self, rows: int, **columns: Iterable[Any] | Same) -> list[T]:
        unknown = columns.keys() - self._known
        if unknown:
            raise TypeError(f"{self._name} has no field {sorted(unknown)[0]!r}")
        ordered: list[Iterable[Any]] = []
        for name, default in self._fields:
            column = columns.get(name, _ABSENT)
            if column is _ABSENT:
                if default is dataclasses.MISSING:
                    raise TypeError(f"{self._name}: no column for the field {name!r}")
                column = Same(default)
            if isinstance(column, Same):
                column = repeat(column.value, rows)
            elif isinstance(column, Sized) and len(column) != rows:
                raise ValueError(f"{self._name}.{name}: {len(column)} values for {rows} rows")
            ordered.append(column)
        built = list(map(self._build, *ordered))
        if len(built) != rows:
            raise ValueError(f"{self._name}: {len(built)} records built, {rows} expected")
        return built


@dataclasses.dataclass(frozen=True, slots=True)
class Same:
    """One value for every row of a :class:`Columns` build."""

    value: Any


_ABSENT: Any = object()


def _generated(cls: type) -> bool:
    """Whether ``cls.__init__`` is the one ``dataclasses`` wrote."""
    init = cls.__dict__["__init__"]
    return getattr(init, "__qualname__", "") == f"{cls.__qualname__}.__init__" and (
        getattr(getattr(init, "__code__", None), "co_filename", "") == "<string>"
    )
