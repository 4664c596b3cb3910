"""The outward schema of every result: one pydantic model per result, and the one place a
result (a dataclass of the engine, a record) becomes data.

The JSON API answers these models (the OpenAPI document at ``/docs`` says what every field
is); the CLI's ``--format json`` prints the same models and its CSV rows are derived from
them, so a field has one name and one rounding on every surface. Each model's ``of`` turns
its result into it; a test fails when a result's field is neither in its model nor listed
as deliberately left out (``tests/unit/test_schema.py``).

One module per concern (``status``, ``changes``, ``records``, ``audit``, ``ingest``), imported
by what a command needs (``errorbudget status`` builds no change models); request bodies,
which only the HTTP API takes, are in ``web.api_models``.
"""
