"""The curator pages over a real loopback socket, on SQLite and PostgreSQL: the queue (filters, sorting, paging,
the capped count, bulk actions with Post/Redirect/Get), discovered-business review, the home page's roles,
CSRF, French labels, and hostile post text and names shown escaped. The story page is in test_story_page.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import insert, select
from yarl import URL

from jobs.services import Services
from storage.models import Author as AuthorRow
from storage.models import DiscoveredBusiness, Story
from storage.models import Post as PostRow
from storage.repositories import stories as repo
from storage.repositories._sql import utcnow
from storage.repositories.users import Role
from tests.storage.test_discovered_repo import NAKHIL, TONTON, ZINC
from tests.storage.test_discovered_repo import seed as seed_discovered
from tests.web.curation_setup import (
    HOSTILE,
    PageText,
    client_for,
    csrf_in,
    make_user,
    only_external_scripts,
    page,
    post_form,
    seed,
    sign_in,
    signed_in_curator,
)
from web.flash import COOKIE as FLASH_COOKIE

PAGES = ["/queue", "/stories/1", "/discovered"]
FORMS = ["/queue/bulk", "/stories/1/move", "/stories/1/rights-request", "/stories/1/feature", "/stories/1/undo",
         "/discovered/1/add", "/discovered/1/merge", "/discovered/1/ignore"]  # fmt: skip


# --- roles, CSRF, the home page -----------------------------------------------------------------------


async def test_anonymous_visitors_go_to_the_login_page_and_merchants_are_refused(services: Services) -> None:
    await make_user(services, "shop@example.org", Role.MERCHANT)
    async with client_for(services) as client:
        for path in [*PAGES, "/"]:
            response = await client.get(path, allow_redirects=False)
            assert response.status == 303, path
            location = URL(response.headers["Location"])
            assert (location.path, location.query["next"]) == ("/login", path)
        for path in FORMS:
            response = await client.post(path, data={"x": "1"}, allow_redirects=False)
            assert (response.status, response.headers["Location"]) == (303, "/login"), path

        token = await sign_in(client, "shop@example.org")
        for path in PAGES:
            assert "not allowed" in await page(client, path, 403)
        for path in FORMS:
            assert (await client.post(path, data={"csrf_token": token})).status == 403, path
        home = await client.get("/", allow_redirects=False)
        assert (home.status, home.headers["Location"]) == (303, "/merchant")
        nav = await page(client, "/account/password")
        assert 'href="/queue"' not in nav


async def test_curators_and_admins_see_the_home_page_and_the_navigation(services: Services) -> None:
    await make_user(services, "admin@example.org", Role.ADMIN)
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        home = await page(client, "/")
        assert "<h1>Campaigns</h1>" in home
        assert '<a href="/queue">Story queue</a>' in home
        assert '<a href="/discovered">Discovered businesses</a>' in home
    async with client_for(services) as client:
        await sign_in(client, "admin@example.org")
        assert 'aria-current="page">Story queue</a>' in await page(client, "/queue")


async def test_every_form_needs_the_csrf_token(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        for path in [p.replace("/1/", f"/{good}/") for p in FORMS]:
            for data in ({"ids": str(good), "action": "shortlist", "to": "shortlisted"}, {"csrf_token": "forged"}):
                response = await client.post(path, data=data, allow_redirects=False)
                assert response.status == 403, path
                assert "CSRF" in await response.text()
        assert "candidate" in (await page(client, f"/stories/{good}"))
        moved = await post_form(client, f"/stories/{good}/move", {"csrf_token": token, "to": "shortlisted"})
        assert moved.headers["Location"] == f"/stories/{good}"


# --- the queue ----------------------------------------------------------------------------------------


async def test_the_queue_shows_candidates_with_everything_a_curator_needs(services: Services) -> None:
    seeded = await seed(services)
    ids = seeded.stories
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        html = await page(client, "/queue")
    text = PageText(html).text
    only_external_scripts(html)
    assert html.count('<tr class="story"') == 5  # the candidates; rejected ones need asking for
    assert "5 stories match; showing 1–5." in text
    row = re.search(rf'<tr class="story" id="story-{ids["arabic"]}".*?</tr>', html, re.S)
    assert row is not None
    cells = PageText(row.group(0)).text
    for expected in ("User 9005", "@user9005", "X", "Arabic", "positive", "Boulangerie Amal", "candidate", "شكرا"):
        assert expected in cells, expected
    assert '<p class="post-text" dir="auto">' in row.group(0)
    assert 'href="https://example.test/status/9005" rel="noopener nofollow ugc"' in row.group(0)
    assert f'name="ids" value="{ids["arabic"]}"' in row.group(0)
    assert f'href="/stories/{ids["arabic"]}"' in row.group(0)
    good = re.search(rf'<tr class="story" id="story-{ids["good"]}".*?</tr>', html, re.S)
    assert good is not None
    assert re.search(r'<td class="num">1</td>', good.group(0)), "the duplicate is counted under its original"


async def test_queue_filters_sorting_and_paging(services: Services) -> None:
    seeded = await seed(services)
    ids = seeded.stories
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        rejected = await page(client, "/queue?filtered=1&state=rejected")
        assert f'id="story-{ids["complaint"]}"' in rejected
        assert f'id="story-{ids["duplicate"]}"' in rejected
        assert "Grouped under" in rejected
        assert 'value="rejected" checked' in rejected
        everything = await page(client, "/queue?filtered=1")
        assert everything.count('<tr class="story"') == 7
        french = await page(client, "/queue?filtered=1&language=ar&sentiment=positive&platform=x&campaign=lovelocal")
        assert re.findall(r'id="story-(\d+)"', french) == [str(ids["arabic"])]
        assert '<option value="ar" selected>' in french
        merchant = await page(client, f"/queue?merchant={seeded.opted_out_id}")
        assert re.findall(r'id="story-(\d+)"', merchant) == [str(ids["opted_out"])]
        assert f'<option value="{seeded.opted_out_id}" selected>' in merchant
        today = utcnow().date()
        assert "No story matches these filters." in await page(client, f"/queue?from={today + timedelta(days=3)}")

        first = await page(client, "/queue?filtered=1&sort=newest&limit=3")
        assert re.findall(r'id="story-(\d+)"', first) == [str(ids[n]) for n in ("duplicate", "good", "english")]
        assert "7 stories match; showing 1–3." in PageText(first).text
        next_link = unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))  # type: ignore[union-attr]
        assert "sort=newest" in next_link
        assert "offset=3" in next_link
        second = await page(client, next_link)
        assert re.findall(r'id="story-(\d+)"', second) == [str(ids[n]) for n in ("opted_out", "hostile", "arabic")]
        assert 'rel="prev"' in second

        bad = await client.get("/queue?min_score=abc")
        assert bad.status == 400
        assert "min_score must be a number between 0 and 1" in await bad.text()
        assert "<html" in await bad.text()


async def many_candidates(services: Services, count: int) -> None:
    """`count` candidate stories inserted directly (the count cap needs more than a factory's worth)."""
    now = utcnow()
    async with services.sessions.begin() as session:
        author = AuthorRow(
            platform="x", platform_id="bulk", handle="bulk", display_name="", first_seen_at=now, updated_at=now
        )
        session.add(author)
        await session.flush()
        posts = [
            {"id": 500_000 + i, "platform": "x", "platform_id": f"bulk{i}", "author_id": author.id, "url": None,
             "text": f"story {i}", "created_at": now, "collected_at": now, "updated_at": now, "kind": "original",
             "hashtags": [], "mentions": [], "urls": [], "media": []}
            for i in range(count)
        ]  # fmt: skip
        await session.execute(insert(PostRow), posts)
        stories = [
            {"post_id": 500_000 + i, "campaign_id": services.campaign_ids["soutenons"], "state": "candidate",
             "score": 0.5, "score_breakdown": {}, "platform": "x", "language": "fr", "sentiment": "positive",
             "author_id": author.id, "post_created_at": now, "created_at": now, "updated_at": now}
            for i in range(count)
        ]  # fmt: skip
        await session.execute(insert(Story), stories)


async def test_a_large_queue_shows_a_capped_count_and_keeps_paging(services: Services) -> None:
    await many_candidates(services, repo.COUNT_CAP + 1)
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        html = await page(client, "/queue")
        assert f"{repo.COUNT_CAP:,}+ stories match; showing 1–50." in PageText(html).text
        assert 'rel="next"' in html
        api = await (await client.get("/api/stories?limit=1")).json()
        assert api["total_capped"] is True
    async with client_for(services) as client:
        await make_user(services, "fr@example.org", locale="fr")
        await sign_in(client, "fr@example.org")
        french = await page(client, "/queue")
    # A narrow no-break space separates the thousands in French.
    assert f"{repo.COUNT_CAP:,}+ histoires correspondent".replace(",", "\u202f") in french


async def test_bulk_actions_redirect_back_with_a_one_time_result(services: Services) -> None:
    seeded = await seed(services)
    ids = seeded.stories
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        queue = await page(client, "/queue?filtered=1&state=candidate&state=rejected")
        assert csrf_in(queue) == token
        back = unescape(re.search(r'name="next" value="([^"]+)"', queue).group(1))  # type: ignore[union-attr]
        assert back == "/queue?filtered=1&state=candidate&state=rejected"
        data = [("csrf_token", token), ("next", back), ("action", "shortlist"), ("reason", "")]
        data += [("ids", str(ids[name])) for name in ("good", "english", "complaint")]
        done = await post_form(client, "/queue/bulk", data)
        assert done.headers["Location"] == back

        shown = PageText(await page(client, back)).text
        assert "2 stories shortlisted." in shown
        assert "1 stories could not be changed:" in shown
        assert f"#{ids['complaint']}: story #{ids['complaint']} is rejected" in shown
        assert "2 stories shortlisted." not in PageText(await page(client, back)).text  # shown once

        for story in ("good", "english"):
            assert 'class="state shortlisted"' in await page(client, f"/stories/{ids[story]}")

        no_reason = [("csrf_token", token), ("next", "/queue"), ("action", "reject"), ("ids", str(ids["arabic"]))]
        await post_form(client, "/queue/bulk", no_reason)
        assert "Rejecting needs a reason: nothing was changed." in PageText(await page(client, "/queue")).text
        assert 'class="state candidate"' in await page(client, f"/stories/{ids['arabic']}")

        nothing = await post_form(
            client, "/queue/bulk", {"csrf_token": token, "action": "archive", "next": "//evil.example"}
        )
        assert nothing.headers["Location"] == "/queue"
        assert "Tick at least one story first." in PageText(await page(client, "/queue")).text

        rejected = [
            ("csrf_token", token),
            ("action", "reject"),
            ("reason", "<b>hors sujet</b>"),
            ("ids", str(ids["arabic"])),
        ]
        await post_form(client, "/queue/bulk", rejected)
        story = await page(client, f"/stories/{ids['arabic']}")
        assert "&lt;b&gt;hors sujet&lt;/b&gt;" in story
        assert "<b>hors" not in story

        bad_ids = [("csrf_token", token), ("action", "archive"), ("ids", "abc")]
        assert (await client.post("/queue/bulk", data=bad_ids, allow_redirects=False)).status == 400
        huge = [("csrf_token", token), ("action", "archive"), ("ids", str(2**31))]
        assert (await client.post("/queue/bulk", data=huge, allow_redirects=False)).status == 400


async def test_a_forged_flash_is_ignored(services: Services) -> None:
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        client.session.cookie_jar.update_cookies({FLASH_COOKIE: "eyJrIjoibm90aWNlIiwibCI6WyJwd25lZCJdfQ==.0000"})
        assert "pwned" not in await page(client, "/queue")


# --- discovered businesses ----------------------------------------------------------------------------


async def test_discovered_businesses_are_reviewed_from_the_page(services: Services) -> None:
    names = await seed_discovered(services)
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        html = await page(client, "/discovered")
        text = PageText(html).text
        assert "3 names to review" in text
        assert text.index(TONTON) < text.index(NAKHIL) < text.index(ZINC)
        assert "4 mentions since" in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # a sample post, escaped
        assert "<script>alert" not in html
        only_external_scripts(html)

        await post_form(
            client, f"/discovered/{names[TONTON]}/add", {"csrf_token": token, "name": "Chez Tonton", "city": "Lyon"}
        )
        after = PageText(await page(client, "/discovered")).text
        assert re.search(r"Added to the registry as merchant \d+ \(Chez Tonton\)\.", after)
        merchant_id = re.search(r"as merchant (\d+)", after).group(1)  # type: ignore[union-attr]

        again = await post_form(
            client, f"/discovered/{names[TONTON]}/add", {"csrf_token": token, "name": "X"}, status=409
        )
        assert "was already added" in await again.text()

        missing = await post_form(client, f"/discovered/{names[NAKHIL]}/merge", {"csrf_token": token}, status=400)
        assert "Choose the merchant this name belongs to." in await missing.text()
        await post_form(client, f"/discovered/{names[NAKHIL]}/merge", {"csrf_token": token, "merchant": merchant_id})
        assert "Recorded as another name of merchant" in PageText(await page(client, "/discovered")).text
        await post_form(client, f"/discovered/{names[ZINC]}/ignore", {"csrf_token": token})
        assert "Nothing to review." in PageText(await page(client, "/discovered")).text
        assert (
            "there is no discovered business #4242"
            in await (await client.post("/discovered/4242/ignore", data={"csrf_token": token})).text()
        )
    async with services.sessions() as session:
        statuses = set(await session.scalars(select(DiscoveredBusiness.status)))
    assert statuses == {"added", "merged", "ignored"}


# --- French, escaping ---------------------------------------------------------------------------------


async def test_the_pages_are_in_french_for_a_french_curator(services: Services) -> None:
    seeded = await seed(services)
    await seed_discovered(services)
    async with client_for(services) as client:
        await signed_in_curator(services, client, locale="fr")
        queue = await page(client, "/queue")
        story = await page(client, f"/stories/{seeded.stories['good']}")
        discovered = await page(client, "/discovered")
    for html in (queue, story, discovered):
        assert '<html lang="fr"' in html
    q = PageText(queue).text
    for expected in ("File des histoires", "Filtres", "Campagne", "Trier par", "Présélectionner", "Rejeter",
                     "Archiver", "5 histoires correspondent ; affichage 1–5.", "arabe", "positif",
                     "Raccourcis clavier"):  # fmt: skip
        assert expected in q, expected
    s = PageText(story).text
    for expected in ("Histoire n°", "Le message", "Analyse", "expérience vécue : oui", "Commerces mentionnés",
                     "identifiant du compte", "Ce commerce accepte d'être mis en avant.", "Historique",
                     "nouvelle → candidate automatique", "Rejeter", "Annuler la dernière modification",
                     "Doublons et repartages regroupés sous cette histoire (1)"):  # fmt: skip
        assert expected in s, expected
    d = PageText(discovered).text
    for expected in ("Commerces découverts", "3 noms à examiner", "Ajouter au registre", "Rattacher", "Ignorer"):
        assert expected in d, expected


@pytest.mark.parametrize("where", ["queue", "story"])
async def test_hostile_post_text_and_author_names_are_escaped(services: Services, where: str) -> None:
    seeded = await seed(services)
    hostile = seeded.stories["hostile"]
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        html = await page(client, "/queue" if where == "queue" else f"/stories/{hostile}")
    parsed = PageText(html)
    assert "<script>window" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert HOSTILE in parsed.text  # shown literally
    assert "img" not in parsed.tags
    only_external_scripts(html)


async def test_the_queue_script_is_served_from_static(services: Services) -> None:
    async with client_for(services) as client:
        response = await client.get("/static/queue.js")
        assert response.status == 200
        assert "javascript" in response.content_type
        body = await response.text()
    assert 'getElementById("bulk")' in body
    assert "innerHTML" not in body
