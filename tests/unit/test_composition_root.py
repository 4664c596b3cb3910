"""The App is a composition root: it builds and wires the services, and callers call them.

Its own public surface is opening, recording the config, wiring alerting for ``serve``
(``start_alerting``, ``delivery_worker``) and closing; everything else (statuses, changes,
exclusions, annotations, the gate's log, alerts) is a service's method, reached as
``app.evaluations``, ``app.changes``, ``app.records``, ``app.gate``, ``app.alerts`` and
``app.events`` (built on first use). The requests that
cross from a surface into a service are typed, immutable values.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest

from errorbudget.app import App
from errorbudget.changes import ChangeRequest, ChangeService
from errorbudget.config import parse_config
from errorbudget.exclusions import AnnotationRequest, ExclusionProposal, RecordsService
from errorbudget.gate import GateService
from errorbudget.model import to_minute
from errorbudget.services.alerts import AlertService
from errorbudget.services.evaluations import EvaluationService
from errorbudget.services.event_ingest import EventIngestService
from errorbudget.store import open_store

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_app_has_no_facade_over_its_services() -> None:
    own = {
        name
        for name, _ in inspect.getmembers(App)
        if not name.startswith("_") and name in App.__dict__
    }
    services = {"alerts", "events", "voice"}  # services built on first use (cached_property)
    wiring = {"start_alerting", "delivery_worker"}
    assert own == {"open", "record_config", "close"} | services | wiring


def test_the_app_wires_each_service_on_its_own_config_store_and_clock() -> None:
    text = (EXAMPLES / "contact-center.yaml").read_text()
    loaded = parse_config(text, "/tmp/cc/errorbudget.yaml", {})
    with open_store(":memory:") as store:
        app = App(loaded, store, clock=lambda: AT)
        assert isinstance(app.evaluations, EvaluationService)
        assert isinstance(app.gate, GateService)
        assert isinstance(app.changes, ChangeService)
        assert isinstance(app.records, RecordsService)
        for service in (app.evaluations, app.gate, app.changes, app.records):
            assert service.loaded is loaded and service.store is store
        assert app.changes.gate is app.gate
        assert app.gate.evaluations is app.changes.evaluations is app.evaluations
        assert app.records.evaluations is app.evaluations
        assert isinstance(app.alerts, AlertService)
        assert app.alerts.loaded is loaded and app.alerts.store is store
        assert isinstance(app.events, EventIngestService)
        assert app.events.store is store and app.events.clock() == AT
        assert app.delivery_worker({}) is None  # the example configures no receivers
        assert app.evaluations.now_minute() == to_minute(AT)


@pytest.mark.parametrize(
    "request_",
    [
        ChangeRequest(service="billing", title="PSP v2", submitted_by="olga"),
        ExclusionProposal(
            slo="payments", start=AT, end=AT, category="maintenance", reason="w", proposed_by="o"
        ),
        AnnotationRequest(at=AT, kind="deploy", text="v2", created_by="ci"),
    ],
)
def test_requests_into_the_services_are_immutable_values(request_: object) -> None:
    field = dataclasses.fields(request_)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(request_, field, "other")
    assert request_ == dataclasses.replace(request_)  # type: ignore[type-var]
