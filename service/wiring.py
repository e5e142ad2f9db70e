"""Wiring: turn validated settings into live `Services` (engine, sessions, campaigns) and tear them down.

Commands that need the database call `open_services`; a fresh (empty) database is migrated on first use
and the caller is told so, an outdated one is refused with the command that fixes it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from jobs.services import Services
from service.settings import Settings
from storage.engine import create_engine, make_sessionmaker, redact_url
from storage.migrate import SchemaState, ensure_schema
from storage.repositories.campaigns import sync_campaigns
from storage.sqlite_reader import reader_for

log = logging.getLogger(__name__)


def _default_notice(state: SchemaState, url: str) -> None:
    print(f"note: the database {url} was empty: created its tables (revision {state.current})", file=sys.stderr)


@asynccontextmanager
async def open_services(
    settings: Settings, notice: Callable[[SchemaState, str], None] = _default_notice
) -> AsyncIterator[Services]:
    engine = create_engine(settings.database_url)
    try:
        state, migrated = await ensure_schema(engine)
        if migrated:
            notice(state, redact_url(settings.database_url))
        sessions = make_sessionmaker(engine)
        async with sessions.begin() as session:
            campaign_ids = await sync_campaigns(session, settings.campaigns)
        reader = reader_for(settings.database_url)
        try:
            yield Services(settings, engine, sessions, campaign_ids, reader=reader)
        finally:
            if reader is not None:
                reader.close()
    finally:
        await engine.dispose()
