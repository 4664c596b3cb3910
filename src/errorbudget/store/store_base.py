"""What every backend's store class hands to its access object (``Access`` on SQLite,
``PgAccess`` on PostgreSQL): closing, the label, waiting for the write lock, transactions.
Written once here; a backend's class adds its ``open``, its reads and writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from errorbudget.records import LockWaiter
from errorbudget.store.segments import SeriesRecords


class StoreAccess(Protocol):
    """The part of a backend's access object the store class delegates to."""

    label: str
    lock_timeout: float
    on_wait: LockWaiter | None

    @property
    def in_transaction(self) -> bool: ...

    def set_lock_timeout(self, seconds: float) -> None: ...

    def writing(self, doing: str) -> AbstractContextManager[Any]: ...

    def close(self) -> None: ...


A = TypeVar("A", bound=StoreAccess)


class StoreBase(Generic[A]):
    """Lifecycle, lock waiting and transactions, over ``self._db`` (an ``A``)."""

    _db: A
    _series_records: SeriesRecords

    @property
    def series_records(self) -> SeriesRecords:
        """This store's series rows as records, remembered (``segments.SeriesRecords``)."""
        return self._series_records

    def close(self) -> None:
        """Close the connections (idempotent)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._db.label!r})"

    @property
    def label(self) -> str:
        """How error messages name this store: a file path, ``in memory``, or a URL
        without its password."""
        return self._db.label

    # --- waiting for the write lock --------------------------------------------------------

    @property
    def lock_timeout(self) -> float:
        """Seconds a write waits for the write lock before StoreBusyError."""
        return self._db.lock_timeout

    def set_lock_timeout(self, seconds: float) -> None:
        """Change how long writes wait for the write lock (``serve``: a short wait, so that
        a request that cannot write soon answers 503 instead of holding a thread)."""
        self._db.set_lock_timeout(seconds)

    @property
    def on_wait(self) -> LockWaiter | None:
        """Told while a write waits for another connection's write lock."""
        return self._db.on_wait

    @on_wait.setter
    def on_wait(self, waiter: LockWaiter | None) -> None:
        self._db.on_wait = waiter

    # --- transactions ----------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread has a :meth:`transaction` (or write) open."""
        return self._db.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """All writes inside commit together or not at all; nesting is allowed."""
        with self._db.writing("run a transaction"):
            yield self
