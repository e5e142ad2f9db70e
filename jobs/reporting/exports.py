"""The report as CSV and JSON: every table of the report document, machine-readable (pure).

CSV: one UTF-8 file (with a byte-order mark, so spreadsheet programs read Arabic and accents right), the
tables one after another, each introduced by a `table,<name>` line and its header row, separated by an empty
line. Unknown figures are empty cells, never 0. JSON: the stored document itself plus the definitions text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jobs.reporting.definitions import DEFINITIONS, DEFINITIONS_VERSION
from jobs.reporting.metrics import HEADLINE

Table = tuple[str, list[str], list[list[Any]]]


def _rows(name: str, items: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> Table:
    keys = list(columns) if columns is not None else (list(items[0].keys()) if items else [])
    return name, keys, [[item.get(key) for key in keys] for item in items]


def tables(data: Mapping[str, Any]) -> Iterator[Table]:
    """Every table of the report, as (name, header, rows)."""
    campaign = data["campaign"]
    yield (
        "report",
        ["campaign", "name", "week", "start", "end", "timezone", "hours", "definitions_version", "generated_at"],
        [
            [
                campaign["slug"],
                campaign["name"],
                data["week"],
                data["start"],
                data["end"],
                campaign["timezone"],
                data["hours"],
                data["definitions_version"],
                data["generated_at"],
            ]
        ],
    )
    changes = data["changes"]
    yield (
        "headline",
        ["figure", "value", "previous_week", "previous", "difference", "percent"],
        [
            [
                key,
                data["headline"][key],
                data["previous_week"],
                changes[key]["previous"],
                changes[key]["difference"],
                changes[key]["percent"],
            ]
            for key in HEADLINE
        ],
    )
    yield _rows("days", data["days"])
    yield _rows("platforms", data["platforms"])
    yield _rows("languages", data["languages"])
    yield _rows("regions", data["regions"])
    merchants = data["merchants"]
    for part in ("most_mentioned", "risers", "negative_spikes", "newly_discovered"):
        yield _rows(f"merchants_{part}", merchants[part])
    yield _rows("stories", data["stories"])
    yield _rows("top_posts", data["top_posts"])
    coverage = data["coverage"]
    yield _rows("coverage", coverage["sources"])
    yield _rows("coverage_not_ready", coverage["not_ready"], ("source", "reason"))
    yield _rows("coverage_uncollectable", coverage["uncollectable"], ("platform", "reason"))
    yield "definitions", ["key", "en", "fr"], [list(entry) for entry in DEFINITIONS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 6)
    return value


def render_csv(data: Mapping[str, Any]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for index, (name, header, rows) in enumerate(tables(data)):
        if index:
            writer.writerow([])
        writer.writerow(["table", name])
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def render_json(data: Mapping[str, Any]) -> str:
    document = {
        **data,
        "definitions": {
            "version": DEFINITIONS_VERSION,
            "text": {key: {"en": en, "fr": fr} for key, en, fr in DEFINITIONS},
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
