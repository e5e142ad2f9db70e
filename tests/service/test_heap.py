"""service.heap: what is alive when a process settles is out of the collector's sight; what comes later is not,
and garbage cycles made before settling are freed, not frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from service import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting everything


def test_settling_freezes_the_live_heap_and_frees_the_cycles(unfrozen: None) -> None:
    kept = [Node() for _ in range(1_000)]
    cycle = Node()
    cycle.other = Node()
    cycle.other.other = cycle
    gone = weakref.ref(cycle)
    del cycle

    heap.settle()

    assert gone() is None  # collected before the freeze, not kept forever
    assert gc.get_freeze_count() >= len(kept)
    later = Node()
    assert any(obj is later for obj in gc.get_objects())  # new objects are collected as before
    assert not any(obj is kept[0] for obj in gc.get_objects())
