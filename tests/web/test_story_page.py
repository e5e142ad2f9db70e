"""The story page over a real loopback socket, on SQLite and PostgreSQL: the analysis explained, the whole
shortlist → rights request → consent reply → feature flow through its forms and the real stories job, undo,
and refusals shown on the page with the reason and the curator's input kept.
"""

from __future__ import annotations

import re
from html import unescape

from jobs import stories as stories_job
from jobs.services import Services
from tests.web.curation_setup import (
    PageText,
    client_for,
    consent_reply,
    make_user,
    only_external_scripts,
    page,
    post_form,
    seed,
    sign_in,
    signed_in_curator,
)

# --- the story page -----------------------------------------------------------------------------------


async def test_the_story_page_explains_the_story(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    async with client_for(services) as client:
        await signed_in_curator(services, client)
        html = await page(client, f"/stories/{good}")
    text = PageText(html).text
    only_external_scripts(html)
    assert "Story #" in text
    assert "J'adore la Boulangerie Amal, merci pour l'accueil ! #LoveLocal" in text
    assert "Language French (confidence 90%)" in text
    assert "Sentiment positive (+0.80)" in text
    assert "first-hand experience: yes" in text
    assert "complaint: no" in text
    assert "Boulangerie Amal shop account handle 0.95" in text  # the mention: name, surface, method, score
    assert "This merchant accepts being featured." in text
    assert "Casablanca" in text
    assert re.search(r"linked merchant \d\.\d{3} 0\.20", text)
    assert "author diversity (penalty) × 1.00" in text
    assert re.search(r"new → candidate automatic scored 0\.\d\d", text)
    assert "Duplicates and reposts grouped under this story (1)" in text
    assert f'href="/stories/{seeded.stories["duplicate"]}"' in html
    for action in ("/move", "/undo"):
        assert f'action="/stories/{good}{action}"' in html
    assert f'action="/stories/{good}/feature"' not in html  # not before rights are granted

    async with client_for(services) as client:
        await make_user(services, "other@example.org")
        await sign_in(client, "other@example.org")
        duplicate = PageText(await page(client, f"/stories/{seeded.stories['duplicate']}")).text
        assert "Not a candidate: the same text as an earlier story." in duplicate
        assert "there is no story #99999" in await page(client, "/stories/99999", 404)
        assert "story id must be a positive integer" in await page(client, "/stories/abc", 400)
        assert "story id must be between 1 and 2147483647" in await page(client, "/stories/2147483648", 400)


async def test_from_shortlist_to_featured_through_the_story_page(services: Services) -> None:
    seeded = await seed(services)
    good = seeded.stories["good"]
    url = f"/stories/{good}"
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        await post_form(client, f"{url}/move", {"csrf_token": token, "to": "shortlisted"})
        html = await page(client, url)
        assert "The story is shortlisted." in PageText(html).text
        message = unescape(re.search(r'<textarea id="r-message"[^>]*>([^<]*)</textarea>', html).group(1))  # type: ignore[union-attr]
        assert "@user9001" in message
        assert "#OuiLoveLocal" in message

        await post_form(client, f"{url}/rights-request", {"csrf_token": token, "message": message})
        html = await page(client, url)
        text = PageText(html).text
        assert "Rights requested (consent hashtag #OuiLoveLocal" in text
        assert "waiting for the author" in text
        assert 'href="https://twitter.com/intent/tweet?in_reply_to=1009001&amp;text=' in html
        assert "Withdraw the rights request" in text

        await consent_reply(services, seeded.posts["good"], "Oui, avec plaisir #OuiLoveLocal", 9201)
        await stories_job.run(services)
        html = await page(client, url)
        assert 'class="state rights_granted"' in html
        assert 'href="https://example.test/status/9201"' in html  # the evidence
        start = re.search(r'name="from" type="datetime-local" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        until = re.search(r'name="until" type="datetime-local" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]

        await post_form(client, f"{url}/feature", {"csrf_token": token, "from": start, "until": until})
        text = PageText(await page(client, url)).text
        assert "The story is featured from" in text
        assert "rights granted → featured curator@example.org featured from" in text
        feed = await (await client.get("/feed/featured.json")).json()
        assert [item["story_id"] for item in feed["items"]] == [good]

        await post_form(client, f"{url}/undo", {"csrf_token": token})
        assert 'class="state rights_granted"' in await page(client, url)


async def test_refusals_show_the_page_again_with_the_reason(services: Services) -> None:
    seeded = await seed(services)
    story = seeded.stories["opted_out"]
    url = f"/stories/{story}"
    async with client_for(services) as client:
        token = await signed_in_curator(services, client)
        await post_form(client, f"{url}/move", {"csrf_token": token, "to": "shortlisted"})
        custom = await post_form(
            client, f"{url}/rights-request", {"csrf_token": token, "message": "Vous êtes d'accord ?"}, status=400
        )
        html = await custom.text()
        assert "must name the consent hashtag #OuiLoveLocal" in html
        assert "Vous êtes d&#39;accord ?</textarea>" in html  # the curator's text is kept
        await post_form(client, f"{url}/rights-request", {"csrf_token": token})  # empty: the suggested message
        await consent_reply(services, seeded.posts["opted_out"], "#OuiLoveLocal", 9202)
        await stories_job.run(services)
        assert "This merchant opted out of being featured" in await page(client, url)

        refused = await post_form(client, f"{url}/feature", {"csrf_token": token, "from": "", "until": ""}, status=409)
        text = PageText(await refused.text()).text
        assert "merchant 'Épicerie Discrète' opted out of being featured" in text
        assert 'class="state rights_granted"' in await refused.text()

        no_reason = await post_form(client, f"{url}/move", {"csrf_token": token, "to": "rejected"}, status=400)
        assert "Rejecting needs a reason" in await no_reason.text()
        wrong = await client.post(f"{url}/move", data={"csrf_token": token, "to": "featured"}, allow_redirects=False)
        assert wrong.status == 400
        bad_window = await post_form(client, f"{url}/feature", {"csrf_token": token, "from": "someday"}, status=400)
        assert "from must be a date" in await bad_window.text()
