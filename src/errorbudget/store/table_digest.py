"""A table's checksum, computed the same way on every backend (``errorbudget db copy``).

``db copy`` moves a store from one backend to another and then proves that nothing was
lost or changed on the way: each side streams every table's rows in primary-key order
(the backend's own query, with byte-order collation so both sides agree on the order) and
feeds them to a :class:`TableDigest`. The digest is SHA-256 over a canonical encoding of
each value, so it depends on the values alone, never on how a driver or a backend
represents them:

- ``None`` → ``N``; an integer (a bool counts as 0 or 1) → ``i<decimal>;``;
- a float → ``f<float.hex()>;`` (exact: ``1.0`` and ``1`` differ, a NaN is its bits);
- text → ``s<UTF-8 byte length>:<UTF-8 bytes>``; bytes (BLOB, BYTEA, memoryview) →
  ``b<length>:<bytes>``;
- each row ends with ``\\n`` after its values, in the table's column order.

Lengths prefix the variable-size values, so no value can imitate a row boundary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def encode_value(value: Any) -> bytes:
    """One value in the canonical encoding (see the module's docstring)."""
    if value is None:
        return b"N"
    if isinstance(value, bool | int):
        return b"i%d;" % int(value)
    if isinstance(value, float):
        return b"f" + value.hex().encode("ascii") + b";"
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"s%d:" % len(data) + data
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return b"b%d:" % len(data) + data
    raise TypeError(f"no canonical encoding for a value of type {type(value).__name__}")


class TableDigest:
    """SHA-256 over a table's rows, fed in primary-key order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add(self, row: Sequence[Any]) -> None:
        self._hash.update(b"".join(encode_value(value) for value in row) + b"\n")
        self.rows += 1

    def add_all(self, rows: Iterable[Sequence[Any]]) -> TableDigest:
        for row in rows:
            self.add(row)
        return self

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True, slots=True)
class TableShape:
    """A table as both sides of a copy must have it: its columns in order and its primary
    key (the order rows are copied and digested in)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableSum:
    """One table's row count and checksum on one side of a copy."""

    table: str
    rows: int
    checksum: str


@dataclass(frozen=True, slots=True)
class TableCheck:
    """One table of a copy, both sides compared."""

    table: str
    source: TableSum
    target: TableSum

    @property
    def match(self) -> bool:
        return self.source.rows == self.target.rows and self.source.checksum == self.target.checksum
