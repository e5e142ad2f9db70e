"""What the synthetic posts say (`bench.generate`): a text from `bench.vocabulary`'s templates naming a merchant
the way people do (name, alias, @handle, #hashtag, website, a misspelling), and what the analysis would find in
it: the merchant links with their spans, language, sentiment, story signals and the fingerprint.

Pure, and driven by the corpus's one `random.Random`: the calls happen in a fixed order, so a seed gives the
same texts every time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench import vocabulary as v
from bench.population import FRANCE, MENA, Registry, Shop, camel, pick
from nlp.signals import fingerprint

T = TypeVar("T")
# A link found in a text: (merchant id, discovered id, surface, method, score, start, end).
Link = tuple[int | None, int | None, str, str, float, int | None, int | None]
_SENTIMENT = {  # text kind -> cumulative (negative, neutral, positive)
    "experience": (0.03, 0.15),
    "recommendation": (0.02, 0.12),
    "complaint": (0.85, 0.95),
    "question": (0.1, 0.8),
    "news": (0.05, 0.85),
    "spam": (0.0, 0.6),
    "reply": (0.1, 0.5),
}
_TRAILING = ".,!?:;)(\"'"


@dataclass(slots=True)  # not frozen: frozen dataclasses are slow to build
class Content:
    text: str
    language: str
    hashtags: list[str]
    handles: list[str]
    urls: list[str]
    links: list[Link]
    flags: str  # the template's signal flags (see bench.vocabulary)
    text_kind: str
    shop: Shop | None


class Writer:
    def __init__(self, rng: random.Random, registry: Registry, json: Callable[[Any], Any]) -> None:
        self._rng = rng
        self._registry = registry
        self._json = json

    def shop(self, group: str) -> Shop:
        """A registry merchant of `group`, the popular ones far more often."""
        registry = self._registry
        if registry.by_group[group]:
            return registry.by_group[group][pick(self._rng, registry.popularity[group])]
        return self._rng.choice(registry.shops)

    def compose(
        self,
        text_kind: str,
        language: str,
        tags: Sequence[str],
        group: str,
        platform: str,
        shop: Shop | None,
        prefix: str,
    ) -> Content:
        """A post's text from a template, and the merchant links an analysis would find in it."""
        rng = self._rng
        r = rng.random
        template, flags = pick_one(r, v.TEMPLATES[language][text_kind])
        needs_shop = "{m}" in template
        if shop is None:
            # Some posts name a business the registry lacks; the rest a registry merchant (also the context
            # of templates naming none: its city, its kind of shop, its products).
            discovered = self._registry.discovered_by_group[group]
            shop = pick_one(r, discovered) if needs_shop and discovered and r() < 0.08 else self.shop(group)
        category = v.CATEGORIES[shop.category]
        index = {"fr": 0, "ar": 1, "en": 2}[language]
        product = pick_one(r, category[3 + index])
        appraisal = pick_one(r, v.FR_APPRAISALS if language == "fr" else v.AR_APPRAISALS if language == "ar" else
                               v.EN_APPRAISALS)  # fmt: skip
        companion = pick_one(r, v.FR_COMPANIONS if language == "fr" else v.AR_COMPANIONS if language == "ar" else
                               v.EN_COMPANIONS)  # fmt: skip
        if text_kind == "complaint":
            emoji = pick_one(r, v.NEGATIVE_EMOJI)
        elif text_kind == "news":
            emoji = pick_one(r, v.NEUTRAL_EMOJI)
        else:
            emoji = pick_one(r, v.POSITIVE_EMOJI)
        campaign_tag = pick_one(r, tags)
        spam_tags = ""
        if text_kind == "spam":
            picked = rng.sample(v.SPAM_TAGS, rng.randint(5, 9))
            spam_tags = " ".join(f"#{t}" for t in picked)
            link = f"{pick_one(r, v.SPAM_SITES)}{int(r() * 36**6):x}"
        elif text_kind == "news":
            link = f"{pick_one(r, v.NEWS_SITES)}{int(r() * 10**6)}"
        else:
            link = ""
        city = shop.city_ar if language == "ar" and shop.group == MENA else shop.city
        slots = {
            "m": "\x00",
            "p": product,
            "a": appraisal,
            "c": city,
            "w": companion,
            "cat": category[1] if language == "ar" else category[0].lower() if language == "fr" else category[2],
            "e": emoji,
            "n": str(12 + int(r() * 469)),
            "tag": f"#{campaign_tag}",
            "url": link,
            "spamtags": spam_tags,
        }
        body = template.format_map(slots)
        links: list[Link] = []
        if needs_shop:
            surface, method, score, offset, span = self._surface(shop, language, platform)
            at = body.index("\x00")
            body = body.replace("\x00", surface)
            start = len(prefix) + at + offset
            if shop.discovered:
                # Discovery finds it by a cue ("chez ...") or as a named entity.
                cue = body[:at].endswith(("chez ", "Chez ", "at "))
                links.append(
                    (None, shop.id, surface, "cue" if cue else "ner", 0.7 if cue else 0.55, start, start + span)
                )
            elif method == "domain":
                links.append((shop.id, None, surface, method, score, None, None))
            else:
                links.append((shop.id, None, surface[offset:], method, score, start, start + span))
        if "{tag}" not in template:
            body = f"{body} #{campaign_tag}" if text_kind != "reply" or r() < 0.6 else body
        extra = r()
        if extra < 0.35 and text_kind != "spam":
            pool = v.FR_EXTRA_TAGS if shop.group == FRANCE else v.MENA_EXTRA_TAGS
            body += " " + " ".join(f"#{t}" for t in rng.sample(pool, 1 + int(extra * 6)))
        text = prefix + body
        # Hashtags, handles and links in reading order, as the parsers list them.
        words = text.split()
        hashtags = [w[1:].rstrip(_TRAILING) for w in words if w.startswith("#") and len(w) > 1]
        handles = [w[1:].rstrip(_TRAILING) for w in words if w.startswith("@") and len(w) > 1]
        urls = [w.rstrip(_TRAILING) for w in words if w.startswith("https://")]
        return Content(text, language, hashtags, handles, urls, links, flags, text_kind, shop)

    def _surface(self, shop: Shop, language: str, platform: str) -> tuple[str, str, float, int, int]:
        """How the post names `shop`: (text inserted, method, score, offset of the span in it, span length)."""
        rng = self._rng
        roll = rng.random()
        handle = shop.handles.get(platform)
        if shop.discovered:
            name = shop.name if language == "ar" or not shop.arabic else shop.latin
            return name, "ner", 0.55, 0, len(name)
        if handle is not None and roll < 0.18:
            return f"@{handle}", "handle", 0.99, 1, len(handle)
        if roll < 0.23:
            tag = camel(shop.latin)
            return f"#{tag}", "hashtag", 0.95, 1, len(tag)
        if shop.website is not None and roll < 0.27:
            return shop.website, "domain", 0.97, 0, len(shop.website)
        if roll < 0.3 and len(shop.latin) > 6:
            cut = rng.randrange(2, len(shop.latin) - 1)
            typo = shop.latin[:cut] + shop.latin[cut + 1 :]
            return typo, "fuzzy", round(0.75 * rng.uniform(85, 97) / 100, 3), 0, len(typo)
        if shop.aliases and (roll < 0.45 or (shop.arabic and language != "ar")):
            alias = pick_one(rng.random, shop.aliases)
            return alias, "alias", 0.85, 0, len(alias)
        return shop.name, "name", 0.9, 0, len(shop.name)

    def analysis(self, content: Content) -> tuple[str, float, str, float]:
        """Language, confidence, sentiment and its score, as the analysis would find them."""
        r = self._rng.random
        language = content.language
        if content.text_kind == "spam" and r() < 0.3:
            language = "und"
        confidence = round(0.6 + 0.39 * r(), 3)
        negative, neutral = _SENTIMENT[content.text_kind]
        roll = r()
        if roll < negative:
            sentiment, score = "negative", -round(0.3 + 0.65 * r(), 3)
        elif roll < neutral:
            sentiment, score = "neutral", round(0.5 * r() - 0.25, 3)
        else:
            sentiment, score = "positive", round(0.3 + 0.65 * r(), 3)
        return language, confidence, sentiment, score

    def signals(self, content: Content, has_media: bool) -> tuple[Any, float, str]:
        """The story signals and fingerprint as a JSON column value, the spam score, the fingerprint."""
        rng = self._rng
        flags = content.flags
        reasons: tuple[str, ...] = ()
        spam = 0.0
        if content.text_kind == "spam":
            reasons = tuple(rng.sample(("crypto_or_scam_cue", "giveaway_cue", "follow_bait", "many_hashtags",
                                        "many_links", "repeated_characters", "emoji_flood"), 2))  # fmt: skip
            spam = round(rng.uniform(0.5, 1.0), 2)
        elif len(content.hashtags) >= 5:
            reasons, spam = ("many_hashtags",), 0.15
        text_fingerprint = fingerprint(content.text)
        # The keys of nlp.results.Signals, in order, then the fingerprint: what jobs.analyse.record stores.
        stored = self._json(
            {
                "first_person": "f" in flags,
                "gratitude": "g" in flags,
                "recommendation": "r" in flags,
                "question": "q" in flags,
                "complaint": "c" in flags,
                "named_merchant": any(link[0] is not None for link in content.links),
                "has_media": has_media,
                "length": len(content.text),
                "hashtag_count": len(content.hashtags),
                "link_count": len(content.urls),
                "spam_score": spam,
                "likely_spam": spam >= 0.5,
                "reasons": reasons,
                "fingerprint": text_fingerprint,
            }
        )
        return stored, spam, text_fingerprint


def pick_one(r: Callable[[], float], items: Sequence[T]) -> T:
    """`random.choice` at a quarter of its cost (the generator's hot path makes millions of choices)."""
    return items[int(r() * len(items))]


def shifted(content: Content, prefix: str) -> Content:
    """A repost's content: the original's text behind `prefix`, its links moved along."""
    if not prefix:
        return content
    shift = len(prefix)
    links = [
        (m, d, surface, method, score, None if s is None else s + shift, None if e is None else e + shift)
        for m, d, surface, method, score, s, e in content.links
    ]
    handles = [prefix[4:-2], *content.handles]
    return Content(
        prefix + content.text, content.language, content.hashtags, handles, content.urls, links, content.flags,
        content.text_kind, content.shop,
    )  # fmt: skip
