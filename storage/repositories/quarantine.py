"""The quarantine: payloads that could not be turned into posts, kept whole with the reason.

Nothing a platform sends is dropped silently: an unreadable page or item lands here, is counted in the
run's result, and is shown by `listener sources`; a fixed parser can re-read it later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Quarantine
from storage.repositories._sql import utcnow

MAX_PAYLOAD_CHARS = 5_000_000


def _text(payload: Any) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
    if len(text) > MAX_PAYLOAD_CHARS:
        return text[:MAX_PAYLOAD_CHARS] + f"\n[truncated: {len(text)} characters in all]"
    # Lone surrogates cannot be stored as UTF-8, NUL not in a PostgreSQL text column: keep both visible
    # as escapes instead of failing the page that carries them.
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


async def quarantine(session: AsyncSession, source: str, platform: str, items: Sequence[tuple[Any, str]]) -> int:
    """Store (payload, error) pairs; returns how many were stored."""
    now = utcnow()
    for payload, error in items:
        session.add(
            Quarantine(source=source, platform=platform, payload=_text(payload), error=error[:2000], received_at=now)
        )
    if items:
        await session.flush()
    return len(items)


async def counts_by_source(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(
        select(Quarantine.source, func.count()).where(Quarantine.resolved_at.is_(None)).group_by(Quarantine.source)
    )
    return {source: int(n) for source, n in result.all()}
