"""`Services`: what every job and request handler is given: settings, the engine and a session factory.

Built once at the edge (`service.wiring`) and passed down; nothing here opens a connection by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    campaign_ids: dict[str, int] = field(default_factory=dict)
    # Process-wide objects built on first use (the nlp pipeline): loaded once, shared by the jobs.
    extras: dict[str, Any] = field(default_factory=dict)
