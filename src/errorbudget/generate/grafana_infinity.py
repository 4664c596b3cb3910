"""Queries of the Infinity data source (plugin ``yesoreyeram-infinity-datasource``), which
reads JSON over HTTP: how the dashboard shows errorbudget's changes and annotations from its
API (docs/api.md ``GET /api/v1/changes``, ``GET /api/v1/annotations``).

The foundation SDK has no model for this plugin, so this is one in the SDK's own shape: a
``Dataquery`` variant with ``to_json``/``from_json`` and a builder, registered with the SDK's
runtime (``register``) so a dashboard's Infinity targets decode into it like Prometheus ones
do into the SDK's. ``from_json`` refuses a key it does not know, so a decoded dashboard is
checked field by field (tests/unit/grafana_schema.py). The fields are the plugin's query
model (``type``, ``source``, ``format``, ``parser``, ``url``, ``url_options``,
``root_selector``, ``columns``).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

INFINITY = "yesoreyeram-infinity-datasource"
"""The plugin id: a data source variable of this type lets users map their instance."""

ColumnType = Literal["string", "number", "timestamp", "boolean"]


def _known(data: dict[str, Any], keys: set[str], what: str) -> None:
    unknown = sorted(set(data) - keys)
    if unknown:
        raise ValueError(f"{what} has unknown field(s) {unknown}")


class InfinityColumn:
    """One column picked from each JSON object: ``selector`` (a key), its title, its type."""

    def __init__(self, selector: str, text: str, type_val: ColumnType = "string") -> None:
        self.selector = selector
        self.text = text
        self.type_val = type_val

    def to_json(self) -> dict[str, object]:
        return {"selector": self.selector, "text": self.text, "type": self.type_val}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        _known(data, {"selector", "text", "type"}, "an Infinity column")
        return cls(data["selector"], data["text"], data["type"])


class InfinityQuery(cogvariants.Dataquery):
    """A JSON-over-HTTP query: GET ``url`` (relative to the data source's URL, which holds
    the errorbudget server's address and its bearer token), each object of the answer one
    row of ``columns``."""

    FIELDS = frozenset(
        {
            "refId",
            "datasource",
            "type",
            "source",
            "format",
            "parser",
            "url",
            "url_options",
            "root_selector",
            "columns",
            "filters",
            "hide",
        }
    )

    def __init__(
        self,
        ref_id: str = "A",
        datasource: dashboard.DataSourceRef | None = None,
        url: str = "",
        columns: list[InfinityColumn] | None = None,
        root_selector: str = "",
        format_val: Literal["table", "dataframe"] = "table",
        hide: bool | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.datasource = datasource
        self.url = url
        self.columns = columns if columns is not None else []
        self.root_selector = root_selector
        self.format_val = format_val
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "type": "json",
            "source": "url",
            "format": self.format_val,
            "parser": "backend",
            "url": self.url,
            "url_options": {"method": "GET", "data": ""},
            "root_selector": self.root_selector,
            "columns": self.columns,
            "filters": [],
        }
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Decode, refusing unknown fields and the kinds of query this model does not make."""
        _known(data, set(cls.FIELDS), "an Infinity query")
        fixed = {"type": "json", "source": "url", "parser": "backend", "filters": []}
        for key, value in fixed.items():
            if data.get(key) != value:
                raise ValueError(f"an Infinity query's {key} must be {value!r}")
        if data.get("url_options") != {"method": "GET", "data": ""}:
            raise ValueError("an Infinity query must be a GET without a body")
        if data.get("format") not in ("table", "dataframe"):
            raise ValueError("an Infinity query's format must be table or dataframe")
        datasource = data.get("datasource")
        return cls(
            ref_id=data["refId"],
            datasource=dashboard.DataSourceRef.from_json(datasource) if datasource else None,
            url=data["url"],
            columns=[InfinityColumn.from_json(column) for column in data["columns"]],
            root_selector=data["root_selector"],
            format_val=data["format"],
            hide=data.get("hide"),
        )


class InfinityQueryBuilder(cogbuilder.Builder[InfinityQuery]):
    """Builds an :class:`InfinityQuery` the way the SDK's query builders do."""

    def __init__(self) -> None:
        self._internal = InfinityQuery()

    def build(self) -> InfinityQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def datasource(self, datasource: dashboard.DataSourceRef) -> Self:
        self._internal.datasource = datasource
        return self

    def url(self, url: str) -> Self:
        self._internal.url = url
        return self

    def column(self, selector: str, text: str, type_val: ColumnType = "string") -> Self:
        self._internal.columns.append(InfinityColumn(selector, text, type_val))
        return self


class InfinityAnnotationTarget(dashboard.AnnotationTarget):
    """An annotation query's target as an Infinity query: the SDK types an annotation's
    target after Grafana's built-in data source only, while Grafana stores any data source's
    query there."""

    def __init__(self, query: InfinityQuery) -> None:
        super().__init__()
        self.query = query

    def to_json(self) -> dict[str, object]:
        return self.query.to_json()


class InfinityAnnotationTargetBuilder(cogbuilder.Builder[dashboard.AnnotationTarget]):
    def __init__(self, query: cogbuilder.Builder[InfinityQuery]) -> None:
        self._internal = InfinityAnnotationTarget(query.build())

    def build(self) -> dashboard.AnnotationTarget:
        return self._internal


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(identifier=INFINITY, from_json_hook=InfinityQuery.from_json)


def register() -> None:
    """Let the SDK decode Infinity targets into :class:`InfinityQuery` (idempotent)."""
    cogruntime.register_dataquery_variant(variant_config())
