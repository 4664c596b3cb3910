"""``sources:``: each key is a source plugin's settings, validated by that plugin's model.

The section's model is built from the source catalog (``source_catalog``): one optional
field per plugin that has a ``settings_model``, unknown keys refused — so ``sources.genesis``
gets "did you mean 'genesys'" and a wrong key inside ``sources.genesys`` its file:line:col,
exactly as if the models were written out here. An empty section (``genesys:``) means the
source is not configured.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializeAsAny,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)

from errorbudget.indicators import PluginChoice
from errorbudget.source_catalog import SourceCatalog, source_catalog


@functools.cache
def sources_model(catalog: SourceCatalog, every: bool = True) -> type[BaseModel]:
    """The ``sources:`` model of ``catalog``: ``<name>: <settings model> | None`` per
    configurable source (only the built-in ones unless ``every``: no entry-point scan)."""
    fields: dict[str, Any] = {}
    for name in catalog.names() if every else catalog.builtin_names():
        settings = catalog.kind(name).settings_model
        if settings is not None:
            fields[name] = (settings | None, None)
    config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    model: type[BaseModel] = create_model("SourcesSettings", __config__=config, **fields)
    return model


def _validate_sources(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> dict[str, BaseModel]:
    if isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()):
        return value  # already validated (model_copy, a test building a Config)
    catalog = source_catalog()
    builtin = isinstance(value, dict) and set(value) <= set(catalog.builtin_names())
    model = sources_model(catalog, every=not builtin)
    validated = model.model_validate(value, context=info.context)
    return {
        name: settings
        for name in type(validated).model_fields
        if isinstance(settings := getattr(validated, name), BaseModel)
    }


SourcesSettings = Annotated[
    dict[str, SerializeAsAny[BaseModel]],
    WrapValidator(_validate_sources),
    PluginChoice("sources"),
]
"""``sources:`` as validated: source name → its settings (configured sources only)."""
