"""The analyse job: lease un-analysed posts in batches, run the nlp pipeline off the event loop, store
analyses, mentions and discovered names. A crash loses nothing: leased rows come back when the process is
found dead (jobs.worker reaps it) or the lease expires, and a batch is stored in one transaction, by the
lease holder only.

The pipeline (spaCy's French model, the language detector, the sentiment model) is loaded once per process
and kept on `Services`; the merchant index is rebuilt only when the registry changed. The links curators
removed at a merchant's request (link_exclusions) are read at the start of each run and honoured by linking.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from jobs.services import Services
from nlp.pipeline import Pipeline, PostAnalysis, PostInput, build_pipeline, registry_version
from nlp.results import MerchantEntry
from storage.repositories import analyses as repo
from storage.repositories import workers
from storage.repositories.corrections import link_exclusions

log = logging.getLogger(__name__)

BATCH = 500
# A batch takes seconds; a short lease brings a lost worker's batch back soon even if no process reaps it.
LEASE = timedelta(minutes=2)


def campaign_hashtags(services: Services) -> list[str]:
    return [tag for campaign in services.settings.campaigns.values() for tag in campaign.hashtags]


def languages(services: Services) -> list[str]:
    return sorted({lang for campaign in services.settings.campaigns.values() for lang in campaign.languages})


async def pipeline_for(services: Services, merchants: list[MerchantEntry]) -> Pipeline:
    """The process's pipeline, with the registry's current merchants."""
    current: Pipeline | None = services.extras.get("pipeline")
    if current is not None and current.registry_version == registry_version(merchants):
        return current
    reuse: dict[str, Any] = {}
    if current is not None:  # only the registry changed: keep the loaded models
        reuse = {"french": current.french, "detector": current.detector, "sentiment": current.sentiment}
    pipeline = await asyncio.to_thread(
        lambda: build_pipeline(languages(services), merchants, campaign_hashtags(services), **reuse)
    )
    services.extras["pipeline"] = pipeline
    return pipeline


def record(post_id: int, analysis: PostAnalysis) -> repo.AnalysisRecord:
    return repo.AnalysisRecord(
        post_id=post_id,
        language=analysis.language.code,
        language_confidence=analysis.language.confidence,
        sentiment=analysis.sentiment.label,
        sentiment_score=analysis.sentiment.score,
        signals={**asdict(analysis.signals), "fingerprint": analysis.fingerprint},
        pipeline_version=analysis.pipeline_version,
        links=analysis.links,
        discoveries=analysis.discoveries,
    )


async def analyse(
    services: Services,
    *,
    limit: int | None = None,
    reanalyse: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Analyse un-analysed posts batch by batch until none is left, `limit` is reached or `should_stop()`
    (checked between batches: a stopping worker commits the batch in flight and takes no other)."""
    if reanalyse:
        async with services.sessions.begin() as session:
            marked = await repo.mark_for_reanalysis(session)
        log.info("marked %d post(s) for re-analysis", marked)
    pipeline: Pipeline | None = services.extras.get("pipeline")
    done = saved_total = 0
    while (limit is None or done < limit) and not should_stop():
        size = BATCH if limit is None else min(BATCH, limit - done)
        async with services.sessions.begin() as session:
            batch = await repo.claim_unanalysed(session, size, LEASE, owner=services.worker_id)
        if not batch:
            break
        if done == 0:
            # Loaded (or refreshed for a changed registry) only when there is work: an idle tick of the
            # scheduler costs one query, not the 5-8 s and the memory of the models.
            try:
                async with services.sessions() as session:
                    merchants = await repo.registry_entries(session)
                    excluded = await link_exclusions(session)
                pipeline = await pipeline_for(services, merchants)
                # Corrections merchants asked for and curators accepted: plain data, one set for the run.
                pipeline.exclude(excluded)
            except BaseException:
                async with services.sessions.begin() as session:
                    await repo.release(session, [p.id for p in batch])
                raise
        assert pipeline is not None
        inputs = [PostInput(p.text, p.platform, p.language_hint, p.has_media) for p in batch]
        try:
            results = await asyncio.to_thread(pipeline.analyse_many, inputs)
        except Exception:
            async with services.sessions.begin() as session:
                await repo.release(session, [p.id for p in batch])
            raise
        records = [record(p.id, a) for p, a in zip(batch, results, strict=True)]
        async with services.sessions.begin() as session:
            saved = await repo.save_analyses(session, records, owner=services.worker_id)
            if services.worker_id is not None:
                await workers.count_done(session, services.worker_id, saved)
        if saved < len(batch):
            log.warning(
                "analyse: %d post(s) of the batch were no longer leased to us; left to their holder", len(batch) - saved
            )
        done += len(batch)
        saved_total += saved
        progress(len(batch))
    return {"analysed": saved_total, "pipeline_version": pipeline.version if pipeline is not None else None}


async def run(services: Services) -> dict[str, Any]:
    return await analyse(services)
