"""What an SLO counts: its ``indicator``, whose model belongs to the source named by
``source`` (``source_catalog``). ``ingest`` (counts pushed with ``errorbudget ingest`` or the
HTTP API) is the default and lives here; every other indicator model lives with its source
plugin (``errorbudget.sources.genesys.indicator``, ``…prometheus``, a third-party package).

An indicator is validated by its source's model when the SLO is (the config, an OpenSLO
import, an API body), with pydantic's error locations intact, so ``errorbudget validate``
names the line and column of a wrong key inside it and suggests the right one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from errorbudget.indicator_settings import IndicatorSettings as IndicatorSettings
from errorbudget.source_catalog import source_catalog
from errorbudget.yamlsource import did_you_mean

SYNTHETIC_SOURCE = "synthetic"
"""The source of synthetic-check SLOs (``errorbudget.sources.synthetic``): ingest rows marked
``synthetic`` belong to them, and they have the ``SyntheticCheckFailing`` rule."""


def is_synthetic(indicator: IndicatorSettings) -> bool:
    """Whether an SLO with this indicator counts synthetic checks."""
    return indicator.source == SYNTHETIC_SOURCE


class IngestIndicator(IndicatorSettings):
    """Counts pushed with ``errorbudget ingest`` (CSV/NDJSON) or the HTTP API.

    ``good`` and ``total`` say in words what is counted, for humans and OpenSLO export.
    """

    source: Literal["ingest"] = "ingest"
    good: str = "good events"
    total: str = "valid events"


@dataclass(frozen=True)
class PluginChoice:
    """Marks a field whose model is chosen by a source plugin (``indicator`` by its
    ``source``, ``sources`` by each key), for the config loader's error mapping."""

    by: Literal["indicator", "sources"]


def located_error(title: str, loc: tuple[str | int, ...], kind: str, message: str,
                  value: object) -> ValidationError:  # fmt: skip
    """A ValidationError of one custom error at ``loc`` (relative to the value validated);
    raised inside a validator, pydantic prefixes the field's location."""
    detail: InitErrorDetails = {
        "type": PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}")),
        "loc": loc,
        "input": value,
    }
    return ValidationError.from_exception_data(title, [detail])


def _validate_indicator(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> IndicatorSettings:
    if isinstance(value, IndicatorSettings):
        return value
    if not isinstance(value, dict):
        return IngestIndicator.model_validate(value)  # pydantic's "expected a mapping"
    catalog = source_catalog()
    name = value.get("source", None)
    if isinstance(name, str) and name in catalog:
        return catalog.kind(name).indicator_model.model_validate(value, context=info.context)
    names = catalog.names()
    if name is None:
        raise located_error(
            "indicator", (), "source_missing",
            f"missing key 'source' (one of: {', '.join(names)})", value,
        )  # fmt: skip
    raise located_error(
        "indicator", ("source",), "source_unknown",
        f"source {name!r} is not one of {', '.join(names)}{did_you_mean(str(name), names)}",
        name,
    )  # fmt: skip


Indicator = Annotated[
    SerializeAsAny[IndicatorSettings],
    WrapValidator(_validate_indicator),
    PluginChoice("indicator"),
]
"""An SLO's indicator: validated by the model of the source its ``source`` names."""


def indicator_model(source: str) -> type[IndicatorSettings]:
    """The indicator model of ``source`` (ConfigError when no plugin has that name)."""
    return source_catalog().kind(source).indicator_model
