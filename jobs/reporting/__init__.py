"""The weekly reach report: metric definitions (`definitions`), ISO weeks in a campaign's time zone (`weeks`),
the pure aggregation of the repository's grouped rows (`metrics`, `coverage`, `assemble`), and the outputs:
HTML with SVG charts (`html`, `charts`, templates/), PDF (`pdf`), CSV and JSON (`exports`). The job that reads
the database, stores and e-mails reports is `jobs.report`.
"""

from __future__ import annotations

FORMATS = ("html", "pdf", "csv", "json")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
}


def file_name(campaign: str, week: str, fmt: str) -> str:
    """`report-NAME-YYYY-Www.EXT`, the name of every report file (CLI, web download, e-mail attachment)."""
    return f"report-{campaign}-{week}.{fmt}"


def render(data: dict[str, object], fmt: str, locale: str) -> bytes:
    """The report document in one format, as bytes (PdfUnavailable when the PDF cannot be made here)."""
    if fmt == "html":
        from jobs.reporting.html import render_html

        return render_html(data, locale).encode("utf-8")
    if fmt == "pdf":
        from jobs.reporting.pdf import render_pdf

        return render_pdf(data, locale)
    if fmt == "csv":
        from jobs.reporting.exports import render_csv

        return render_csv(data).encode("utf-8")
    if fmt == "json":
        from jobs.reporting.exports import render_json

        return render_json(data).encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
