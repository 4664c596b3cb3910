"""The backend-neutral half of the counts store: blob formats, the write and read algorithms.

Every backend stores counts in the same tables and blob formats (``blocks.py``): hour
blocks in ``minute_blocks``, per-day hourly sums in ``day_counts``, day-total chunks in
``day_chunks`` and each series' data bounds on its ``series`` row. What a write and a read
do with them is decided here, in numpy, once (``writes.py``, ``reads.py``, ``pending.py``);
a backend supplies only its SQL, as an object with the methods of ``tables.CountsTables``
(writes) and ``tables.CountsQueries`` (reads): ``store/sqlite/counts.py`` and
``store/sqlite/counts.py`` with JSON arrays, ``store/postgres/counts.py`` with arrays,
``= ANY`` and binary COPY.
"""
