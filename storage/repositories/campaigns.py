"""Campaigns live in the configuration; this mirrors them into the database that posts and reports refer to.

A campaign removed from the configuration is marked inactive, never deleted: its posts and reports stay.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.settings import CampaignSettings
from storage.models import Campaign
from storage.repositories._sql import utcnow


async def sync_campaigns(session: AsyncSession, campaigns: Mapping[str, CampaignSettings]) -> dict[str, int]:
    """Create or update one row per configured campaign; returns slug -> id."""
    now = utcnow()
    existing = {c.slug: c for c in (await session.execute(select(Campaign))).scalars()}
    for slug, conf in campaigns.items():
        values = {
            "name": conf.name,
            "hashtags": list(conf.hashtags),
            "keywords": list(conf.keywords),
            "excluded": list(conf.excluded),
            "languages": list(conf.languages),
            "region": conf.region,
            "timezone": conf.timezone,
            "start_date": conf.start,
            "end_date": conf.end,
            "consent_hashtag": conf.consent_hashtag,
            "active": True,
        }
        row = existing.get(slug)
        if row is None:
            row = Campaign(slug=slug, updated_at=now, **values)
            session.add(row)
            existing[slug] = row
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
    for slug, row in existing.items():
        if slug not in campaigns and row.active:
            row.active = False
            row.updated_at = now
    await session.flush()
    return {slug: row.id for slug, row in existing.items() if slug in campaigns}


async def campaign_ids(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(select(Campaign.slug, Campaign.id).where(Campaign.active.is_(True)))
    return {str(slug): int(cid) for slug, cid in result.all()}
