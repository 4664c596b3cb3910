"""Count blocks as the read path decodes them (store/counts/blocks.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.store.counts.blocks import decode_blocks, decode_stored, encode_blocks


@given(
    st.lists(
        st.lists(st.integers(0, 2**40), min_size=120, max_size=120).map(
            lambda values: np.array(values, dtype=np.int64).reshape(2, 60)
        ),
        max_size=6,
    ),
    st.integers(0, 3),
)
def test_stored_blocks_read_in_their_width_hold_the_same_counts(
    blocks: list[np.ndarray], cap_bits: int
) -> None:
    """``decode_stored`` (the read path) agrees with ``decode_blocks`` whatever the mix of
    stored widths; when every blob shares one width it is a read-only view in it."""
    cap = [0, 0xFF, 0xFFFF, 2**40][cap_bits]
    # a block's width follows its largest total, and good never exceeds total
    capped = [np.minimum(b, cap) for b in blocks]
    counts = np.array(
        [np.stack([np.minimum(b[0], b[1]), b[1]]) for b in capped], dtype=np.int64
    ).reshape(-1, 2, 60)
    blobs = encode_blocks(counts)
    found = decode_stored(blobs)
    assert found.shape == counts.shape
    assert found.astype(np.int64).tolist() == decode_blocks(blobs).tolist() == counts.tolist()
    if blobs and len({len(b) for b in blobs}) == 1 and blobs[0]:
        assert found.dtype.itemsize == len(blobs[0]) // 120 and not found.flags.writeable
