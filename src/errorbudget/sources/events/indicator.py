"""SLIs as data (issue #12): an events SLO's indicator says which event type it counts,
which of those are eligible, which are good, and which are excluded by named, audited
rules (docs/sources/events.md)::

    indicator:
      source: events
      event: turn
      eligible: {tool_calls: {gt: 0}}
      good: {latency_ms: {le: 2500}}
      exclude:
        - {name: test-call, when: {test: true}}

A *rule* is a mapping ``field → condition`` (all must hold), where ``any: [rule, …]`` and
``all: [rule, …]`` nest; a *condition* is a scalar (equality) or a mapping of operators
(``eq ne lt le gt ge in not_in present``; several operators all hold). Fields are checked
against the event type with a did-you-mean, at the key's file:line:col.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from errorbudget.indicators import IndicatorSettings, located_error
from errorbudget.sources.events.fields import DIMENSIONS, FIELDS, EventType, FieldSpec, fields_of
from errorbudget.yamlsource import did_you_mean

EVENTS_SOURCE = "events"

Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "present"]
OPERATORS: tuple[Operator, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "present")
ORDER_OPERATORS = frozenset({"lt", "le", "gt", "ge"})
NOT_IN_RULES = frozenset({"id", "type", "time"})
"""Fields a rule may not test: the type is the indicator's ``event``; ids and times are
not properties of quality."""

Scalar = bool | int | float | str
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Condition:
    """One test of one field: ``op`` with ``value`` (a list for ``in``/``not_in``, a bool
    for ``present``). ``path`` is where it is written, relative to its rule's root."""

    field: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]
    path: Path = ()


@dataclass(frozen=True)
class Rule:
    """All (``all``) or any (``any``) of its conditions and nested rules hold. ``data`` is
    the rule as written (what the config dumps back)."""

    mode: Literal["all", "any"]
    conditions: tuple[Condition, ...]
    rules: tuple[Rule, ...]
    data: Any = None
    path: Path = ()

    def walk(self) -> list[Condition]:
        """Every condition, nested ones included."""
        found = list(self.conditions)
        for rule in self.rules:
            found.extend(rule.walk())
        return found


def _fail(path: Path, kind: str, message: str, value: object) -> PydanticValidationError:
    return located_error("rule", path, kind, message, value)


def _scalar(value: object, path: Path) -> Scalar:
    if isinstance(value, bool | int | str) or (isinstance(value, float) and value == value):
        return value
    if value is None:
        raise _fail(path, "rule_null", "null never matches: use the operator present: false", value)
    raise _fail(path, "rule_value", "expected a number, string or boolean", value)


def _condition(field: str, written: object, path: Path) -> list[Condition]:
    if not isinstance(written, Mapping):
        return [Condition(field, "eq", _scalar(written, path), path)]
    if not written:
        raise _fail(path, "rule_empty", "an empty condition: give an operator", written)
    conditions = []
    for op, value in written.items():
        at = (*path, str(op))
        if op not in OPERATORS:
            hint = did_you_mean(str(op), OPERATORS)
            raise _fail(
                (*at, "[key]"),
                "rule_operator",
                f"unknown operator {op!r}{hint} (one of: {', '.join(OPERATORS)})",
                written,
            )
        if op == "present":
            if not isinstance(value, bool):
                raise _fail(at, "rule_value", "present takes true or false", value)
            conditions.append(Condition(field, op, value, at))
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise _fail(at, "rule_value", f"{op} takes a non-empty list", value)
            items = tuple(_scalar(item, (*at, i)) for i, item in enumerate(value))
            conditions.append(Condition(field, op, items, at))
        else:
            conditions.append(Condition(field, op, _scalar(value, at), at))
    return conditions


def parse_rule(written: object, path: Path = ()) -> Rule:
    """A rule as written in YAML/JSON → :class:`Rule` (structure only; fields are checked
    against the event type by the indicator). Errors are pydantic errors at ``path``."""
    if isinstance(written, Rule):
        return written
    if not isinstance(written, Mapping):
        raise _fail(path, "rule_type", "a rule is a mapping of field: condition", written)
    if not written:
        raise _fail(path, "rule_empty", "an empty rule: give at least one field", written)
    conditions: list[Condition] = []
    rules: list[Rule] = []
    for key, value in written.items():
        key = str(key)
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                raise _fail(
                    (*path, key), "rule_type", f"{key} takes a non-empty list of rules", value
                )
            nested = [parse_rule(item, (*path, key, i)) for i, item in enumerate(value)]
            rules.append(Rule(key, (), tuple(nested), None, (*path, key)))  # type: ignore[arg-type]
        else:
            conditions.extend(_condition(key, value, (*path, key)))
    return Rule("all", tuple(conditions), tuple(rules), _plain(written), path)


