"""The report as PDF, rendered from the standalone HTML by WeasyPrint (BSD; Pango, HarfBuzz and FriBidi do the
shaping and right-to-left ordering, so Arabic names come out joined and in the right order, and their text
is extracted in logical order).

WeasyPrint needs Debian's Pango libraries and a font with Arabic glyphs (fonts-dejavu-core); when either is
missing, `PdfUnavailable` says so in one line that names the fix, and the other formats still work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jobs.reporting.html import render_html

log = logging.getLogger(__name__)

FIX = (
    "install WeasyPrint's system libraries and an Arabic-capable font: "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfribidi0 fonts-dejavu-core "
    "(and `pip install weasyprint`, a dependency of campaign-listener)"
)


class PdfUnavailable(RuntimeError):
    """The PDF cannot be made on this machine; the message names what to install."""


def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped]
        import weasyprint.urls  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: the Python package is there, Pango is not
        raise PdfUnavailable(f"PDF output is unavailable ({type(exc).__name__}: {exc}); {FIX}") from None
    return weasyprint


def render_pdf(data: Mapping[str, Any], locale: str) -> bytes:
    weasyprint = _weasyprint()
    html = render_html(data, locale)
    # No base URL and a fetcher allowed no protocol at all: the document is self-contained, and nothing in a
    # post's text can make the renderer fetch anything.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=())
    document = weasyprint.HTML(string=html, url_fetcher=fetcher)
    pdf: bytes = document.write_pdf()
    return pdf
