"""What the synthetic corpus talks about: the merchant registry (names in French and Arabic script, aliases,
handles, cities, categories) and the businesses the registry lacks (found by discovery); and the small shared
pieces of the generator (row types, Zipf picks, slugs).

Pure: a seeded `random.Random` in, plain records and driver-ready row tuples out (see `bench.generate`).
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import Any

from bench import vocabulary as v
from nlp.normalise import normalise_name, strip_latin_accents
from storage.registry_csv import merchant_key
from storage.repositories._bulk import DriverValues

FRANCE, MENA = "france", "mena"
Row = tuple[Any, ...]
Tables = dict[str, list[Row]]  # table name -> rows in `bench.generate.COLUMNS` order


@dataclass
class Taken:
    """Natural keys already in the database (append mode), which new rows must not repeat."""

    merchant_keys: set[str] = field(default_factory=set)
    handles: set[tuple[str, str]] = field(default_factory=set)
    discovered: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Shop:
    """A merchant (or a discovered business when `discovered`) as the post writer needs it."""

    id: int
    group: str  # FRANCE or MENA
    name: str
    latin: str  # the Latin-script spelling (the name itself, or an alias)
    arabic: bool  # the name is in Arabic script
    aliases: tuple[str, ...]
    handles: dict[str, str]  # platform -> handle (lower case, no '@')
    website: str | None
    city: str
    city_ar: str
    category: str
    postcode: str | None = None
    region: str | None = None
    phone: str = ""
    opt_out: bool = False
    discovered: bool = False


def zipf_weights(count: int, exponent: float) -> list[float]:
    """Cumulative weights of a Zipf law over `count` ranks (pick with `pick`)."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def pick(rng: random.Random, cumulative: list[float]) -> int:
    return bisect(cumulative, rng.random() * cumulative[-1])


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _NOT_SLUG.sub("", strip_latin_accents(text).lower())


def camel(text: str) -> str:
    """'Les Trois Épis' -> 'LesTroisEpis' (how a shop's name is written as a hashtag)."""
    return "".join(w[:1].upper() + w[1:] for w in _NOT_SLUG.split(strip_latin_accents(text).lower()) if w)


# --- merchants -----------------------------------------------------------------------------------------------


def _french_name(rng: random.Random, label: str) -> str:
    roll = rng.random()
    if roll < 0.3:
        return f"{label} {rng.choice(v.FR_SURNAMES)}"
    if roll < 0.5:
        return f"{label} Les {rng.choice(v.FR_NAME_NOUNS)}"
    if roll < 0.7:
        return f"Chez {rng.choice(v.FR_FIRST)}"
    if roll < 0.85:
        return f"{label} {rng.choice(v.FR_PLACES)}"
    return f"Aux {rng.choice(v.FR_NAME_NOUNS)}"


def _english_name(rng: random.Random, category: str) -> str:
    return f"{rng.choice(v.EN_NAME_WORDS)} {rng.choice(v.EN_NAME_TAILS[category])}"


def _arabic_name(rng: random.Random, label_ar: str, label_fr: str) -> tuple[str, str]:
    """An Arabic-script name and its Latin spelling."""
    if rng.random() < 0.7:
        word, latin = rng.choice(v.AR_NAME_WORDS)
    else:
        word, latin = rng.choice(v.AR_PERSONS)
    return f"{label_ar} {word}", f"{label_fr} {latin}"


