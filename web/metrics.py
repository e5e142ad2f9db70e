"""`GET /metrics`: the service's figures in the Prometheus text format, for any scraper.

Read from the database at scrape time (storage.repositories.metrics), so every process of a deployment shows
the whole service. Only counts and timings: no post text, no handle, no e-mail. When LISTENER_METRICS_TOKEN is
set, a scraper must send it as `Authorization: Bearer <token>`; otherwise the endpoint is open, like /healthz
(the service listens on 127.0.0.1 by default).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage.repositories.metrics import Figures, figures
from web.keys import SERVICES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


class _Snapshot(Collector):
    """One scrape's figures as metric families."""

    def __init__(self, data: Figures) -> None:
        self._data = data

    def collect(self) -> Iterator[Metric]:
        d = self._data
        collected = CounterMetricFamily(
            "listener_posts_collected", "New posts stored by each source since it was created.", labels=["source"]
        )
        limited = CounterMetricFamily(
            "listener_rate_limited_runs", "Collector runs stopped by a platform rate limit.", labels=["source"]
        )
        waiting = GaugeMetricFamily(
            "listener_rate_limit_wait_seconds", "Seconds until the source's rate-limit window ends.", labels=["source"]
        )
        up = GaugeMetricFamily(
            "listener_source_status", "1 for the source's current status.", labels=["source", "status"]
        )
        success = GaugeMetricFamily(
            "listener_source_last_success_timestamp_seconds", "Last successful run (Unix time).", labels=["source"]
        )
        for s in d.sources:
            collected.add_metric([s.name], s.posts_collected)
            limited.add_metric([s.name], s.rate_limited_runs)
            waiting.add_metric([s.name], s.rate_limited_for)
            up.add_metric([s.name, s.status], 1)
            success.add_metric([s.name], _timestamp(s.last_success))
        yield from (collected, limited, waiting, up, success)

        quarantined = GaugeMetricFamily(
            "listener_quarantined_payloads", "Payloads kept unparsed, awaiting a fix.", labels=["source"]
        )
        for name, n in sorted(d.quarantined.items()):
            quarantined.add_metric([name], n)
        yield quarantined
        stored = GaugeMetricFamily("listener_posts_stored", "Posts stored, by platform.", labels=["platform"])
        for platform, n in sorted(d.posts_by_platform.items()):
            stored.add_metric([platform], n)
        yield stored

        yield GaugeMetricFamily("listener_analysis_backlog", "Posts waiting for analysis.", value=d.analysis_backlog)
        yield GaugeMetricFamily(
            "listener_analysis_lag_seconds",
            "Age of the oldest post waiting for analysis (since it was collected).",
            value=d.analysis_lag_seconds,
        )
        yield GaugeMetricFamily(
            "listener_analysed_posts_last_hour", "Posts analysed in the last hour.", value=d.analysed_last_hour
        )
        rate = d.analysed_last_hour / d.analysis_seconds_last_hour if d.analysis_seconds_last_hour else 0.0
        yield GaugeMetricFamily(
            "listener_analysis_posts_per_second", "Analysis throughput over the last hour's runs.", value=rate
        )

        stories = GaugeMetricFamily("listener_stories", "Stories in the queue, by state.", labels=["state"])
        for state, n in sorted(d.stories_by_state.items()):
            stories.add_metric([state], n)
        yield stories

        runs = CounterMetricFamily(
            "listener_job_runs", "Job runs kept in the history, by outcome.", labels=["job", "status"]
        )
        duration = GaugeMetricFamily(
            "listener_job_last_duration_seconds", "Duration of the job's last finished run.", labels=["job"]
        )
        last_ok = GaugeMetricFamily(
            "listener_job_last_success_timestamp_seconds", "End of the job's last successful run.", labels=["job"]
        )
        for job in d.jobs:
            for status, n in sorted(job.runs.items()):
                runs.add_metric([job.job, status], n)
            if job.last_seconds is not None:
                duration.add_metric([job.job], job.last_seconds)
            last_ok.add_metric([job.job], _timestamp(job.last_success))
        yield from (runs, duration, last_ok)

        items = GaugeMetricFamily("listener_work_items", "Scheduled units of work, by status.", labels=["status"])
        for status, n in sorted(d.work_items.items()):
            items.add_metric([status], n)
        yield items
        yield GaugeMetricFamily("listener_workers_alive", "Service processes alive.", value=d.workers_alive)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = services.settings.secrets.get("metrics_token")
    if token is not None:
        sent = request.headers.get("Authorization", "")
        expected = f"Bearer {token.reveal()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return web.Response(
                status=401,
                text="a bearer token is required (LISTENER_METRICS_TOKEN)\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    async with services.sessions() as session:
        data = await figures(session)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(data))
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
