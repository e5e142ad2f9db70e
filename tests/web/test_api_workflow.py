"""The curator JSON API's workflows over a real loopback socket, on SQLite and PostgreSQL: the whole
rights-to-feature flow through the real stories job and the public feed, the rules that refuse a feature,
feature windows, rights messages, discovered-business review and the campaigns list.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from jobs import stories as stories_job
from jobs.services import Services
from listener.post import Post
from storage.models import DiscoveredBusiness, Merchant, MerchantAlias
from storage.repositories._sql import utcnow
from tests.storage.test_discovered_repo import NAKHIL, TONTON, ZINC
from tests.storage.test_discovered_repo import seed as seed_discovered
from tests.web.curation_setup import Client, client_for, consent_reply, curator, error_of, seed

# --- rights and featuring -----------------------------------------------------------------------------


async def test_shortlist_request_rights_consent_reply_feature_and_the_public_feed(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        shortlisted = await client.post(f"/api/stories/{good}/transitions", json={"to": "shortlisted"}, headers=headers)
        assert (await shortlisted.json())["story"]["state"] == "shortlisted"

        asked = await client.post(f"/api/stories/{good}/rights-requests", headers=headers)
        assert asked.status == 201
        body = await asked.json()
        request = body["rights_request"]
        assert request["consent_hashtag"] == "OuiLoveLocal"
        assert "#OuiLoveLocal" in request["message"]
        assert "@user9001" in request["message"]
        assert request["post_url"] == "https://example.test/status/9001"
        reply = parse_qs(urlsplit(request["reply_url"]).query)
        assert request["reply_url"].startswith("https://twitter.com/intent/tweet?")
        assert reply == {"in_reply_to": ["1009001"], "text": [request["message"]]}
        assert body["story"]["state"] == "rights_requested"
        assert body["story"]["rights_requests"][0]["status"] == "pending"

        # Not featurable yet: only the author's consent reply grants rights.
        early = await client.post(f"/api/stories/{good}/feature", headers=headers)
        assert early.status == 409

        await consent_reply(services, seeded.posts["good"], "Avec plaisir ! #OuiLoveLocal", 9101)
        assert (await stories_job.run(services))["rights_granted"] == 1

        granted = (await (await client.get(f"/api/stories/{good}")).json())["story"]
        assert granted["state"] == "rights_granted"
        assert granted["public_name"] == "User 9001"
        assert granted["rights_requests"][0]["status"] == "granted"
        assert granted["rights_requests"][0]["evidence_url"] == "https://example.test/status/9101"
        assert granted["history"][-1]["by"] is None  # the job, not a person

        featured = await client.post(f"/api/stories/{good}/feature", json={}, headers=headers)
        assert featured.status == 200, await featured.text()
        result = await featured.json()
        assert result["story"]["state"] == "featured"
        assert result["feature"]["story_id"] == good
        window = result["feature"]
        assert window["until"] > window["from"]

        feed = await (await client.get("/feed/featured.json?campaign=lovelocal")).json()
    assert [item["story_id"] for item in feed["items"]] == [good]
    assert feed["items"][0]["author"] == "User 9001"
    assert feed["items"][0]["merchant"] == "Boulangerie Amal"


async def granted_story(
    services: Services, client: Client, headers: dict[str, str], story_id: int, post: Post, n: int
) -> None:
    """Shortlist, request rights and have the author consent, through the API and the real job."""
    await client.post(f"/api/stories/{story_id}/transitions", json={"to": "shortlisted"}, headers=headers)
    assert (await client.post(f"/api/stories/{story_id}/rights-requests", json={}, headers=headers)).status == 201
    await consent_reply(services, post, "Oui #OuiLoveLocal", n)
    await stories_job.run(services)


async def test_featuring_is_refused_with_the_rule_for_an_opted_out_merchant(services: Services) -> None:
    seeded = await seed(services)
    story_id = seeded.stories["opted_out"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        await granted_story(services, client, headers, story_id, seeded.posts["opted_out"], 9102)
        refused = await client.post(f"/api/stories/{story_id}/feature", headers=headers)
        message = await error_of(refused, 409)
        assert "'Épicerie Discrète' opted out of being featured" in message
        story = (await (await client.get(f"/api/stories/{story_id}")).json())["story"]
    assert story["state"] == "rights_granted"
    assert story["merchant_detail"]["feature_opt_out"] is True


async def test_feature_windows_are_validated_and_read_in_the_campaigns_time_zone(services: Services) -> None:
    seeded = await seed(services)
    story_id = seeded.stories["good"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        await granted_story(services, client, headers, story_id, seeded.posts["good"], 9103)
        url = f"/api/stories/{story_id}/feature"
        for body, message in [
            ({"from": "tomorrow"}, "from must be a date"),
            ({"from": 5}, "from must be a date"),
            ({"until": "2026-02-30"}, "until must be a date"),
            ({"from": "2030-01-10", "until": "2030-01-09"}, "until must be after from"),
            ({"from": "2030-01-10", "until": "2199-01-09"}, "a feature window lasts at most 366 days"),
            ({"until": "2199-01-09T00:00+99:00"}, "until must be a date"),
        ]:
            assert message in await error_of(await client.post(url, json=body, headers=headers), 400), body
        start = (utcnow() + timedelta(days=1)).date()
        body = {"from": f"{start}T10:00", "until": f"{start + timedelta(days=3)}T10:00:00+00:00"}
        response = await client.post(url, json=body, headers=headers)
        assert response.status == 200, await response.text()
        window = (await response.json())["feature"]
    # Africa/Casablanca is UTC+1: 10:00 there is 09:00 UTC; an explicit offset is kept.
    assert window["from"] == f"{start}T09:00:00Z"
    assert window["until"] == f"{start + timedelta(days=3)}T10:00:00Z"


async def test_a_custom_rights_message_must_name_the_consent_hashtag(services: Services) -> None:
    seeded = await seed(services)
    story_id = seeded.stories["english"]
    async with client_for(services) as client:
        headers = await curator(services, client)
        await client.post(f"/api/stories/{story_id}/transitions", json={"to": "shortlisted"}, headers=headers)
        url = f"/api/stories/{story_id}/rights-requests"
        missing = await client.post(url, json={"message": "May we feature your post?"}, headers=headers)
        assert "must name the consent hashtag #OuiLoveLocal" in await error_of(missing, 400)
        nul = await client.post(url, json={"message": "#OuiLoveLocal \u0000"}, headers=headers)
        assert "message must not contain control characters" in await error_of(nul, 400)
        wrong_type = await client.post(url, json={"message": ["x"]}, headers=headers)
        assert "message must be a string" in await error_of(wrong_type, 400)
        too_long = await client.post(url, json={"message": "#OuiLoveLocal " + "x" * 2000}, headers=headers)
        assert "message is too long" in await error_of(too_long, 400)
        custom = await client.post(url, json={"message": "Hi! Reply #OuiLoveLocal to agree."}, headers=headers)
        assert custom.status == 201
        assert (await custom.json())["rights_request"]["message"] == "Hi! Reply #OuiLoveLocal to agree."


# --- discovered businesses and campaigns --------------------------------------------------------------


async def test_discovered_businesses_are_listed_added_merged_and_ignored(services: Services) -> None:
    names = await seed_discovered(services)
    async with client_for(services) as client:
        headers = await curator(services, client)
        listing = await (await client.get("/api/discovered")).json()
        assert [i["name"] for i in listing["items"]] == [TONTON, NAKHIL, ZINC]
        assert listing["total"] == 3
        tonton = listing["items"][0]
        assert tonton["mention_count"] == 4
        assert len(tonton["samples"]) == 3
        raw = await (await client.get("/api/discovered")).text()
        assert "<script>" not in raw  # a sample post holds a hostile text
        assert any("<script>" in s for s in tonton["samples"])

        added = await client.post(
            f"/api/discovered/{names[TONTON]}/add",
            json={"name": "Chez Tonton", "city": "Lyon", "category": "café"},
            headers=headers,
        )
        assert added.status == 201
        merchant = (await added.json())["merchant"]
        assert (merchant["name"], merchant["city"], merchant["category"]) == ("Chez Tonton", "Lyon", "café")
        again = await client.post(f"/api/discovered/{names[TONTON]}/add", json={"name": "X"}, headers=headers)
        assert "was already added" in await error_of(again, 409)

        merged = await client.post(
            f"/api/discovered/{names[NAKHIL]}/merge", json={"merchant_id": merchant["id"]}, headers=headers
        )
        assert merged.status == 200
        assert await merged.json() == {"status": "merged", "merchant": merchant}
        ignored = await client.post(f"/api/discovered/{names[ZINC]}/ignore", headers=headers)
        assert await ignored.json() == {"status": "ignored"}
        assert (await (await client.get("/api/discovered")).json())["total"] == 0
    async with services.sessions() as session:
        statuses = dict(
            (await session.execute(select(DiscoveredBusiness.display_name, DiscoveredBusiness.status))).all()
        )
        aliases = list(
            await session.scalars(select(MerchantAlias.alias).where(MerchantAlias.merchant_id == merchant["id"]))
        )
        assert await session.get(Merchant, merchant["id"]) is not None
    assert statuses == {TONTON: "added", NAKHIL: "merged", ZINC: "ignored"}
    assert NAKHIL in aliases


async def test_bad_discovered_requests_are_4xx(services: Services) -> None:
    names = await seed_discovered(services)
    zinc = names[ZINC]
    async with client_for(services) as client:
        headers = await curator(services, client)
        cases = [
            (f"/api/discovered/{zinc}/add", {}, 400, "name is required"),
            (f"/api/discovered/{zinc}/add", {"name": "   "}, 400, "name is required"),
            (f"/api/discovered/{zinc}/add", {"name": 5}, 400, "name must be a string"),
            (f"/api/discovered/{zinc}/add", {"name": "x" * 301}, 400, "name is too long"),
            (f"/api/discovered/{zinc}/add", {"name": "Zinc\u0000"}, 400, "name must not contain control characters"),
            (f"/api/discovered/{zinc}/add", {"name": "Zinc", "city": "y" * 201}, 400, "city is too long"),
            (f"/api/discovered/{zinc}/merge", {}, 400, "merchant_id is required"),
            (f"/api/discovered/{zinc}/merge", {"merchant_id": "abc"}, 400, "merchant_id must be a positive integer"),
            (f"/api/discovered/{zinc}/merge", {"merchant_id": 2**31}, 400, "merchant_id must be between"),
            (f"/api/discovered/{zinc}/merge", {"merchant_id": 4242}, 400, "merchant 4242 does not exist"),
            ("/api/discovered/abc/ignore", {}, 400, "discovered business id must be a positive integer"),
            ("/api/discovered/2147483648/ignore", {}, 400, "discovered business id must be between"),
            ("/api/discovered/4242/ignore", {}, 404, "there is no discovered business #4242"),
            ("/api/discovered/4242/add", {"name": "X"}, 404, "there is no discovered business #4242"),
        ]
        for path, body, status, message in cases:
            assert message in await error_of(await client.post(path, json=body, headers=headers), status), path
        assert "limit must be" in await error_of(await client.get("/api/discovered?limit=0"), 400)
        assert (await (await client.get("/api/discovered")).json())["total"] == 3


async def test_campaigns_list_their_hashtags_and_consent_hashtag(services: Services) -> None:
    async with client_for(services) as client:
        await curator(services, client)
        body = await (await client.get("/api/campaigns")).json()
    by_slug = {c["slug"]: c for c in body["items"]}
    assert set(by_slug) == {"lovelocal", "soutenons"}
    assert by_slug["lovelocal"]["hashtags"] == ["LoveLocal"]
    assert by_slug["lovelocal"]["consent_hashtag"] == "OuiLoveLocal"
    assert by_slug["soutenons"]["consent_hashtag"] == "OuiSoutenons"
    assert by_slug["lovelocal"]["id"] == services.campaign_ids["lovelocal"]
    assert by_slug["lovelocal"]["timezone"] == "Africa/Casablanca"
