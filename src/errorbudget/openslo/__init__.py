"""OpenSLO v1 (``apiVersion: openslo/v1``) import and export.

Import (:func:`import_documents`) maps Service, SLO, SLI (inline ``indicator`` or
``indicatorRef``), AlertPolicy and AlertCondition objects to errorbudget services and SLOs.
Every field that is read is marked; whatever is left unread is reported as a warning at its
file:line, so nothing is dropped silently. Display names and descriptions of SLIs, alert
policies and conditions are labels for humans and are read without a warning.

- ``ratioMetric`` whose good and total ``metricSource`` are ``type: GenesysCloud`` (or
  ``genesys``) with the same ``spec`` (but ``counts``) → ``GenesysIndicator`` of those fields.
- ``ratioMetric`` with Prometheus sources → ``PrometheusIndicator``; a query without the
  ``{{.window}}`` placeholder is rewritten (``increase(…[{{.window}}])``) and reported. Other
  sources, ``raw`` ratios and ``thresholdMetric`` → ``IngestIndicator`` keeping the queries
  in its ``good``/``total`` texts (counts then come from ``errorbudget ingest``), reported.
- ``budgetingMethod``: Occurrences; Timeslices (``timeSliceTarget``, ``timeSliceWindow``);
  RatioTimeslices is imported as Timeslices, reported.
- ``timeWindow``: rolling durations as written (``M``/``Q``/``Y`` as 30/90/365 days,
  reported); calendar ``1w``/``7d``, ``1M`` (``30d``, ``31d``) and ``1Q`` (``3M``,
  ``90d``–``92d``) → week, month, quarter; other calendar durations become rolling windows,
  reported. A ``startTime`` not on a period boundary is reported (periods start on Monday,
  the 1st, the first day of a quarter, in ``timeZone``).
- several objectives → one SLO per objective, ids suffixed with the objective's
  ``displayName`` (or its position), reported.
- burn-rate alert conditions (``threshold``, ``lookbackWindow``, ``alertAfter``) become a
  burn catalog, since errorbudget alerts by catalog (:mod:`errorbudget.openslo.alerts`): the
  catalog the settings name when its conditions at the SLO are exactly these, else one that
  has exactly them, else a new catalog ``openslo-<slo>`` made from them (reported), else the
  nearest (reported). Definitions of catalogs and presets carried in the settings
  annotation are recreated when not known (``ImportResult.burn_catalogs``/``policies``).
- DataSource, AlertNotificationTarget and unknown kinds are reported as not imported.

Export (:func:`export_config`) writes Service, SLI, SLO, AlertPolicy and AlertCondition
objects: one policy with one condition per burn condition (OpenSLO v1 allows one condition
per policy), ``lookbackWindow`` the long window, ``alertAfter`` the short one, ``threshold``
the factor in force at the SLO's target, at full precision (a low-target adapted condition:
the short window's factor, both factors in annotations). No AlertNotificationTarget:
errorbudget's receivers (``notifications:``) take their addresses and secrets from the
environment and route by labels, which OpenSLO targets cannot carry. What OpenSLO cannot
express (segments, policy, owner, alerting, schedule, and the definitions of non-built-in
burn catalogs and policy presets) travels as JSON in the ``errorbudget.io/settings``
annotation, so export then import — in any config — gives back the same SLOs, catalogs and
presets; a named schedule comes back written in place, with its holiday calendars as
holidays (OpenSLO has no schedules to refer to). Maintenance windows are not exported.
"""

from errorbudget.openslo.exporter import export_config
from errorbudget.openslo.importer import ImportResult, import_documents
from errorbudget.openslo.objects import API_VERSION, INGEST_SOURCE, SETTINGS_ANNOTATION

__all__ = [
    "API_VERSION",
    "INGEST_SOURCE",
    "SETTINGS_ANNOTATION",
    "ImportResult",
    "export_config",
    "import_documents",
]
