"""Records built through their slots (record_builders.py) are the records ``__init__``
builds: equal, of the same class, as frozen; classes whose ``__init__`` does more are
refused when the constructor is made."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.model import BudgetStatus, ConditionResult, DataCoverage
from errorbudget.record_builders import Columns, Same, slot_constructor

_floats = st.one_of(st.none(), st.floats(allow_nan=False, width=64))
_CONDITION = st.tuples(
    st.sampled_from(["page", "ticket"]),
    st.text(max_size=4),
    st.text(max_size=4),
    st.floats(allow_nan=False),
    st.floats(allow_nan=False),
    st.booleans(),
    _floats,
    _floats,
    st.floats(allow_nan=False),
    st.booleans(),
    _floats,
    st.text(max_size=6),
)


@given(_CONDITION)
def test_a_condition_result_built_through_its_slots_equals_the_one_init_builds(
    values: tuple[object, ...],
) -> None:
    build = slot_constructor(ConditionResult)
    built = build(*values)
    expected = ConditionResult(*values)  # type: ignore[arg-type]
    assert type(built) is ConditionResult
    assert built == expected and repr(built) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.firing = True  # type: ignore[misc]


def _status_values(index: int) -> dict[str, object]:
    coverage = DataCoverage(60, 60, 0, 60, 0.0, 0.5, None, True, False)
    values: dict[str, object] = {}
    for number, found in enumerate(dataclasses.fields(BudgetStatus)):
        if found.name == "conditions":
            values[found.name] = (ConditionResult("page", "1h", "5m", 1, 1, False, 1, 1, 1, True),)
        elif found.name == "coverage":
            values[found.name] = coverage
        elif found.name == "burn_rates":
            values[found.name] = {"1h": index * 0.5}
        elif found.name == "segment":
            values[found.name] = (("queue", f"q{index}"),)
        else:
            values[found.name] = f"{found.name}-{index}-{number}"
    return values


def test_a_budget_status_built_by_keyword_positionally_or_with_defaults_equals_init() -> None:
    build = slot_constructor(BudgetStatus)
    values = _status_values(3)
    assert build(**values) == BudgetStatus(**values)  # type: ignore[arg-type]
    assert build(*values.values()) == BudgetStatus(**values)  # type: ignore[arg-type]
    required = {
        name: value
        for name, value in values.items()
        if BudgetStatus.__dataclass_fields__[name].default is dataclasses.MISSING
    }
    assert len(required) < len(values)  # some fields are left to their defaults
    assert build(**required) == BudgetStatus(**required)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        build(**{**values, "no_such_field": 1})


def test_columns_build_each_row_from_its_values_and_shared_ones() -> None:
    rows = [_status_values(i) for i in range(4)]
    columns: dict[str, list[object] | Same] = {
        name: [row[name] for row in rows] for name in rows[0] if name != "advice"
    }
    columns["policy"] = Same("contact-center")
    found = Columns(BudgetStatus).build(4, **columns)
    expected = [
        BudgetStatus(**{**row, "policy": "contact-center", "advice": ""})  # type: ignore[arg-type]
        for row in rows
    ]  # advice left out: its default
    assert found == expected


def test_columns_refuse_a_missing_an_unknown_or_a_short_column() -> None:
    build = Columns(ConditionResult)
    full = {
        "severity": Same("page"),
        "long_window": Same("1h"),
        "short_window": Same("5m"),
        "factor": [14.4, 14.4],
        "catalog_factor": Same(14.4),
        "adapted": Same(False),
        "long_burn": [1.0, None],
        "short_burn": [2.0, None],
        "long_eligible": [10.0, 0.0],
        "firing": [False, False],
    }
    assert [r.long_burn for r in build.build(2, **full)] == [1.0, None]
    with pytest.raises(TypeError, match="firing"):
        build.build(2, **{k: v for k, v in full.items() if k != "firing"})
    with pytest.raises(TypeError, match="nope"):
        build.build(2, **full, nope=Same(1))
    with pytest.raises(ValueError, match="factor"):
        build.build(3, **full)


@dataclass(frozen=True, slots=True)
class _Plain:
    a: int
    b: str = "x"


@dataclass(slots=True)
class _Mutable:
    a: int


@dataclass(frozen=True)
class _NoSlots:
    a: int


@dataclass(frozen=True, slots=True)
class _Factory:
    a: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class _KeywordOnly:
    a: int


def test_only_plain_frozen_slotted_records_get_a_constructor() -> None:
    assert slot_constructor(_Plain)(1) == _Plain(1)
    assert slot_constructor(_Plain)(1, b="y") == _Plain(1, "y")
    for refused, why in [
        (_Mutable, "frozen"),
        (_NoSlots, "slots"),
        (_Factory, "default factory"),
        (_KeywordOnly, "keyword-only"),
        (EffectiveCondition, "__post_init__"),  # it derives fields: skipping that is wrong
        (int, "not a dataclass"),
    ]:
        with pytest.raises(TypeError, match=why):
            slot_constructor(refused)


@dataclass(frozen=True, slots=True)
class _Internals:
    record: str
    _cls: int
    build: str = "b"


@dataclass(frozen=True, slots=True)
class _OwnInit:
    n: int

    def __init__(self, n: int) -> None:  # validates: a constructor must not skip it
        if n < 0:
            raise ValueError("negative")
        object.__setattr__(self, "n", n)


def test_field_names_never_meet_the_generated_functions_own_names() -> None:
    built = slot_constructor(_Internals)("x", 3)
    assert built == _Internals("x", 3) and built.record == "x" and built._cls == 3


def test_a_record_with_an_init_of_its_own_is_refused() -> None:
    with pytest.raises(TypeError, match="__init__ of its own"):
        slot_constructor(_OwnInit)
