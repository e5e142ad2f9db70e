"""How SQLite reads a queue page, on the migrated schema: every shape of filters reads the stories table from
a covering index in the page's order (or by primary key, for the page's own rows), never by scanning it, and a
page over every state reads one range per campaign instead of one per state. This is what keeps a page at a
millisecond with a million stories (bench/queue.py measures it); a plan that regresses to a scan or a sort of a
whole campaign fails here, at any size."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as sqlite_dialect

from storage.repositories import story_queue
from storage.repositories.story_queue import QueueFilters

WEEK = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
EVERY_STATE_INDEXES = {"score": "ix_stories_ranked", "newest": "ix_stories_dated", "oldest": "ix_stories_dated"}
PER_STATE_INDEXES = {
    "score": "ix_stories_queue",
    "newest": "ix_stories_queue_dated",
    "oldest": "ix_stories_queue_dated",
}

SHAPES: list[dict[str, Any]] = [
    {},
    {"language": "fr"},
    {"language": "ar", "sort": "newest"},
    {"platform": "x", "min_score": 0.6},
    {"sentiment": "positive", "sort": "newest"},
    {"since": WEEK[0], "until": WEEK[1]},
    {"since": WEEK[0], "until": WEEK[1], "sort": "oldest"},
    {"max_score": 0.3, "sort": "oldest"},
    {"states": ("candidate",)},
    {"states": ("candidate",), "language": "ar", "sort": "newest"},
    {"states": ("shortlisted", "rights_requested")},
    {"states": ("shortlisted", "rights_requested"), "sort": "oldest", "platform": "mastodon"},
]


@pytest.fixture
def conn(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(sqlite_url.split("///", 1)[1])
    yield connection
    connection.close()


def plan_rows(conn: sqlite3.Connection, filters: QueueFilters, campaigns: list[int]) -> list[tuple[int, int, str]]:
    """(id, parent id, detail) of each step of the page statement's plan."""
    plan = story_queue._plan(filters, campaigns, sqlite_dialect(), 50, 0)
    values = story_queue._values(plan.page, plan.params)
    return [(row[0], row[1], row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + plan.page.sql, values)]


def plan_of(conn: sqlite3.Connection, filters: QueueFilters, campaigns: list[int]) -> list[str]:
    return [detail for _, _, detail in plan_rows(conn, filters, campaigns)]


def stories_reads(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"(SCAN|SEARCH) stories\b", line)]


@pytest.mark.parametrize("campaigns", [[1], [1, 2]], ids=["one campaign", "every campaign"])
@pytest.mark.parametrize("merchant", [None, 7], ids=["", "merchant"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "&".join(f"{k}={v}" for k, v in shape.items()) or "default")
def test_every_page_reads_stories_from_covering_indexes_only(
    conn: sqlite3.Connection, shape: dict[str, Any], merchant: int | None, campaigns: list[int]
) -> None:
    filters = QueueFilters(merchant_id=merchant, **shape)
    steps = plan_rows(conn, filters, campaigns)
    reads = stories_reads([detail for _, _, detail in steps])
    assert reads
    for line in reads:
        assert line.startswith("SEARCH"), line
        assert "USING COVERING INDEX" in line or "USING INTEGER PRIMARY KEY" in line, line
    if merchant is not None and filters.sort != "score":
        return  # a merchant's few stories are read from its index and sorted by date: no range is in that order
    # A stream is read in its order: nothing beside an index range sorts it whole (sorting the ties of the
    # order's last key, "RIGHT PART", is fine: the reading still stops at the page).
    ranged = {parent for _, parent, detail in steps if re.match(r"SEARCH stories USING COVERING INDEX", detail)}
    for _, parent, detail in steps:
        assert not (parent in ranged and detail == "USE TEMP B-TREE FOR ORDER BY"), (parent, detail)


@pytest.mark.parametrize("sort", ["score", "newest", "oldest"])
@pytest.mark.parametrize("campaigns", [[1], [1, 2]], ids=["one campaign", "every campaign"])
def test_a_page_over_every_state_reads_one_range_per_campaign(
    conn: sqlite3.Connection, sort: str, campaigns: list[int]
) -> None:
    reads = stories_reads(plan_of(conn, QueueFilters(language="fr", sort=sort), campaigns))  # type: ignore[arg-type]
    streams = [line for line in reads if EVERY_STATE_INDEXES[sort] in line]
    # the page's stream and the capped count's part, per campaign; the count reads the score index
    assert len(streams) == len(campaigns) * (1 if sort != "score" else 2)
    assert not [line for line in reads if PER_STATE_INDEXES[sort] in line]


@pytest.mark.parametrize("sort", ["score", "newest", "oldest"])
def test_a_state_filter_reads_each_state_in_its_order(conn: sqlite3.Connection, sort: str) -> None:
    filters = QueueFilters(states=("shortlisted", "rights_requested"), sentiment="positive", sort=sort)  # type: ignore[arg-type]
    reads = stories_reads(plan_of(conn, filters, [1]))
    assert len([line for line in reads if PER_STATE_INDEXES[sort] in line and "state=?" in line]) >= 2
