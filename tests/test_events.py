"""The batching of core.events: a publisher batches its consumers' writes without importing them."""

from __future__ import annotations

import pytest

from apps.core.events import batch_for, memoized, publishing_many


def _batch(flushed: list[list[str]]) -> list[str] | None:
    return batch_for("test", list, flushed.append)


def test_outside_a_batched_block_a_consumer_writes_at_once() -> None:
    flushed: list[list[str]] = []
    assert _batch(flushed) is None
    with publishing_many():
        assert _batch(flushed) is None
    assert flushed == []


def test_a_batched_block_flushes_one_batch_per_key_once_at_its_end() -> None:
    flushed: list[list[str]] = []
    with publishing_many(batched=True):
        for name in ("a", "b"):
            batch = _batch(flushed)
            assert batch is not None
            batch.append(name)
        with publishing_many(batched=True):  # an inner block shares the outer batch
            inner = _batch(flushed)
            assert inner is not None
            inner.append("c")
        assert flushed == []
    assert flushed == [["a", "b", "c"]]


def test_the_flush_sees_the_blocks_memo() -> None:
    seen: list[int] = []

    def flush(batch: list[str]) -> None:
        seen.append(memoized("setting", lambda: 2))

    with publishing_many(batched=True):
        memoized("setting", lambda: 1)
        batch_for("test", list, flush)
    assert seen == [1]


def test_a_block_ended_by_an_error_writes_nothing() -> None:
    flushed: list[list[str]] = []
    with pytest.raises(RuntimeError), publishing_many(batched=True):
        batch = _batch(flushed)
        assert batch is not None
        batch.append("lost with the transaction")
        raise RuntimeError
    assert flushed == []
    assert _batch(flushed) is None
