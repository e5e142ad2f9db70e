"""Collection history of the synthetic corpus (`bench.generate`), for the reports' coverage section: the four
sources with a run every 15 minutes over the window (x rate-limited for a few hours each week, Mastodon
degraded now and then, Instagram failing once), as `jobs.collect` records them, and a few quarantined
payloads.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bench.population import Row, Taken
from storage.repositories._bulk import DriverValues

PLATFORMS = ("x", "mastodon", "bluesky", "instagram")


def source_rows(
    rng: random.Random, values: DriverValues, start: datetime, now: datetime, first_id: int, taken: Taken
) -> dict[str, list[Row]]:
    """The four collectors, a run every 15 minutes each over the window (one rate-limited for some hours each
    week, Mastodon degraded now and then, Instagram failing once), and a few quarantined payloads."""
    t = values.time
    sources: list[Row] = []
    runs: list[Row] = []
    quarantine: list[Row] = []
    step = timedelta(minutes=15)
    for offset, name in enumerate(PLATFORMS):
        if name in taken.sources:
            continue
        limited: list[tuple[datetime, datetime]] = []
        day = start
        while name == "x" and day < now:
            begin = day + timedelta(hours=rng.uniform(0, 160))
            limited.append((begin, begin + timedelta(hours=rng.uniform(2.0, 6.0))))
            day += timedelta(days=7)
        failed_at = start + (now - start) * rng.random() if name == "instagram" else None
        at = start + timedelta(minutes=rng.uniform(0, 15))
        status_now = "ok"
        until_now: datetime | None = None
        while at < now:
            window = next(((b, e) for b, e in limited if b <= at < e), None)
            error = None
            new = int(rng.expovariate(1 / 40))
            if window is not None:
                first = at - step < window[0]
                status, until, new = ("rate_limited" if first else "skipped"), window[1], 0
                detail = f"{name}: rate limited until {window[1]:%Y-%m-%d %H:%M:%S} UTC"
            elif failed_at is not None and failed_at <= at < failed_at + step:
                status, until, new = "failed", None, 0
                detail = "instagram: the access token was refused (Invalid OAuth access token)"
            elif name == "mastodon" and rng.random() < 0.01:
                status, until = "degraded", None
                detail = "mastodon: mamot.fr unavailable (HTTP 503)"
            else:
                status, until, detail = "ok", None, None
            finished = at + timedelta(seconds=rng.uniform(0.5, 20))
            result = {
                "source": name,
                "status": status,
                "detail": detail,
                "pages": 0 if new == 0 else 1 + new // 100,
                "new": new,
                "updated": int(new * rng.random()),
                "unchanged": 0,
                "quarantined": 0,
                "rate_limited_until": until.isoformat() if until else None,
            }
            seconds = round((finished - at).total_seconds(), 3)
            runs.append(
                (
                    f"collect:{name}",
                    None,
                    "ok",
                    t(at),
                    t(finished),
                    values.json({"sources": [result], "seconds": seconds}),
                    error,
                )
            )
            status_now, until_now = status if status != "skipped" else "rate_limited", until
            at += step
        for _ in range(rng.randint(1, 4) * max(1, int((now - start).days / 7))):
            received = start + (now - start) * rng.random()
            quarantine.append(
                (
                    name,
                    name,
                    '{"id": "' + str(rng.randint(10**8, 10**9)) + '", "text": null}',
                    f"{name}: 'text' is not text",
                    t(received),
                    t(received + timedelta(days=1)) if rng.random() < 0.3 else None,
                )
            )
        last = t(now - timedelta(minutes=rng.uniform(1, 14)))
        sources.append(
            (
                first_id + offset + 1,
                name,
                name,
                status_now,
                None,
                t(until_now) if until_now else None,
                last,
                last,
                int(rng.expovariate(1 / 40)),
            )
        )
    return {"sources": sources, "job_runs": runs, "quarantine": quarantine}
