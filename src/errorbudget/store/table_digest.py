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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def _none(_value: None) -> bytes:
    return b"N"


def _integer(value: int) -> bytes:
    return b"i%d;" % value


def _float(value: float) -> bytes:
    return b"f" + value.hex().encode("ascii") + b";"


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return b"s%d:" % len(data) + data


def _bytes(value: bytes | bytearray | memoryview) -> bytes:
    data = bytes(value)
    return b"b%d:" % len(data) + data


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    type(None): _none,
    int: _integer,
    bool: _integer,
    float: _float,
    str: _text,
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
}
"""By exact type (a dictionary lookup per value: a table of a million rows is digested
on both sides of a copy)."""


def encode_value(value: Any) -> bytes:
    """One value in the canonical encoding (see the module's docstring)."""
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        raise TypeError(f"no canonical encoding for a value of type {type(value).__name__}")
    return encoder(value)


class TableDigest:
    """SHA-256 over a table's rows, fed in primary-key order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add(self, row: Sequence[Any]) -> None:
        encoders = _ENCODERS
        try:
            encoded = [encoders[type(value)](value) for value in row]
        except KeyError:
            encoded = [encode_value(value) for value in row]  # raises, naming the type
        encoded.append(b"\n")
        self._hash.update(b"".join(encoded))
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
