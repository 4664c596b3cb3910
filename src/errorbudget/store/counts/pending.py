"""Counts a write transaction keeps back until it must store them: partial hours, day rows.

A large write — an ingest of one file, in one transaction — arrives as many
``write_counts`` calls, one per parsed batch. In a time-ordered file every batch ends inside
an hour of every series, and the next batch sends the rest of that hour: written at once,
each such hour was written twice and read back in between (to merge the minutes it already
had), and every day row was rewritten by each batch touching its day and read back by the
next. Measured on 1,000 series × 6 days (issue #9): read-backs were ~1.3 s and the extra
writes ~0.6 s of ~5.3 s in the write path.

So within a transaction, ``write_counts`` writes the hours it completes and keeps here:

- ``blocks``: its still-partial hours (complete state: merged counts and minutes mask), of
  one source, which the next batch merges in memory instead of reading them back;
- ``days``: the day rows it recomputed (hourly sums over all sources), written once.

Everything kept here is written (``flush``) before anything could see the difference:
before the transaction commits, before a read on the writer connection (the transaction's
own reads), before any other write and any nested level other than a counts write, when a
write for another source comes, and when more than ``MAX_KEPT`` entries are kept. When a
level that made them rolls back they are dropped with it. ``level`` is the transaction depth
the entries belong to (``access.Access`` keeps it true as levels end).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from errorbudget.store.counts.blocks import Int64Array
from errorbudget.store.counts.rollups import write_blocks, write_days
from errorbudget.store.counts.tables import CountsTables

MAX_KEPT = 200_000
"""Entries (blocks plus day rows) kept before they are written: ~100 MB at most."""


@dataclass
class PendingCounts:
    """What the open transaction's counts writes have kept back (see the module docstring)."""

    level: int = 0
    source: int | None = None
    """The source id of the kept blocks (one source at a time)."""
    blocks: dict[int, tuple[Int64Array, int]] = field(default_factory=dict)
    """``series << 32 | hour`` → (counts of shape (2, 60), minutes mask)."""
    days: dict[int, Int64Array] = field(default_factory=dict)
    """``series << 32 | day`` → hourly sums of shape (2, 24), over all sources."""

    def __len__(self) -> int:
        return len(self.blocks) + len(self.days)

    def clear(self) -> None:
        self.source = None
        self.blocks.clear()
        self.days.clear()

    def flush(self, tables: CountsTables) -> None:
        """Write everything kept, then forget it (kept if a write fails)."""
        if self.blocks:
            assert self.source is not None
            keys = np.fromiter(self.blocks, dtype=np.int64, count=len(self.blocks))
            counts = np.stack([self.blocks[k][0] for k in keys.tolist()])
            masks = [self.blocks[k][1] for k in keys.tolist()]
            write_blocks(tables, keys, counts, masks, self.source)
        if self.days:
            keys = np.fromiter(self.days, dtype=np.int64, count=len(self.days))
            write_days(tables, keys, np.stack([self.days[k] for k in keys.tolist()]))
        self.clear()
