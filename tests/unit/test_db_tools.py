"""The pure parts of `db copy`, `db backup` and `db restore`: the canonical encoding behind
the per-table checksums (`store/table_digest.py`), a store URL split for pg_dump."""

from __future__ import annotations

import hashlib

import pytest

from errorbudget.store.table_digest import TableDigest, encode_value


def test_values_encode_by_type_and_length() -> None:
    assert encode_value(None) == b"N"
    assert encode_value(12) == b"i12;" and encode_value(True) == encode_value(1)
    assert encode_value(1.0) != encode_value(1)  # a REAL stays a float
    assert encode_value(0.1) == b"f" + (0.1).hex().encode() + b";"
    assert encode_value("é") == b"s2:\xc3\xa9"
    assert encode_value(b"\x00\n") == encode_value(memoryview(b"\x00\n")) == b"b2:\x00\n"
    with pytest.raises(TypeError, match="no canonical encoding"):
        encode_value(object())


def test_the_digest_is_sha256_of_the_rows_in_order_and_rows_cannot_be_regrouped() -> None:
    digest = TableDigest().add_all([(1, "a"), (2, None)])
    assert digest.rows == 2
    assert digest.hexdigest() == hashlib.sha256(b"i1;s1:a\ni2;N\n").hexdigest()
    assert TableDigest().add_all([(2, None), (1, "a")]).hexdigest() != digest.hexdigest()
    # A text holding what looks like a row boundary is still one value.
    joined = TableDigest().add_all([("a\ni1;",)]).hexdigest()
    assert joined != TableDigest().add_all([("a",), (1,)]).hexdigest()


def test_a_store_url_splits_into_a_command_line_and_a_password() -> None:
    from errorbudget.store.postgres.dump import connection_target  # the postgres extra

    given = connection_target("postgresql://eb:s%40cret@db:5432/eb")
    assert (given.url, given.password) == ("postgresql://eb@db:5432/eb", "s@cret")
    query = connection_target("postgresql://eb@db/eb?password=q&sslmode=require")
    assert query.password == "q" and "password" not in query.url and "sslmode" in query.url
    assert connection_target("postgresql://eb@db/eb", "env").password == "env"
    assert connection_target("postgresql://eb@db/eb").password is None
