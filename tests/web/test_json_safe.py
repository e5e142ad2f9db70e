"""web.json_safe: bodies that stay inert in HTML, and dates written the same way by orjson and by the standard
encoder it falls back on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from web.json_safe import json_bytes
from web.story_json import iso

MOMENTS = [
    datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC),
    datetime(2026, 11, 20, 12, 34, 56, 123456, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC),
]


def test_markup_and_line_separators_are_escaped() -> None:
    body = json_bytes({"text": "<script>alert(1)</script> & \u2028\u2029 مرحبا"})
    for raw in (b"<", b">", b"&", "\u2028".encode(), "\u2029".encode()):
        assert raw not in body
    assert json.loads(body) == {"text": "<script>alert(1)</script> & \u2028\u2029 مرحبا"}


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_utc_dates_are_written_as_iso_writes_them_on_both_paths(moment: datetime) -> None:
    fast = json.loads(json_bytes({"at": moment}))
    # a lone surrogate makes orjson refuse the document: the standard encoder writes it instead
    slow = json.loads(json_bytes({"at": moment, "odd": "\ud800"}))
    assert fast["at"] == slow["at"] == iso(moment)
    assert fast["at"].endswith("Z")


def test_a_naive_date_is_taken_as_utc_and_other_offsets_are_kept_on_both_paths() -> None:
    naive = datetime(2026, 11, 20, 12, 0)
    paris = datetime(2026, 11, 20, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    for extra in ({}, {"odd": "\ud800"}):
        written = json.loads(json_bytes({"naive": naive, "paris": paris, **extra}))
        assert written["naive"] == "2026-11-20T12:00:00Z"
        assert written["paris"] == "2026-11-20T13:00:00+01:00"


def test_what_json_cannot_hold_is_still_refused() -> None:
    with pytest.raises(TypeError):
        json_bytes({"odd": "\ud800", "what": object()})
