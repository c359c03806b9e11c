"""The resumable batch order: deterministic, sharded over ranks, complete per epoch."""

from __future__ import annotations

from itertools import islice

from lpm.ldm.data import ResumableBatchSampler


def test_resume_gets_the_same_batches() -> None:
    full = list(islice(iter(ResumableBatchSampler(10, 3, seed=4)), 8))
    resumed = list(islice(iter(ResumableBatchSampler(10, 3, seed=4, start_batch=5)), 3))
    assert resumed == full[5:8]
    other = list(islice(iter(ResumableBatchSampler(10, 3, seed=5)), 8))
    assert other != full


def test_ranks_split_an_epoch_without_overlap() -> None:
    r0 = ResumableBatchSampler(8, 2, seed=0, rank=0, world_size=2)
    r1 = ResumableBatchSampler(8, 2, seed=0, rank=1, world_size=2)
    seen0 = {i for k in range(2) for i in r0.batch(k)}
    seen1 = {i for k in range(2) for i in r1.batch(k)}
    assert not seen0 & seen1
    assert seen0 | seen1 == set(range(8))


def test_tiny_data_set_still_fills_batches() -> None:
    s = ResumableBatchSampler(1, 4, seed=0, world_size=2)
    assert len(s.batch(0)) == 4
