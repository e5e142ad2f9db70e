"""The merchant portal's pages over a real loopback socket, on SQLite and PostgreSQL: where a merchant lands,
the mentions with their filters, the two charts (one bar per day of the period, one point per day with
mentions), the reach, private authors shown as pseudonyms, hostile text inert, French and English; and the
merchant's actions as plain forms: flag, suggest, featuring choice (the feed and featuring honour it at
once), takedown request (first in the curators' queue, archived when accepted). Invites: test_portal_invite.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from jobs.services import Services
from storage.models import Merchant, MerchantCorrection, Story, UserMerchant
from storage.pseudonyms import pseudonym
from storage.repositories._sql import utcnow
from storage.repositories.feed import featured_now
from tests.web.curation_setup import HOSTILE, PageText, client_for, csrf_in, page, post_form, sign_in
from tests.web.portal_setup import A_USER, CURATOR, build
from web.flash import COOKIE as FLASH_COOKIE
from web.i18n import catalogue

EN, FR = catalogue("en"), catalogue("fr")


def bars(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<rect class="bar" data-count="(\d+)"', html)]


def points(html: str) -> int:
    return len(re.findall(r'<circle class="point"', html))


async def test_a_merchant_lands_on_its_shop_and_sees_its_mentions_charts_and_reach(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        home = await client.get("/", allow_redirects=False)
        assert home.headers["Location"] == "/merchant"
        landing = await client.get("/merchant", allow_redirects=False)
        assert (landing.status, landing.headers["Location"]) == (303, f"/merchant/{world.a}")
        html = await page(client, f"/merchant/{world.a}")
    text = PageText(html).text
    # Every mention of A in the last 30 days (the Arabic one is 200 hours old: inside), none of B's.
    assert "Boulangerie Amal" in text
    assert "Zitouna" not in text
    assert text.count(EN["portal.flag"]) == 5
    assert EN["portal.count"].format(total=5, first=1, last=5) in text
    # One bar per day of the default period (30 days), the mentions spread over their days.
    counts = bars(html)
    assert len(counts) == 30
    assert sum(counts) == 5
    days_with_mentions = len({(utcnow() - timedelta(hours=h)).date() for h in (2, 30, 80, 200, 5)})
    assert points(html) == days_with_mentions == sum(1 for c in counts if c)
    assert 'role="img"' in html
    assert '<title id="volume-chart-title">Mention volume</title>' in html
    # Reach: five posts by five authors; four have 100 followers, the hostile one an unknown number.
    assert re.search(r'class="reach-posts">5<', html)
    assert re.search(r'class="reach-authors">5<', html)
    assert re.search(r'class="reach-followers">400<', html)


async def test_private_authors_are_pseudonyms_and_hostile_text_is_inert(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        html = await page(client, f"/merchant/{world.a}")
    key = services.pseudonym_key()
    # The shop's own account is public: its name and handle show. Private people: a pseudonym, no name.
    assert "User 7001 @user7001" in PageText(html).text
    assert "user7002" not in html
    assert "User 7002" not in html
    assert f"@{pseudonym('mastodon', 'u7002', key)}" in html
    assert f"@{pseudonym('x', 'u-hostile-portal', key)}" in html
    assert "hostile_writer" not in html
    # The hostile post and author name: escaped text, never markup.
    assert "<script>window" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert HOSTILE in PageText(html).text
    # Every post text may be Arabic: the browser picks the direction.
    assert re.search(r'<p class="post-text" dir="auto">شكرا', html)
    assert re.findall(r"<script\b", html) == []


async def test_filters_period_platform_sentiment_language(services: Services) -> None:
    world = await build(services)
    base = f"/merchant/{world.a}"
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        negative = PageText(await page(client, base + "?sentiment=negative")).text
        assert "Déçu par Amal" in negative
        assert EN["portal.count"].format(total=1, first=1, last=1) in negative
        mastodon = PageText(await page(client, base + "?platform=mastodon")).text
        assert "Amal bakery has the best bread" in mastodon
        assert EN["portal.count"].format(total=1, first=1, last=1) in mastodon
        arabic = PageText(await page(client, base + "?language=ar")).text
        assert "شكرا لمخبزة أمل" in arabic
        week = await page(client, base + "?days=7")
        assert len(bars(week)) == 7
        assert sum(bars(week)) == 4  # the Arabic post (200 hours ago) is older than a week
        year = await page(client, base + "?days=365")
        assert 52 <= len(bars(year)) <= 54  # by week
        assert sum(bars(year)) == 5
        today = utcnow().date()
        span = await page(client, base + f"?from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}")
        assert len(bars(span)) == 2
        for bad, field in [("days=5", "days"), ("from=yesterday", "from"), ("platform=myspace", "platform"),
                           ("sentiment=angry", "sentiment"), ("language=<b>", "language"),
                           (f"from={today.isoformat()}&to={(today - timedelta(days=3)).isoformat()}", "to"),
                           ("from=2000-01-01&to=2026-01-01", "period"), ("offset=-1", "offset")]:  # fmt: skip
            response = await client.get(f"{base}?{bad}")
            assert response.status == 400, bad
            assert field in await response.text(), bad


async def test_the_portal_speaks_french(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        html = await page(client, f"/merchant/{world.a}", status=200)
        token = csrf_in(html)
        await post_form(client, "/lang/fr", {"csrf_token": token, "next": f"/merchant/{world.a}"})
        for path in (f"/merchant/{world.a}", f"/merchant/{world.a}/stories", f"/merchant/{world.a}/names"):
            french = await page(client, path)
            assert '<html lang="fr"' in french
        text = PageText(await page(client, f"/merchant/{world.a}")).text
    assert FR["portal.mentions_title"] in text
    assert FR["portal.volume_title"] in text
    assert FR["portal.flag"] in text
    assert FR["portal.count"].format(total=5, first=1, last=5) in text


async def test_flag_suggest_and_the_requests_list(services: Services) -> None:
    world = await build(services)
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        html = await page(client, f"/merchant/{world.a}")
        token = csrf_in(html)
        target = f"/merchant/{world.a}/mentions/{world.mentions['a_negative']}/flag"
        # No token: refused.
        assert (await client.post(target, data={"note": "x"}, allow_redirects=False)).status == 403
        done = await post_form(
            client, target, {"csrf_token": token, "note": "Amal est une cliente", "next": f"/merchant/{world.a}"}
        )
        assert done.headers["Location"] == f"/merchant/{world.a}"
        assert FLASH_COOKIE in done.cookies
        after = PageText(await page(client, f"/merchant/{world.a}")).text
        assert EN["portal.flagged"] in after
        assert EN["portal.flag_pending"] in after
        assert after.count(EN["portal.flag"]) == 4

        names = f"/merchant/{world.a}/names"
        await post_form(
            client,
            f"/merchant/{world.a}/suggestions",
            {"csrf_token": token, "kind": "alias", "value": "Le Fournil", "next": names},
        )
        await post_form(
            client,
            f"/merchant/{world.a}/suggestions",
            {"csrf_token": token, "kind": "handle", "platform": "instagram", "value": "@Amal.Fournil", "next": names},
        )
        refused = await post_form(
            client,
            f"/merchant/{world.a}/suggestions",
            {"csrf_token": token, "kind": "handle", "platform": "x", "value": "not a handle!", "next": names},
        )
        assert refused.headers["Location"] == names
        assert "x handle 'x:not a handle!' is not valid" in PageText(await page(client, names)).text  # its flash
        # An outside address as `next` is not followed.
        outside = await post_form(
            client,
            f"/merchant/{world.a}/suggestions",
            {"csrf_token": token, "kind": "alias", "value": "Amal & co", "next": "https://evil.example/"},
        )
        assert outside.headers["Location"] == f"/merchant/{world.a}"
        listed = PageText(await page(client, names)).text
    assert "Le Fournil" in listed
    assert "Instagram @amal.fournil" in listed
    assert listed.count(EN["request_status.pending"]) == 4
    async with services.sessions() as session:
        query = select(MerchantCorrection.kind, MerchantCorrection.value, MerchantCorrection.note)
        rows = (await session.execute(query.order_by(MerchantCorrection.id))).all()
    assert [tuple(r) for r in rows] == [
        ("not_us", None, "Amal est une cliente"),
        ("alias", "Le Fournil", None),
        ("handle", "amal.fournil", None),
        ("alias", "Amal & co", None),
    ]


async def test_opting_out_applies_at_once_to_the_feed_and_to_featuring(services: Services) -> None:
    world = await build(services)
    async with services.sessions() as session:
        before = {i.story_id for i in await featured_now(session, campaign_slug=None, now=utcnow(), limit=20)}
    assert before == {world.stories["a"], world.stories["b"]}
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        names = f"/merchant/{world.a}/names"
        token = csrf_in(await page(client, names))
        await post_form(
            client, f"/merchant/{world.a}/featuring", {"csrf_token": token, "featured": "no", "next": names}
        )
        text = PageText(await page(client, names)).text
        assert EN["portal.opted_out"] in text
        assert EN["portal.featuring_no"] in text
        assert EN["portal.stories_opted_out"] in PageText(await page(client, f"/merchant/{world.a}/stories")).text
    async with services.sessions() as session:
        after = {i.story_id for i in await featured_now(session, campaign_slug=None, now=utcnow(), limit=20)}
        assert (await session.get(Merchant, world.a)).feature_opt_out is True  # type: ignore[union-attr]
    assert after == {world.stories["b"]}
    # A curator can no longer feature a story of the shop: the rule names the opt-out.
    async with client_for(services) as client:
        headers = {"X-CSRF-Token": await sign_in(client, CURATOR)}
        async with services.sessions.begin() as session:
            story = await session.get(Story, world.stories["a"])
            assert story is not None
            story.state, story.featured_from, story.featured_until = "rights_granted", None, None
        refused = await client.post(f"/api/stories/{world.stories['a']}/feature", json={}, headers=headers)
        assert refused.status == 409
        assert "opted out" in (await refused.json())["error"]
    # Consenting again lets it be featured.
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        token = csrf_in(await page(client, f"/merchant/{world.a}/names"))
        await post_form(client, f"/merchant/{world.a}/featuring", {"csrf_token": token, "featured": "yes"})
    async with client_for(services) as client:
        headers = {"X-CSRF-Token": await sign_in(client, CURATOR)}
        featured = await client.post(f"/api/stories/{world.stories['a']}/feature", json={}, headers=headers)
        assert featured.status == 200, await featured.text()


async def test_a_takedown_request_is_what_curators_see_first_and_accepting_archives(services: Services) -> None:
    world = await build(services)
    story = world.stories["a"]
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        stories = await page(client, f"/merchant/{world.a}/stories")
        assert "J'adore la Boulangerie Amal" in PageText(stories).text
        assert "Zitouna" not in stories
        token = csrf_in(stories)
        await post_form(
            client,
            f"/merchant/{world.a}/stories/{story}/takedown",
            {"csrf_token": token, "note": "photo de la vitrine d'avant", "next": f"/merchant/{world.a}/stories"},
        )
        after = PageText(await page(client, f"/merchant/{world.a}/stories")).text
        assert EN["portal.takedown_requested"] in after
        assert EN["portal.takedown_pending"] in after
    async with client_for(services) as client:
        await sign_in(client, CURATOR)
        queue = await page(client, "/queue")
        # Above the queue's filters and rows: the takedown request, linking the story and the merchant.
        block = queue.index('class="takedowns')
        assert block < queue.index('<form class="filters"')
        assert f'href="/stories/{story}"' in queue[block:]
        assert "photo de la vitrine d&#39;avant" in queue
        merchant_page = await page(client, f"/merchants/{world.a}")
        [request_id] = re.findall(r'id="request-(\d+)"', merchant_page)
        token = csrf_in(merchant_page)
        await post_form(client, f"/merchants/{world.a}/requests/{request_id}/accept", {"csrf_token": token})
        assert 'class="takedowns' not in await page(client, "/queue")
    async with services.sessions() as session:
        assert (await session.get(Story, story)).state == "archived"  # type: ignore[union-attr]
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        archived = await page(client, f"/merchant/{world.a}/stories")
        assert f'action="/merchant/{world.a}/stories/{story}/takedown"' not in archived
        assert EN["state.archived"] in PageText(archived).text


async def test_a_merchant_bound_to_two_shops_chooses(services: Services) -> None:
    world = await build(services)
    async with services.sessions.begin() as session:
        from storage.models import User

        user_id = await session.scalar(select(User.id).where(User.email == A_USER))
        session.add(UserMerchant(user_id=user_id, merchant_id=world.b))
    async with client_for(services) as client:
        await sign_in(client, A_USER)
        chooser = await page(client, "/merchant")
        assert f'href="/merchant/{world.a}"' in chooser
        assert f'href="/merchant/{world.b}"' in chooser
        assert "Olives de Zitouna".casefold() in PageText(await page(client, f"/merchant/{world.b}")).text.casefold()
