"""Debian's Chromium driven by sync Playwright (never a downloaded browser), shared by the browser tests.

`launch_chromium()` yields a browser, or skips with the reason (fails when CI sets LISTENER_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("BROWSER", "the playwright module is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        skip_or_fail("BROWSER", f"{CHROMIUM} is missing (apt-get install chromium)")


def launch_chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
