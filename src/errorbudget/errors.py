"""The one exception module of errorbudget.

Hierarchy::

    ErrorBudgetError                 base of every error this package raises on purpose
    ├── ConfigError                  the configuration cannot be used
    │   └── ConfigValidationError    one or more problems, each with file:line:col
    ├── OpenSLOError                 an OpenSLO document cannot be read or mapped
    ├── StoreError                   the store cannot be opened, migrated, read or written
    │   ├── StoreBusyError           another writer holds the store's write lock (try later)
    │   └── FencedError              a leader's write after its lease passed to another replica
    ├── IntegrityError               a record fails its audit-chain verification (changed,
    │                                inserted or deleted outside errorbudget): not honoured
    ├── IngestError                  an input file has bad rows (nothing was written)
    ├── NotFoundError                an SLO, series, exclusion or change id does not exist
    ├── InvalidRequestError          arguments that cannot be acted on (end before start, …)
    ├── GateError                    a gate request cannot be decided (no SLO in scope, …)
    ├── ConflictError                the thing is not in a state that allows this (approving a
    │                                withdrawn change, revoking twice, reusing an idempotency key)
    ├── PermissionDeniedError        the actor may not do this (approving their own change, …)
    ├── SourceError                  a source (Genesys Cloud, …) cannot be reached or answers badly
    │   └── SourceDataError          it answered, but the answer cannot be used (malformed)
    ├── DeliveryError                a notification was not delivered (retryable or not)
    └── ListenError                  the server cannot listen on its address (port in use, …)

Third-party errors (sqlite3, yaml, pyarrow, pydantic) are mapped at the boundary with
``raise … from exc``. The CLI turns every ErrorBudgetError into one sentence and an exit
code (``exit_code``: 1, 3 for ListenError, 4 for StoreBusyError, 5 for IntegrityError);
library code never calls
``sys.exit``.
"""

from __future__ import annotations

from dataclasses import dataclass


class ErrorBudgetError(Exception):
    """Base class of every error errorbudget raises on purpose."""

    exit_code: int = 1
    """The CLI's exit code for this error (docs/cli.md)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input file, with where it is.

    ``line`` and ``column`` are 1-based; 0 means "unknown".
    """

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class ConfigError(ErrorBudgetError):
    """The configuration cannot be used."""


class ConfigValidationError(ConfigError):
    """The configuration has one or more problems; all of them are in ``problems``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        first = str(errors[0]) if errors else "invalid configuration"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


class OpenSLOError(ErrorBudgetError):
    """An OpenSLO document cannot be read or mapped."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class StoreError(ErrorBudgetError):
    """The store cannot be opened, migrated, read or written."""


class StoreBusyError(StoreError):
    """Another writer (a CLI ingest, another process, or this one) held the store's write
    lock for longer than this writer may wait; nothing was written. Trying again later
    helps: the HTTP API answers 503 with ``Retry-After``, the CLI exits 4.

    ``holder`` describes who holds the lock when that writer announced itself
    (``records.WriterInfo``), else None."""

    exit_code = 4

    def __init__(self, message: str, *, holder: object | None = None) -> None:
        self.holder = holder
        super().__init__(message)


class FencedError(StoreError):
    """A write made for a lease (``serve``'s leader jobs) found that the lease has moved to
    another holder since this one took it (its fencing token is no longer the current
    one): nothing was written, and the deposed holder stops its jobs
    (docs/operations.md "Replicas and leader election")."""


class IntegrityError(ErrorBudgetError):
    """A stored record fails its verification against the audit chain: it was changed,
    inserted or deleted outside errorbudget, so it is not honoured (HTTP 409; the CLI
    exits 5, as ``errorbudget audit verify`` does when the chain is broken)."""

    exit_code = 5


class IngestError(ErrorBudgetError):
    """An input file has bad rows; ``problems`` names each (file, line, reason)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class NotFoundError(ErrorBudgetError):
    """An SLO, series, exclusion or change that was asked for does not exist."""


class InvalidRequestError(ErrorBudgetError):
    """A request's arguments cannot be acted on (an exclusion ending before it starts, …)."""


class GateError(ErrorBudgetError):
    """A gate request cannot be decided."""


class ConflictError(ErrorBudgetError):
    """The record is not in a state that allows the request (HTTP 409)."""


class PermissionDeniedError(ErrorBudgetError):
    """The acting identity may not do this, whatever its role (HTTP 403)."""


class DeliveryError(ErrorBudgetError):
    """A receiver did not take a notification (docs/alerting.md "Delivery").

    The message is one line for the delivery log (never a secret or a URL with one);
    ``retryable`` says whether a later attempt may succeed (a refused connection, a timeout,
    408, 429, 5xx) or not (any other 4xx: the request itself is wrong, so it is given up).
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        self.status = status
        self.retryable = retryable
        super().__init__(message)


class SourceError(ErrorBudgetError):
    """A source cannot be reached, refuses us, or answers badly (nothing partial is written).

    ``status`` is the HTTP status when there was one; ``retryable`` says whether trying
    again later may help (timeouts, 429, 5xx, an open circuit) or not (401/403, 400).
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        self.status = status
        self.retryable = retryable
        super().__init__(message)


class SourceDataError(SourceError):
    """A source answered, but with data that cannot be used: malformed JSON, or an answer
    of the wrong shape. A collector may skip the range it was for and record a data issue,
    rather than stop as it does when the source cannot be reached."""


class ListenError(ErrorBudgetError):
    """The server cannot listen on its host and port (in use by another process, an address
    this machine does not have, a port it may not bind). Raised before any other work."""

    exit_code = 3
