"""Rendering a page: a Jinja2 template (autoescaped) with the layout's context from `web.auth`.

Every page goes through `render`, so every page has the user, the CSRF token, the translator `t`, the
locale and the navigation without each handler passing them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.auth import template_context
from web.keys import TEMPLATES


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**(template_context(request) | context))
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