def _plain(value: object) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "field: condition (all hold), or any/all: [rule, …] (docs/sources/events.md)",
    "minProperties": 1,
}

RuleField = Annotated[
    Rule,
    PlainValidator(parse_rule),
    PlainSerializer(lambda rule: rule.data, return_type=Any),
    WithJsonSchema(_RULE_SCHEMA),
]


class ExclusionRule(BaseModel):
    """A named exclusion: an event matching ``when`` is excluded from the SLO (shown,
    counted as excluded, never in the budget)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    when: RuleField


class EventsIndicator(IndicatorSettings):
    """An SLI over voice-agent events: of the events of type ``event``, those matching
    ``eligible`` (all when absent) and no ``exclude`` rule are counted; those also matching
    ``good`` are good (docs/sources/events.md)."""

    source: Literal["events"] = "events"
    event: EventType
    eligible: RuleField | None = None
    good: RuleField
    exclude: list[ExclusionRule] = Field(default_factory=list, max_length=50)
    good_description: str = Field(default="good events", max_length=200)
    total_description: str = Field(default="eligible events", max_length=200)

    default_max_age: ClassVar[None] = None  # events are pushed: a quiet hour has no rows

    @model_validator(mode="after")
    def _rules_fit_the_event(self) -> EventsIndicator:
        names = [rule.name for rule in self.exclude]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise _fail(("exclude",), "rule_names", f"exclusion name(s) {repeated} repeat", names)
        located: list[tuple[Path, Rule]] = [(("good",), self.good)]
        if self.eligible is not None:
            located.append((("eligible",), self.eligible))
        located += [(("exclude", i, "when"), rule.when) for i, rule in enumerate(self.exclude)]
        for prefix, rule in located:
            for condition in rule.walk():
                _check_condition(self.event, condition, prefix)
        return self

    def segment_key_problem(self, keys: list[str]) -> str | None:
        unknown = [k for k in keys if k not in DIMENSIONS]
        if not unknown:
            return None
        return (
            f"segment key(s) {unknown} are not event dimensions "
            f"(an events SLO is segmented by: {', '.join(DIMENSIONS)})"
        )

    @property
    def exclusion_names(self) -> list[str]:
        return [rule.name for rule in self.exclude]


def _check_condition(event: str, condition: Condition, prefix: Path) -> None:
    field, path = condition.field, (*prefix, *condition.path)
    key_path = (*prefix, *condition.path[: _field_depth(condition)], "[key]")
    allowed = [f for f in fields_of(event) if f not in NOT_IN_RULES]
    spec = FIELDS.get(field)
    if spec is None or field in NOT_IN_RULES or event not in spec.types:
        if spec is not None and field in NOT_IN_RULES:
            reason = f"a rule cannot test {field!r}"
        elif spec is not None:
            owners = "/".join(sorted(spec.types))
            reason = f"{field!r} is a field of {owners} events, not of {event} events"
        else:
            reason = f"unknown field {field!r} for {event} events{did_you_mean(field, allowed)}"
        raise _fail(key_path, "rule_field", reason, {field: condition.value})
    _check_value(spec, condition, path)


def _field_depth(condition: Condition) -> int:
    """How many elements of the condition's path lead to its field's key."""
    path = condition.path
    index = len(path) - 1
    while index >= 0 and path[index] != condition.field:
        index -= 1
    return index + 1


def _check_value(spec: FieldSpec, condition: Condition, path: Path) -> None:
    op, value = condition.op, condition.value
    if op == "present":
        return
    values = value if isinstance(value, tuple) else (value,)
    for index, item in enumerate(values):
        at = (*path, index) if isinstance(value, tuple) else path
        if spec.kind == "bool":
            if op in ORDER_OPERATORS:
                raise _fail(
                    path, "rule_value", f"{spec.name} is true/false: {op} does not apply", item
                )
            if not isinstance(item, bool):
                raise _fail(at, "rule_value", f"{spec.name} is true or false", item)
        elif spec.kind in ("int", "float"):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise _fail(at, "rule_value", f"{spec.name} is a number", item)
        elif not isinstance(item, str):
            raise _fail(at, "rule_value", f"{spec.name} is a string (quote it)", item)
        elif spec.choices is not None and op not in ORDER_OPERATORS and item not in spec.choices:
            hint = did_you_mean(item, spec.choices)
            raise _fail(
                at, "rule_value", f"{item!r} is not one of {', '.join(spec.choices)}{hint}", item
            )
