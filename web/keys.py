"""The typed keys under which the application keeps its shared objects (`app[SERVICES]`, `app[TEMPLATES]`).

They live apart from `web.app` so that the feature modules (sign-in, pages, API) can reach them without
importing the module that assembles the application, which imports them in turn.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import jinja2
from aiohttp import web

from jobs.services import Services
from web.session_cache import SessionCache


@dataclass(frozen=True)
class NavItem:
    """One link of the layout's navigation: shown to the given roles (every visitor when `roles` is empty)."""

    href: str
    label: str  # an i18n key
    roles: frozenset[str] = frozenset()


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
NAV: web.AppKey[list[NavItem]] = web.AppKey("nav", list)
# Argon2id takes 64 MiB and ~50 ms per hash: a few at a time, so a burst of sign-ins cannot exhaust memory.
HASH_SLOTS: web.AppKey[asyncio.Semaphore] = web.AppKey("hash_slots", asyncio.Semaphore)
# Recently looked-up sessions (see web.session_cache); cleared when this process ends or changes a session.
SESSION_CACHE: web.AppKey[SessionCache] = web.AppKey("session_cache", SessionCache)