class Registry:
    """The generated merchant registry and the discovered (unregistered) businesses."""

    def __init__(
        self, rng: random.Random, count: int, discovered: int, first_id: int, first_discovered_id: int, taken: Taken
    ) -> None:
        self.shops: list[Shop] = []
        self.aliases: list[tuple[int, str, bool]] = []  # (merchant id, alias, blocked)
        self.discovered: list[Shop] = []
        self._rng = rng
        self._taken = taken
        self._keys = set(taken.merchant_keys)
        self._handles = set(taken.handles)
        for i in range(count):
            self.shops.append(self._merchant(first_id + i))
        names = set(taken.discovered) | {normalise_name(s.name) for s in self.shops}
        next_id = first_discovered_id
        for _ in range(discovered * 20):  # names run out at some point: stop rather than loop
            if len(self.discovered) >= discovered:
                break
            shop = self._business(next_id, names)
            if shop is not None:
                self.discovered.append(shop)
                next_id += 1
        self.by_group = {g: [s for s in self.shops if s.group == g] for g in (FRANCE, MENA)}
        self.discovered_by_group = {g: [s for s in self.discovered if s.group == g] for g in (FRANCE, MENA)}
        # Mentions concentrate on few shops: a Zipf law over each group, in random order.
        self.popularity = {g: zipf_weights(len(shops), 0.9) for g, shops in self.by_group.items() if shops}

    def _place(self, group: str) -> tuple[str, str, str | None, str, str, str]:
        """(city, Arabic city name, postcode, region, website suffix, phone prefix)"""
        rng = self._rng
        if group == FRANCE:
            city, prefix, region = rng.choice(v.FRANCE_CITIES)
            postcode = f"{prefix}{rng.randint(1, 20):02d}"[:5]
            return city, city, postcode, region, "fr", "+33 " + rng.choice("1234579")
        city, city_ar, prefix, region, tld, phone = rng.choice(v.MENA_CITIES)
        return city, city_ar, (f"{prefix}{rng.randint(0, 999):03d}" if prefix else None), region, tld, phone

    def _merchant(self, merchant_id: int) -> Shop:
        rng = self._rng
        group = FRANCE if rng.random() < 0.45 else MENA
        category = rng.choice(list(v.CATEGORIES))
        label_fr, label_ar, _label_en, *_ = v.CATEGORIES[category]
        city, city_ar, postcode, region, tld, phone = self._place(group)
        roll = rng.random()
        arabic = group == MENA and roll < 0.5
        if arabic:
            name, latin = _arabic_name(rng, label_ar, label_fr)
        elif roll < (0.9 if group == FRANCE else 0.8):
            name = latin = _french_name(rng, label_fr)
        else:
            name = latin = _english_name(rng, category)
        base = name
        for n in range(2, 1000):
            if merchant_key(name, postcode, city) not in self._keys:
                break
            # Two shops of one name in one place: people tell them apart by a number or a street.
            name = f"{base} {n}"
            latin = f"{latin.rsplit(' ', 1)[0] if n > 2 else latin} {n}"
        self._keys.add(merchant_key(name, postcode, city))
        aliases: list[str] = []
        if arabic:
            aliases.append(latin)
        # A shorter name people use: without the kind of shop ("Trois Épis", "Al Amal"), never "du Port".
        short = " ".join(w for w in latin.split() if w not in (label_fr, "Chez", "Les", "Aux"))
        usable = short[:1].isupper() and len(short) > 4 and normalise_name(short) != normalise_name(latin)
        if rng.random() < 0.3 and usable:
            aliases.append(short)
        for alias in aliases:
            self.aliases.append((merchant_id, alias, False))
        if rng.random() < 0.03:  # a curator's correction: this spelling is another shop
            self.aliases.append((merchant_id, f"{latin} Express", True))
        handles = self._handles_for(slug(short or latin) or f"shop{merchant_id}", group)
        site = slug(short or latin)
        website = f"https://www.{site}.{tld}" if site and rng.random() < 0.5 else None
        return Shop(
            id=merchant_id,
            group=group,
            name=name,
            latin=latin,
            arabic=arabic,
            aliases=tuple(a for a in aliases),
            handles=handles,
            website=website,
            city=city,
            city_ar=city_ar,
            category=category,
            postcode=postcode,
            region=region,
            phone=phone,
            opt_out=rng.random() < 0.03,
        )

    def _handles_for(self, base: str, group: str) -> dict[str, str]:
        rng = self._rng
        wanted = {"x": 0.6, "instagram": 0.7, "mastodon": 0.1 if group == FRANCE else 0.03, "bluesky": 0.15}
        handles: dict[str, str] = {}
        for platform, share in wanted.items():
            if rng.random() >= share:
                continue
            for n in range(1000):
                suffix = "" if n == 0 else str(n)
                if platform == "x":
                    handle = base[: 15 - len(suffix)] + suffix
                elif platform == "instagram":
                    handle = f"{base[:24]}{suffix}.shop" if rng.random() < 0.3 else base[: 30 - len(suffix)] + suffix
                elif platform == "mastodon":
                    handle = f"{base[:28]}{suffix}@{rng.choice(v.MASTODON_INSTANCES)}"
                else:
                    handle = f"{base[:40]}{suffix}.bsky.social"
                if (platform, handle) not in self._handles:
                    self._handles.add((platform, handle))
                    handles[platform] = handle
                    break
        return handles

    def _business(self, discovered_id: int, names: set[str]) -> Shop | None:
        rng = self._rng
        group = FRANCE if rng.random() < 0.45 else MENA
        category = rng.choice(list(v.CATEGORIES))
        label_fr, label_ar, *_ = v.CATEGORIES[category]
        city, city_ar, *_ = self._place(group)
        roll = rng.random()
        if group == MENA and roll < 0.4:
            name, latin = _arabic_name(rng, label_ar, label_fr)
            if rng.random() < 0.5:
                person, person_latin = rng.choice(v.AR_PERSONS)
                name, latin = f"{name} {person}", f"{latin} {person_latin}"
        elif roll < 0.6:
            name = latin = f"{label_fr} {rng.choice(v.FR_SURNAMES)}" + (" & Fils" if rng.random() < 0.3 else "")
        elif roll < 0.8:
            name = latin = f"Chez {rng.choice(v.FR_FIRST)} et {rng.choice(v.FR_FIRST)}"
        else:
            name = latin = f"Maison {rng.choice(v.FR_FIRST)} {rng.choice(v.FR_SURNAMES)}"
        normalized = normalise_name(name)
        if normalized in names:
            return None
        names.add(normalized)
        return Shop(
            discovered_id, group, name, latin, name != latin, (), {}, None, city, city_ar, category, discovered=True
        )

    def merchant_rows(self, values: DriverValues, created: datetime) -> dict[str, list[Row]]:
        rng = self._rng
        stamp = values.time(created)
        merchants: list[Row] = []
        for shop in self.shops:
            street = rng.choice(v.FR_STREETS if shop.group == FRANCE else v.MENA_STREETS)
            merchants.append(
                (
                    shop.id,
                    merchant_key(shop.name, shop.postcode, shop.city),
                    shop.name,
                    shop.website,
                    f"{rng.randint(1, 180)} {street}",
                    shop.postcode,
                    shop.city,
                    shop.region,
                    v.CATEGORIES[shop.category][0],
                    f"{shop.phone} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                    "inactive" if rng.random() < 0.03 else "active",
                    shop.opt_out,
                    stamp,
                    stamp,
                )
            )
        return {
            "merchants": merchants,
            "merchant_aliases": [(m, a, normalise_name(a), blocked) for m, a, blocked in self.aliases],
            "merchant_handles": [(s.id, p, h) for s in self.shops for p, h in s.handles.items()],
        }

    def discovered_rows(self, values: DriverValues, first_seen: datetime) -> list[Row]:
        """Discovered businesses (mention counts and first sightings are set after the posts)."""
        rng = self._rng
        rows: list[Row] = []
        stamp = values.time(first_seen)
        for shop in self.discovered:
            roll = rng.random()
            status = "pending" if roll < 0.8 else "ignored" if roll < 0.88 else "added" if roll < 0.94 else "merged"
            merchant = rng.choice(self.shops).id if status in ("added", "merged") and self.shops else None
            rows.append((shop.id, normalise_name(shop.name), shop.name, status, merchant, stamp, 0))
        return rows
