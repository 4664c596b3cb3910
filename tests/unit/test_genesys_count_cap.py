"""The Genesys collector holds counts to the per-minute cap (issue #8): an interval whose
counts add up to more than ``limits.MAX_COUNT`` (or past int64) is a broken answer, stored
as 0/0 with an ``inconsistent`` data issue, like any count that cannot be right."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from errorbudget.limits import MAX_COUNT
from errorbudget.model import SLO, to_minute
from errorbudget.sources.genesys.queries import IntervalCounts
from errorbudget.sources.genesys.slis import Names
from errorbudget.sources.genesys.writer import Chunk, CountWriter
from errorbudget.store import open_store

M0 = to_minute(datetime(2026, 11, 20, 11, 0, tzinfo=UTC))
SLA = SLO(
    id="voice",
    service="cc",
    target=0.8,
    window={"type": "rolling", "length": "7d"},
    indicator={"source": "genesys", "metric": "voice_sla"},
    segments={"keys": ["queue"]},
)
NAMES = Names(queues={"q1": "Sales", "q2": "Billing"}, flows={})


def _row(queue: str, answered: int) -> IntervalCounts:
    group = {"queueId": queue, "mediaType": "voice"}
    return IntervalCounts(group, M0, {"tAnswered": answered, "nOverSla": 0, "tAbandon": 1})


@pytest.mark.parametrize("answered", [MAX_COUNT, 2**70], ids=["one over the cap", "past int64"])
def test_an_interval_over_the_cap_is_stored_as_broken(answered: int) -> None:
    with open_store(":memory:") as store:
        writer = CountWriter(store, [SLA], granularity=15)
        chunk = Chunk(M0, M0 + 15, M0 + 15, queue_rows=[_row("q1", answered), _row("q2", 9)])
        writer.write_chunk(chunk, NAMES)
        ids = {info.segment: info.id for info in store.list_series("voice")}
        sums = store.sums(
            [ids[(("queue", "Sales"),)], ids[(("queue", "Billing"),)]], [(M0, M0 + 15)]
        )
        assert sums[:, 0, 1].tolist() == [0.0, 10.0]  # Sales broken, Billing kept
        [issue] = store.list_data_issues()
        assert (issue.kind, issue.segment, issue.start, issue.end) == (
            "inconsistent",
            {"queue": "Sales"},
            M0,
            M0 + 15,
        )
        assert "more than 1,000,000,000 in a minute" in issue.detail
