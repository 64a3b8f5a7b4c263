"""The generic process map: item order, the shared data, thread pinning, the ETA text."""

from __future__ import annotations

import pytest
import torch

from lazy_artist.parallel import (
    ITEM_THREADS,
    eta_text,
    pinned_threads,
    process_map,
    resolve_workers,
    shared,
)


def _scaled(item: int, factor: int) -> tuple[int, int, int]:
    return item * factor * shared()["base"], torch.get_num_threads(), len(shared())


@pytest.mark.parametrize("workers", [1, 2])
def test_items_come_back_in_order_with_the_shared_data_and_pinned_threads(workers):
    before = torch.get_num_threads()
    results = list(process_map(_scaled, [3, 1, 2], workers, data={"base": 10}, args=(2,)))
    assert results == [(60, ITEM_THREADS, 1), (20, ITEM_THREADS, 1), (40, ITEM_THREADS, 1)]
    assert torch.get_num_threads() == before and dict(shared()) == {}


def _fails(item: int) -> int:
    if item == 2:
        raise ValueError("item 2 is bad")
    return item


def test_a_failing_item_raises_its_error_in_the_driver():
    with pytest.raises(ValueError, match="item 2 is bad"):
        list(process_map(_fails, [1, 2, 3], 2))


def test_pinned_threads_restore_and_workers_resolve():
    before = torch.get_num_threads()
    with pinned_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert resolve_workers(0, 10, cores=4) == 4 and resolve_workers(0, 3, cores=4) == 3
    with pytest.raises(ValueError, match="jobs must be an integer >= 0"):
        resolve_workers(-1, 3)


def test_eta_assumes_the_remaining_items_take_the_average_time():
    assert eta_text(0, 5, 0.0) == "0/5 done"
    assert eta_text(2, 5, 60.0) == "2/5 done, 1m00s elapsed, about 1m30s left"
    assert eta_text(1, 3, 4000.0) == "1/3 done, 1h06m elapsed, about 2h13m left"
