"""`Services`: what every job and request handler is given: settings, the engine and a session factory.

Built once at the edge (`service.wiring`) and passed down; nothing here opens a connection by itself.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.settings import Settings
from storage.sqlite_reader import SqliteReader


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    campaign_ids: dict[str, int] = field(default_factory=dict)
    # Process-wide objects built on first use (the nlp pipeline): loaded once, shared by the jobs.
    extras: dict[str, Any] = field(default_factory=dict)
    # This process's row in `workers` once registered (jobs.worker): leases carry it, so they come back the
    # moment the process is known dead.
    worker_id: str | None = None
    # Plain read-only connections for the web app's hottest reads on SQLite (storage.sqlite_reader); None on
    # PostgreSQL, where those reads go through `sessions`.
    reader: SqliteReader | None = None

    def pseudonym_key(self) -> bytes:
        """The HMAC key of `storage.pseudonyms`: derived from LISTENER_SECRET_KEY when it is set (every
        process of a deployment then agrees); otherwise a random key kept in the data directory, created
        on first use (one machine; `listener check` asks for LISTENER_SECRET_KEY)."""
        cached = self.extras.get("pseudonym_key")
        if isinstance(cached, bytes):
            return cached
        secret = self.settings.secrets.get("secret_key")
        if secret is not None:
            key = hashlib.sha256(b"campaign-listener pseudonyms\0" + secret.reveal().encode()).digest()
        else:
            path = self.settings.data_dir / "pseudonym.key"
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # "x": of two processes starting together, one creates it and both read the same key
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(32))
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        self.extras["pseudonym_key"] = key
        return key
