"""The turns of service/balance.py: the shared slots seen across a fork, and who leaves a connection to whom."""

from __future__ import annotations

import os

from service.balance import Slots, should_defer


def test_slots_start_empty_and_a_child_writes_what_the_parent_reads() -> None:
    slots = Slots(3)
    assert [slots.get(i) for i in range(3)] == [-1, -1, -1]
    pid = os.fork()
    if pid == 0:  # the child writes its slot and leaves at once
        slots.set(1, 7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert slots.get(1) == 7


def test_the_least_loaded_other_live_process() -> None:
    slots = Slots(3)
    assert slots.least_other(0) is None  # alone: nobody to leave a connection to
    slots.set(0, 5)
    slots.set(2, 3)
    assert (slots.least_other(0), slots.least_other(1), slots.least_other(2)) == (3, 3, 5)
    slots.set(2, -1)  # gone
    assert slots.least_other(0) is None


def test_a_process_defers_only_to_one_holding_fewer() -> None:
    assert should_defer(5, 3)
    assert not should_defer(3, 3)  # a tie: take it (whoever is first)
    assert not should_defer(3, 5)
    assert not should_defer(9, None)
