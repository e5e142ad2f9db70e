"""The JSON shapes of the curator API: a queue row, a story in full, a discovered business, a campaign.

One place, so that the API and its OpenAPI description (web/openapi.py) agree. Post text and names are
untrusted: `json_response` writes `<`, `>` and `&` as \\u escapes, so a body stays inert even if someone
pastes it into HTML; links to original posts are handed out only when they are http(s).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from service.settings import CampaignSettings
from storage.models import Merchant
from storage.repositories.discovered import PendingDiscovery
from storage.repositories.feed import public_url
from storage.repositories.stories import (
    FeatureResult,
    QueuePage,
    QueueRow,
    RightsInfo,
    RightsRequestResult,
    StoryDetail,
)
from web.json_safe import json_bytes


def json_response(data: Any, status: int = 200) -> web.Response:
    response = web.Response(body=json_bytes(data), status=status)
    response.content_type = "application/json"
    response.charset = "utf-8"
    return response


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def row_json(row: QueueRow, slugs: Mapping[int, str]) -> dict[str, Any]:
    return {
        "id": row.story_id,
        "campaign": slugs.get(row.campaign_id),
        "state": row.state,
        "score": row.score,
        "text": row.text,
        "author": {"handle": row.author_handle, "name": row.author_name, "followers": row.followers},
        "platform": row.platform,
        "language": row.language,
        "sentiment": row.sentiment,
        "merchant": None if row.merchant_id is None else {"id": row.merchant_id, "name": row.merchant_name},
        # an aware UTC datetime, which json_bytes writes as iso() would, five times faster
        "post": {"id": row.post_id, "url": public_url(row.url), "created_at": row.post_created_at},
        "engagement": {"likes": row.likes, "reposts": row.reposts, "replies": row.replies},
        "has_media": row.has_media,
        "duplicate_count": row.duplicate_count,
        "original_story_id": row.original_story_id,
    }


def page_json(page: QueuePage, slugs: Mapping[int, str], limit: int, offset: int) -> dict[str, Any]:
    return {
        "items": [row_json(row, slugs) for row in page.rows],
        "total": page.total,
        "total_capped": page.capped,
        "limit": limit,
        "offset": offset,
    }


def rights_json(info: RightsInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "status": info.status,
        "requested_by": info.requested_by,
        "requested_at": iso(info.requested_at),
        "expires_at": iso(info.expires_at),
        "message": info.message,
        "consent_hashtag": info.consent_hashtag,
        "evidence_post_id": info.evidence_post_id,
        "evidence_url": public_url(info.evidence_url),
        "granted_at": iso(info.granted_at),
    }


def detail_json(detail: StoryDetail, slugs: Mapping[int, str]) -> dict[str, Any]:
    analysis = detail.analysis
    merchant = detail.merchant
    return {
        **row_json(detail.row, slugs),
        "campaign_name": detail.campaign_name,
        "consent_hashtag": detail.consent_hashtag,
        "score_breakdown": detail.score_breakdown,
        "public_name": detail.public_name,
        "featured_from": iso(detail.featured_from),
        "featured_until": iso(detail.featured_until),
        "post_kind": detail.post_kind,
        "post_platform_id": detail.post_platform_id,
        "hashtags": detail.hashtags,
        "media_count": len(detail.media),
        "author_url": public_url(detail.author_url),
        "author_verified": detail.author_verified,
        "analysis": None
        if analysis is None
        else {
            "language": analysis.language,
            "language_confidence": analysis.language_confidence,
            "sentiment": analysis.sentiment,
            "sentiment_score": analysis.sentiment_score,
            "signals": analysis.signals,
            "pipeline_version": analysis.pipeline_version,
            "analysed_at": iso(analysis.analysed_at),
        },
        "merchant_detail": None
        if merchant is None
        else {
            "id": merchant.id,
            "name": merchant.name,
            "city": merchant.city,
            "region": merchant.region,
            "website": public_url(merchant.website),
            "feature_opt_out": merchant.feature_opt_out,
        },
        "mentions": [
            {
                "merchant_id": m.merchant_id,
                "merchant_name": m.merchant_name,
                "discovered_id": m.discovered_id,
                "discovered_name": m.discovered_name,
                "surface": m.surface,
                "method": m.method,
                "score": m.score,
                "span": None if m.span_start is None else [m.span_start, m.span_end],
            }
            for m in detail.mentions
        ],
        "history": [
            {
                "id": t.id,
                "from": t.from_state,
                "to": t.to_state,
                "by": t.actor_email,
                "by_user_id": t.actor_user_id,
                "reason": t.reason,
                "at": iso(t.at),
            }
            for t in detail.transitions
        ],
        "rights_requests": [rights_json(r) for r in detail.rights_requests],
        "duplicates": [
            {
                "id": d.story_id,
                "post_id": d.post_id,
                "state": d.state,
                "kind": d.kind,
                "url": public_url(d.url),
                "author_handle": d.author_handle,
                "created_at": iso(d.post_created_at),
            }
            for d in detail.duplicates
        ],
        "allowed_states": list(detail.allowed_states),
    }


def request_json(result: RightsRequestResult) -> dict[str, Any]:
    return {
        "id": result.request_id,
        "story_id": result.story_id,
        "message": result.message,
        "reply_url": result.reply_url,
        "post_url": public_url(result.post_url),
        "consent_hashtag": result.consent_hashtag,
        "expires_at": iso(result.expires_at),
    }


def feature_json(result: FeatureResult) -> dict[str, Any]:
    return {
        "story_id": result.story_id,
        "from": iso(result.featured_from),
        "until": iso(result.featured_until),
        "warnings": result.warnings,
    }


def discovery_json(item: PendingDiscovery) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "mention_count": item.mention_count,
        "first_seen_at": iso(item.first_seen_at),
        "samples": list(item.samples),
    }


def merchant_json(merchant: Merchant) -> dict[str, Any]:
    return {"id": merchant.id, "name": merchant.name, "city": merchant.city, "category": merchant.category}


def campaign_json(slug: str, campaign: CampaignSettings, campaign_id: int | None) -> dict[str, Any]:
    tag = (campaign.consent_hashtag or "").strip().lstrip("#") or None
    return {
        "id": campaign_id,
        "slug": slug,
        "name": campaign.name,
        "hashtags": list(campaign.hashtags),
        "consent_hashtag": tag,
        "languages": list(campaign.languages),
        "region": campaign.region,
        "timezone": campaign.timezone,
        "start": campaign.start.isoformat() if campaign.start else None,
        "end": campaign.end.isoformat() if campaign.end else None,
    }
