"""Coverage: what the report could not see. Per source, the hours of the week it collected, was degraded,
rate-limited, failed or did not run, from the collection runs the job history kept (pure).

Each run speaks for the time from its start until the source's next run, but for at most twice the source's
collection interval (past that, nothing was running: the service was stopped, or the source switched off).
A rate-limited run (and the "skipped" runs that waited for the same reset) speaks until the announced reset,
whenever the next run comes. Where two runs' times overlap, the worse state wins: rate-limited, then failed,
then degraded (some of the source's streams failed), then collected. What no run covers is "no run". The
five figures add up to the week's length (167, 168 or 169 hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.repositories.report_context import RunRow

STATES = ("collected", "degraded", "rate_limited", "failed")  # by precedence, lowest first
_STATE_OF = {"ok": "collected", "degraded": "degraded", "rate_limited": "rate_limited", "skipped": "rate_limited"}
DEFAULT_INTERVAL = timedelta(minutes=60)
# Runs fetched from this long before the week: a rate limit announced before Monday can last into it.
LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class SourceRun:
    source: str
    at: datetime
    state: str  # one of STATES
    until: datetime | None  # rate-limited: the announced reset


def source_runs(runs: Iterable[RunRow]) -> list[SourceRun]:
    """Flatten job runs (a whole `collect` run holds one result per source) into per-source runs."""
    out = []
    for run in runs:
        results = run.detail.get("sources")
        if not isinstance(results, list):
            continue
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("source"), str):
                continue
            state = _STATE_OF.get(str(result.get("status")), "failed")
            until = _parse_time(result.get("rate_limited_until")) if state == "rate_limited" else None
            out.append(SourceRun(result["source"], run.started_at, state, until))
    return sorted(out, key=lambda r: (r.source, r.at))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _intervals(runs: Sequence[SourceRun], limit: timedelta) -> list[tuple[datetime, datetime, int]]:
    """(start, end, precedence) for one source's runs, sorted by time."""
    out = []
    for index, run in enumerate(runs):
        end = run.at + limit
        if index + 1 < len(runs):
            end = min(end, runs[index + 1].at)
        if run.until is not None:
            end = max(end, run.until)
        if end > run.at:
            out.append((run.at, end, STATES.index(run.state)))
    return out


def state_seconds(
    intervals: Sequence[tuple[datetime, datetime, int]], start: datetime, end: datetime
) -> dict[str, float]:
    """Seconds of [start, end) in each state (the worst covering state wins) and in none ("no_run")."""
    events: list[tuple[datetime, int, int]] = []
    for begin, finish, level in intervals:
        begin, finish = max(begin, start), min(finish, end)
        if begin < finish:
            events += [(begin, level, 1), (finish, level, -1)]
    events.sort(key=lambda e: e[0])
    seconds = dict.fromkeys((*STATES, "no_run"), 0.0)
    active = [0] * len(STATES)
    cursor = start
    for moment, level, step in events:
        if moment > cursor:
            top = max((i for i, n in enumerate(active) if n > 0), default=None)
            seconds["no_run" if top is None else STATES[top]] += (moment - cursor).total_seconds()
            cursor = moment
        active[level] += step
    seconds["no_run"] += max(0.0, (end - cursor).total_seconds())
    return seconds


def coverage_section(
    runs: Iterable[RunRow],
    quarantined: Mapping[str, int],
    start: datetime,
    end: datetime,
    *,
    intervals: Mapping[str, timedelta],
    expected: Sequence[str],
    not_ready: Mapping[str, str],
    uncollectable: Mapping[str, str],
) -> dict[str, Any]:
    """The coverage table and notes. `intervals`: each source's collection interval; `expected`: the sources
    that should have run (ready ones); `not_ready`: source -> what it still needs; `uncollectable`: platform
    -> why it cannot be collected at all."""
    by_source: dict[str, list[SourceRun]] = {}
    for run in source_runs(runs):
        by_source.setdefault(run.source, []).append(run)
    names = sorted(set(by_source) | set(expected) | set(quarantined))
    rows = []
    for name in names:
        limit = 2 * intervals.get(name, DEFAULT_INTERVAL)
        seconds = state_seconds(_intervals(by_source.get(name, []), limit), start, end)
        in_week = [r for r in by_source.get(name, []) if start <= r.at < end]
        rows.append(
            {
                "source": name,
                "runs": len(in_week),
                **{f"{state}_hours": round(seconds[state] / 3600, 2) for state in (*STATES, "no_run")},
                "quarantined": quarantined.get(name, 0),
            }
        )
    gaps = [
        r
        for r in rows
        if r["rate_limited_hours"] or r["failed_hours"] or r["degraded_hours"] or r["no_run_hours"] or r["quarantined"]
    ]
    return {
        "sources": rows,
        "week_hours": round((end - start).total_seconds() / 3600, 2),
        "quarantined_total": sum(quarantined.values()),
        "not_ready": [{"source": s, "reason": why} for s, why in sorted(not_ready.items())],
        "uncollectable": [{"platform": p, "reason": why} for p, why in sorted(uncollectable.items())],
        "partial": bool(gaps or not_ready or uncollectable),
    }
