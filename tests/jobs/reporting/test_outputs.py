"""The report's files from the fixture week: the PDF's text (extracted with poppler's `pdftotext`) holds the
headline figures and the Arabic merchant name in logical order; CSV and JSON hold every table; HTML escapes
untrusted text and charts carry no inline style or script."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs import report
from jobs.reporting import render
from jobs.reporting.definitions import DEFINITIONS_VERSION
from jobs.reporting.html import render_body
from jobs.reporting.weeks import IsoWeek
from jobs.services import Services
from service.settings import Settings
from tests.jobs.reporting.fixture_week import ARABIC_MERCHANT, END, ENV, SLUG, WEEK, seed

HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=alert(2)> شكرا"
# pdftotext marks right-to-left runs with Unicode embedding controls; the words themselves are what we test.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"{tool} is missing: apt-get install poppler-utils"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def _data(services: Services) -> dict[str, Any]:
    await seed(services)
    return (await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=END + timedelta(days=1))).data


async def test_the_pdf_text_holds_the_headline_figures_and_the_arabic_name(services: Services, tmp_path: Path) -> None:
    _require("pdftotext")
    data = await _data(services)
    pdf = render(data, "pdf", "en")
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    command = ["pdftotext", "-enc", "UTF-8", str(path), "-"]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=True)
    text = done.stdout
    text = _BIDI_CONTROLS.sub("", text)
    assert ARABIC_MERCHANT in text  # shaped, right to left on the page, logical order in the text
    for figure in ("Potential reach", "1,950", "Summed potential impressions", "2,950", "2,500", "53", "0.60"):
        assert figure in text, figure
    assert "169 hours" in text
    assert f"Definitions (version {DEFINITIONS_VERSION})" in text
    assert "Facebook hashtags cannot be collected" in text


async def test_csv_and_json_hold_every_table(services: Services) -> None:
    data = await _data(services)
    raw = render(data, "csv", "en").decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:])))
    tables = [row[1] for row in rows if len(row) == 2 and row[0] == "table"]
    assert tables[:4] == ["report", "headline", "days", "platforms"]
    assert {"merchants_most_mentioned", "top_posts", "coverage", "definitions"} <= set(tables)
    at = rows.index(["table", "headline"])
    headline = {row[0]: row for row in rows[at + 2 : rows.index(["table", "days"])] if row}
    assert headline["potential_reach"][1] == "1950"
    platforms_at = rows.index(["table", "platforms"])
    header = rows[platforms_at + 1]
    instagram = next(r for r in rows[platforms_at + 2 :] if r and r[0] == "instagram")
    assert instagram[header.index("impressions")] == ""  # unknown, not 0
    assert any(ARABIC_MERCHANT in cell for row in rows for cell in row)
    document = json.loads(render(data, "json", "en"))
    assert document["headline"]["potential_reach"] == 1950
    assert document["definitions"]["version"] == DEFINITIONS_VERSION
    assert set(document["definitions"]["text"]["potential_reach"]) == {"en", "fr"}


async def test_html_escapes_untrusted_text_and_speaks_french(services: Services) -> None:
    data = await _data(services)
    data["top_posts"][0]["text"] = HOSTILE
    html = render(data, "html", "en").decode("utf-8")
    assert "<script>window" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "Amina &lt;b&gt;B.&lt;/b&gt;" in html
    body = str(render_body(data, "fr"))
    assert "style=" not in body  # the web page's CSP allows no inline style ...
    assert "<script" not in body  # ... and no inline script
    assert "Audience potentielle" in body
    assert "1\u202f950" in body  # French digit grouping
    assert "Semaine précédente" in body
