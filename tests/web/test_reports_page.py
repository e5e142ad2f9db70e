"""The weekly reports in the web app, with the real app on loopback and the fixture week: roles (anonymous to
the login page, merchants refused), the list of weeks, generating (and regenerating only when asked), the
report page under the strict CSP with escaped text, downloads with their content types and file names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from yarl import URL

from jobs import report
from jobs.reporting.weeks import IsoWeek
from jobs.services import Services
from service.settings import Settings
from storage.repositories.users import Role
from tests.jobs.reporting.fixture_week import ARABIC_MERCHANT, END, ENV, SLUG, WEEK, seed
from tests.web.curation_setup import (
    client_for,
    csrf_in,
    make_user,
    only_external_scripts,
    page,
    post_form,
    sign_in,
    signed_in_curator,
)

PAGES = ["/reports", f"/reports/{SLUG}/{WEEK}", f"/reports/{SLUG}/{WEEK}.pdf", f"/reports/{SLUG}/{WEEK}.csv"]


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


async def test_anonymous_visitors_sign_in_first_and_merchants_are_refused(services: Services) -> None:
    await make_user(services, "shop@example.org", Role.MERCHANT)
    async with client_for(services) as client:
        for path in PAGES:
            response = await client.get(path, allow_redirects=False)
            assert response.status == 303, path
            location = URL(response.headers["Location"])
            assert (location.path, location.query["next"]) == ("/login", path)
        response = await client.post("/reports/generate", data={"campaign": SLUG}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/login")
        token = await sign_in(client, "shop@example.org")
        for path in PAGES:
            assert (await client.get(path)).status == 403, path
        refused = await client.post("/reports/generate", data={"csrf_token": token, "campaign": SLUG, "week": WEEK})
        assert refused.status == 403
        assert 'href="/reports"' not in await page(client, "/account/password")


async def test_a_curator_generates_reads_and_downloads_a_week(services: Services) -> None:
    await seed(services)
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        listing = await page(client, "/reports")
        assert '<a href="/reports" aria-current="page">Weekly reports</a>' in listing
        assert "No report stored yet." in listing
        missing = await page(client, f"/reports/{SLUG}/{WEEK}", 404)
        assert "has not been generated yet" in missing
        moved = await post_form(
            client, "/reports/generate", {"csrf_token": csrf_in(listing), "campaign": SLUG, "week": WEEK}
        )
        assert moved.headers["Location"] == f"/reports/{SLUG}/{WEEK}"
        shown = await page(client, f"/reports/{SLUG}/{WEEK}")
        assert f"Report {WEEK} generated and stored (28 posts)." in shown
        only_external_scripts(shown)
        assert "style=" not in shown
        assert '<link rel="stylesheet" href="/reports/report.css">' in shown
        assert ARABIC_MERCHANT in shown
        assert "Amina &lt;b&gt;B.&lt;/b&gt;" in shown  # the story's public name, escaped
        assert "1,950" in shown
        css = await client.get("/reports/report.css")
        assert css.status == 200
        assert css.content_type == "text/css"
        for fmt, content_type in (("csv", "text/csv"), ("json", "application/json"), ("html", "text/html")):
            response = await client.get(f"/reports/{SLUG}/{WEEK}.{fmt}")
            assert response.status == 200, fmt
            assert response.content_type == content_type
            name = f"report-{SLUG}-{WEEK}.{fmt}"
            assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        csv_text = await (await client.get(f"/reports/{SLUG}/{WEEK}.csv")).text()
        assert "potential_reach,1950" in csv_text
        listing = await page(client, "/reports")
        assert f'href="/reports/{SLUG}/{WEEK}.pdf"' in listing


async def test_the_pdf_download(services: Services) -> None:
    await seed(services)
    await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=END + timedelta(days=1))
    async with client_for(services) as client:
        await signed_in_curator(services, client, locale="fr")
        response = await client.get(f"/reports/{SLUG}/{WEEK}.pdf")
        assert response.status == 200
        assert response.content_type == "application/pdf"
        assert (await response.read()).startswith(b"%PDF-")
        french = await page(client, f"/reports/{SLUG}/{WEEK}")
        assert "Audience potentielle" in french
        assert "Recalculer à partir des données actuelles" in french


async def test_a_stored_week_is_recomputed_only_when_asked(services: Services) -> None:
    await seed(services)
    first = await report.generate(services, SLUG, IsoWeek.parse(WEEK), now=END + timedelta(days=1))
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        form = {"csrf_token": token, "campaign": SLUG, "week": WEEK}
        await post_form(client, "/reports/generate", form)
        kept = await page(client, f"/reports/{SLUG}/{WEEK}")
        assert "was already stored" in kept
        await post_form(client, "/reports/generate", {**form, "regenerate": "1"})
        assert "regenerated from the current data" in await page(client, f"/reports/{SLUG}/{WEEK}")
        bad = await post_form(client, "/reports/generate", {**form, "week": "2026-43"})
        assert bad.headers["Location"] == "/reports"
        assert "YYYY-Www" in await page(client, "/reports")
        unknown = await client.get("/reports/nope/2026-W43")
        assert unknown.status == 404
    async with services.sessions() as session:
        stored = await report.stored(session, services.campaign_ids[SLUG], IsoWeek.parse(WEEK))
    assert stored is not None
    assert stored.generated_at > datetime_of(first.data["generated_at"])


def datetime_of(text: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(text)
