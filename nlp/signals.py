"""Story signals: what makes a post a candidate story (first-hand, grateful, recommending) or not (a complaint,
spam), and fingerprints for spotting the same text posted again.

Cues are small hand-written lexicons (French, English, Arabic with Maghrebi forms) matched on the words of
``TextParts.clean`` after case folding, accent stripping, apostrophe unification and the Arabic spelling
normalisation of ``nlp.normalise`` ("Déçu", "decu" and "DÉÇU" are one cue; "شكراً" reads "شكرا"). A cue is
a word ("merci"), a word prefix ("recommand*": recommande, recommandé, recommandation) or a phrase ("plus
jamais"); words are found by set lookup and phrases by substring search over the space-joined words, which
is several times faster than regular expressions. Arabic words are also tried without a leading و/ف (and,
so). An apostrophe ends a word: "j'ai" is the words "j'" "ai", "don't" is "don'" "t".

Posts code-switch ("Merci for the coffee", Tunisian Arabic with French), so the French and English lexicons
are read for any language and the Arabic one whenever the text holds Arabic letters; ``language`` decides
the ambiguous bits: the capital "I" and the dropped subject of English ("Loved the coffee at ...") count in
English and undetermined posts only (in French "I" is a Roman numeral: "Acte I"), lower-case "i" in English
only. A recommendation in the negative ("je ne recommande pas", "wouldn't recommend", "لا أنصح") is a
complaint. Slogans are not experience: "nos", "notre", "our" are not first-person cues.

Spam: a score in [0, 1] summed from weighted reasons (``SPAM_WEIGHTS``); ``likely_spam`` at
``SPAM_THRESHOLD``. Two reasons of some weight make spam (a crypto cue and "DM me"; a giveaway with three
links); one rarely does (a bakery that takes bitcoin, a grateful post with five hashtags, "Merci merci
merci").

Duplicates: ``fingerprint`` hashes a canonical form (links, handles, a leading "RT", emoji, punctuation,
case, accents and Arabic spelling variants removed): exact copies, retweets and the same text with other
links or other people tagged share it. ``shingles`` and ``similarity`` (Jaccard over character 5-grams of
the same canonical form) catch near copies: a word or two added scores about 0.75, the same campaign
template naming another shop about 0.65, unrelated posts under 0.1; ``NEAR_DUPLICATE`` (0.7) is the cut.

Measured on the xlm-t validation tweets (~100 characters) on a shared 2-core box where building one
``Signals`` record takes 5 us: ``story_signals`` about 50 us a post, ``fingerprint`` 25 us, ``shingles``
50 us (``split_text``: 25 us).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from nlp.results import Signals, TextParts
from nlp.text import prose

SPAM_THRESHOLD = 0.5
NEAR_DUPLICATE = 0.7
MAX_SIGNAL_CHARS = 5_000  # cues are read in the first 5,000 characters of the clean text
MAX_SHINGLE_CHARS = 5_000

SPAM_WEIGHTS: dict[str, float] = {
    "crypto_or_scam_cue": 0.4,
    "giveaway_cue": 0.3,
    "follow_bait": 0.3,
    "promo_cue": 0.15,
    "many_hashtags": 0.15,  # 5+; twice at 8+, three times at 12+
    "many_links": 0.15,  # 2; twice at 3+
    "link_farm": 0.25,  # 2+ links and at most three words of text per link
    "mass_mentions": 0.2,  # 5+ handles
    "hashtags_only": 0.15,  # 3+ hashtags and fewer than 3 words of text
    "repeated_characters": 0.1,  # "!!!!!!", "soooooo"
    "repeated_words": 0.25,  # "buy now buy now buy now"
    "shouting": 0.15,  # 70 %+ capitals over 20+ cased letters
    "emoji_flood": 0.15,  # 10+ emoji, more than words
}


_TOKEN = re.compile(r"\w+'?")


def _tokens(folded: str) -> list[str]:
    return _TOKEN.findall(folded)


@dataclass(frozen=True)
class _CueIndex:
    """Every lexicon in one index, so a post pays for three set intersections and the few cues they hit,
    not for each cue: exact words by set lookup, phrases by their first word, prefixes by one regex."""

    words: dict[str, frozenset[str]]  # word -> the cue kinds it signals
    phrases: dict[str, tuple[tuple[str, frozenset[str]], ...]]  # first word -> (" a phrase ", kinds)
    prefixes: dict[str, frozenset[str]]  # " prefix" -> kinds
    prefix_re: re.Pattern[str]

    def kinds(self, words: AbstractSet[str], joined: str) -> set[str]:
        found: set[str] = set()
        for word in self.words.keys() & words:
            found |= self.words[word]
        for word in self.phrases.keys() & words:
            for phrase, kinds in self.phrases[word]:
                if phrase in joined:
                    found |= kinds
        for match in self.prefix_re.finditer(joined):
            found |= self.prefixes[match.group()]
        return found


def _index(lexicons: dict[str, tuple[str, ...]]) -> _CueIndex:
    """Cues are "word", "prefix*" or "a phrase" (its last word may end in *), in folded spelling."""
    words: dict[str, set[str]] = {}
    phrases: dict[str, list[tuple[str, frozenset[str]]]] = {}
    prefixes: dict[str, set[str]] = {}
    for kind, specs in lexicons.items():
        for spec in specs:
            is_prefix = spec.endswith("*")
            tokens = _tokens(spec.rstrip("*"))
            if len(tokens) == 1 and not is_prefix:
                words.setdefault(tokens[0], set()).add(kind)
            elif len(tokens) == 1:
                prefixes.setdefault(" " + tokens[0], set()).add(kind)
            else:
                phrase = " " + " ".join(tokens) + ("" if is_prefix else " ")
                phrases.setdefault(tokens[0], []).append((phrase, frozenset({kind})))
    # A prefix inside a longer one signals its kinds too: the regex reports only the longest.
    for longer, kinds in prefixes.items():
        for shorter, more in prefixes.items():
            if longer != shorter and longer.startswith(shorter):
                kinds |= more
    ordered = sorted(prefixes, key=len, reverse=True)
    return _CueIndex(
        {word: frozenset(kinds) for word, kinds in words.items()},
        {word: tuple(entries) for word, entries in phrases.items()},
        {prefix: frozenset(kinds) for prefix, kinds in prefixes.items()},
        re.compile("|".join(re.escape(prefix) for prefix in ordered)),
    )


# Folding: a regex callback touches only the few characters that need it (str.translate with a dict visits
# every character and is 5x slower on a tweet).
_LATIN_FOLD = {
    **dict.fromkeys("’‘ʼ`´‛", "'"),
    **dict.fromkeys("àáâãäå", "a"),
    **dict.fromkeys("èéêë", "e"),
    **dict.fromkeys("ìíîï", "i"),
    **dict.fromkeys("òóôõöø", "o"),
    **dict.fromkeys("ùúûü", "u"),
    "ç": "c",
    "ñ": "n",
    "ÿ": "y",
    "œ": "oe",
    "æ": "ae",
    "ß": "ss",
}
_LATIN_FOLDABLE = re.compile("[" + "".join(_LATIN_FOLD) + "]")
# The same spelling normalisation as nlp.normalise.normalise_arabic (harakat, tatweel, alef forms, ة, ى, ؤ, ئ).
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"}
_ARABIC_FOLDABLE = re.compile("[" + "".join(_ARABIC_FOLD) + "]")
_ARABIC_LETTER = re.compile(
    "[\u0620-\u064a\u0671-\u06d3\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]"
)

# --- lexicons (folded: lower case, no accents, ' for every apostrophe, Arabic normalised) -----------------

_FIRST_PERSON = (
    *("j'", "je", "moi", "mon", "ma", "mes", "me", "m' a", "m' en", "m' y", "m' ont", "m' est"),
    *("nous avons", "nous sommes", "nous etions", "nous avions", "nous allons", "nous y"),
    *("on a", "on est", "on s' est", "on etait", "on avait", "on adore", "on y", "on revient", "on reviendra"),
    *("i' m", "i' ve", "i' d", "i' ll", "my", "myself", "mine", "we", "we' re", "we' ve", "we' ll"),
    *("انا", "نحن", "احنا", "عندي", "ذهبت", "رحت", "مشيت", "دخلت", "استمتعت"),
    *("اشتريت*", "شريت*", "زرت*", "جربت*", "اكلت*", "كليت*", "شربت*", "طلبت*", "وجدت*", "حبيت*", "احببت*"),
    *("اعجبني*", "عجبني*", "زرنا*", "اشترينا*", "شرينا*", "جربنا*", "اكلنا*"),
)
_ENGLISH_I = re.compile(r"(?<![\w'])I(?!\w)")
_LOWER_I = re.compile(r"(?<![\w'])i(?![\w.])")
# English posts drop the subject: "Loved the coffee at ...", "Just had the best croissant".
_DROPPED_I = re.compile(
    r"(?:^|[.!?] )(?:just |finally |so )?(?:loved|tried|had|visited|bought|went|stopped by|popped in"
    r"|picked up|grabbed|discovered|found|enjoyed|ordered)\b"
)
_GRATITUDE = (
    *("merci", "mercii*", "remerci*", "reconnaissant", "reconnaissante", "reconnaissants", "gratitude"),
    *("thanks", "thank you", "thank u", "thankful", "thx", "grateful", "appreciate", "appreciated"),
    *("shoutout", "shout out", "kudos"),
    *("شكرا", "الشكر", "اشكر*", "نشكر*", "مشكور*", "ممنون*", "يعطيك الصحه", "يعطيكم الصحه", "يعطيك العافيه"),
    *("يعطيكم العافيه", "بارك الله", "الله يبارك*", "تسلم ايد*", "تسلم يد*"),
)
_RECOMMENDATION = (
    *("recommand*", "je conseille", "je vous conseille", "je te conseille", "a tester", "a decouvrir"),
    *("a essayer", "a visiter", "allez y", "foncez", "incontournable*", "coup de coeur", "bonne adresse"),
    *("belle adresse", "super adresse", "adresse a retenir", "n' hesitez pas"),
    *("recommend*", "must try", "must visit", "must see", "must have", "hidden gem", "worth a visit"),
    *("worth the visit", "worth the trip", "worth a stop", "don' t miss", "you have to try", "you need to try"),
    *("you have to visit", "go check", "check them out", "go visit", "go try"),
    *("انصح*", "ننصح*", "لا يفوتك*", "لا تفوت*", "جربوا", "زوروا"),
)
_NOT_RECOMMENDED = (
    *("ne recommande pas", "ne vous recommande pas", "ne le recommande pas", "ne la recommande pas"),
    *("ne recommande plus", "ne recommande jamais", "ne recommanderai pas", "ne recommanderais pas"),
    *("deconseill*", "pas a recommander", "pas du tout a recommander"),
    *("not recommend*", "never recommend*", "don' t recommend*", "dont recommend*", "wouldn' t recommend*"),
    *("would not recommend*", "won' t recommend*", "can' t recommend*", "cannot recommend*", "do not recommend*"),
    *("لا انصح*", "لا ننصح*", "ما ننصح*", "ما نصحش*", "ما ننصحش*"),
)
_COMPLAINT = (
    *("decu", "decue", "decus", "decues", "decevant*", "deception*", "arnaqu*", "plus jamais", "a eviter"),
    *("inadmissible", "honteux", "honteuse", "scandal*", "mal accueilli*", "mal servi*", "mal recu*"),
    *("desagreable*", "impoli*", "horrible*", "catastroph*", "nul", "nulle", "nuls", "pire", "mauvais"),
    *("mauvaise", "disappoint*", "never again", "scam*", "rip off", "ripoff", "rude", "terrible", "awful"),
    *("worst", "avoid", "overpriced", "not worth", "refund*", "waste of money", "waste of time"),
    *("poor service", "bad service", "poor quality", "bad quality"),
    *("سيء*", "سيي*", "نصاب*", "احتيال", "محتال*", "مخيب*", "خيبه", "خايب*", "اسوا", "رديء*", "رديي*"),
    *("وسخ*", "قذر*", "مقرف*", "غش", "لن اعود", "ما نعاودش", "مش باهي", "موش باهي"),
)
_QUESTION = (
    *("est ce qu*", "quelqu' un connait", "quelqu' un sait", "quelqu' un aurait"),
    *("does anyone", "has anyone", "anyone know*", "any recommendations"),
    *("هل", "لماذا", "متى", "اين", "علاش", "شكون"),
)
_QUESTION_MARKS = frozenset("?؟¿⁇⁈")

_CRYPTO_OR_SCAM_CUE = (
    *("crypto*", "bitcoin*", "btc", "ethereum", "nft", "nfts", "airdrop*", "forex", "binance", "usdt", "web3"),
    *("onlyfans", "passive income", "double your", "بيتكوين", "عملات رقميه", "ربح مضمون", "استثمار مضمون"),
)
_EARN = re.compile(r"\b(?:earn|make|gagne[rz]?) (?:up to )?[$€£]?\d")
_GIVEAWAY_CUE = (
    *("giveaway", "giveaways", "jeu concours", "a gagner", "gagnez", "tirage au sort", "win a", "win an"),
    *("win free", "free gift", "free iphone", "free followers", "free money", "مسابقه", "اربح", "سحب على"),
)
_FOLLOW_BAIT = (
    *("follow back", "follow me", "follow us", "f4f", "l4l", "follow rt", "follow and rt", "follow retweet"),
    *("follow like", "follow and share", "follow et rt", "rt follow", "rt and follow", "rt et follow"),
    *("dm me", "dm us", "dm for", "link in bio", "link in profile", "lien en bio", "lien dans la bio"),
    *("lien dans ma bio", "click the link", "click my link", "click this link", "cliquez ici", "tag 3 friends"),
    *("tag three friends", "identifie 3 amis", "identifiez 3 amis", "identifie tes amis", "identifiez vos amis"),
    *("تابعني", "تابعونا"),
)
_PROMO_CUE = (
    *("promo code", "promocode", "code promo", "discount code", "buy now", "shop now", "order now"),
    *("achetez maintenant", "خصم", "تخفيض"),
)
_CUES = _index(
    {
        "first_person": _FIRST_PERSON,
        "gratitude": _GRATITUDE,
        "recommendation": _RECOMMENDATION,
        "not_recommended": _NOT_RECOMMENDED,
        "complaint": _COMPLAINT,
        "question": _QUESTION,
        "crypto_or_scam_cue": _CRYPTO_OR_SCAM_CUE,
        "giveaway_cue": _GIVEAWAY_CUE,
        "follow_bait": _FOLLOW_BAIT,
        "promo_cue": _PROMO_CUE,
    }
)
_PERCENT_OFF = re.compile(r"\d ?% (?:off|de reduction|de remise)")
_REPEATED_CHAR = re.compile(r"(.)\1{5,}")
_DIGIT = re.compile(r"\d")


def story_signals(parts: TextParts, language: str, *, has_media: bool, named_merchant: bool) -> Signals:
    """The story signals of one analysed post (``language`` as ``LanguageDetector.detect`` gave it)."""
    clean = parts.clean[:MAX_SIGNAL_CHARS]
    folded, arabic = _fold(clean)
    tokens = _tokens(folded)
    joined = " " + " ".join(tokens) + " "
    if arabic:  # also try each Arabic word without a leading و / ف
        bare = [t[1:] if len(t) > 3 and t[0] in "وف" else t for t in tokens]
        words = frozenset(tokens + bare)
        joined += " ".join(bare) + " "
    else:
        words = frozenset(tokens)
    kinds = _CUES.kinds(words, joined)

    first_person = "first_person" in kinds
    if not first_person and language in ("en", "und"):
        first_person = bool(
            _ENGLISH_I.search(clean) or _DROPPED_I.search(folded) or (language == "en" and _LOWER_I.search(clean))
        )
    recommendation = "recommendation" in kinds
    complaint = "complaint" in kinds
    if "not_recommended" in kinds:
        recommendation, complaint = False, True
    question = "question" in kinds or not _QUESTION_MARKS.isdisjoint(clean)

    score, reasons = _spam(parts, clean, folded, tokens, kinds)
    return Signals(
        first_person=first_person,
        gratitude="gratitude" in kinds,
        recommendation=recommendation,
        question=question,
        complaint=complaint,
        named_merchant=named_merchant,
        has_media=has_media,
        length=len(parts.clean),
        hashtag_count=len(parts.hashtags),
        link_count=len(parts.urls),
        spam_score=score,
        likely_spam=score >= SPAM_THRESHOLD,
        reasons=reasons,
    )


def _spam(
    parts: TextParts, clean: str, folded: str, tokens: list[str], kinds: set[str]
) -> tuple[float, tuple[str, ...]]:
    found: list[str] = []
    score = 0.0

    def add(reason: str, times: int = 1) -> None:
        nonlocal score
        found.append(reason)
        score += SPAM_WEIGHTS[reason] * times

    if "crypto_or_scam_cue" in kinds or (_has_digit(folded) and _EARN.search(folded)):
        add("crypto_or_scam_cue")
    if "giveaway_cue" in kinds:
        add("giveaway_cue")
    if "follow_bait" in kinds:
        add("follow_bait")
    if "promo_cue" in kinds or ("%" in folded and _PERCENT_OFF.search(folded)):
        add("promo_cue")
    tags, links = len(parts.hashtags), len(parts.urls)
    if tags >= 5:
        add("many_hashtags", 3 if tags >= 12 else 2 if tags >= 8 else 1)
    if links >= 2:
        add("many_links", 2 if links >= 3 else 1)
    if len(parts.handles) >= 5:
        add("mass_mentions")
    text_words = len(tokens) - sum(len(_tokens(tag)) for tag in parts.hashtag_words)
    if links >= 2 and text_words <= 3 * links:
        add("link_farm")
    if tags >= 3 and text_words < 3:
        add("hashtags_only")
    if _REPEATED_CHAR.search(clean):
        add("repeated_characters")
    if _repeated_words(tokens):  # hashtag words included: "#win #win #win" repeats too
        add("repeated_words")
    if _shouting(clean):
        add("shouting")
    if len(parts.emoji) >= 10 and len(parts.emoji) > text_words:
        add("emoji_flood")
    return round(min(1.0, score), 3), tuple(found)


def _repeated_words(words: list[str]) -> bool:
    """A word or a phrase of up to three words said three times running ("buy now buy now buy now"), or one
    word of two letters or more making a third of a text of nine words or more."""
    if len(words) - len(set(words)) < 2:  # nothing can be said three times
        return False
    top = Counter(words).most_common(2)
    if not top or top[0][1] < 3:  # nothing said three times: neither rule can hold
        return False
    for period in (1, 2, 3):
        run = 0
        for i in range(period, len(words)):
            run = run + 1 if words[i] == words[i - period] else 0
            if run >= 2 * period:
                return True
    if len(words) >= 9:
        count = next((n for word, n in top if len(word) > 1), 0)
        return count * 3 >= len(words)
    return False


def _shouting(text: str) -> bool:
    if len(text) < 20 or text.islower():
        return False
    upper = sum(map(str.isupper, text))
    if upper < 14:
        return False
    cased = upper + sum(map(str.islower, text))
    return cased >= 20 and upper >= 0.7 * cased


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


def _fold(text: str) -> tuple[str, bool]:
    """Case, accents, apostrophes and Arabic spelling folded; and whether the text holds Arabic letters."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _LATIN_FOLDABLE.sub(lambda m: _LATIN_FOLD[m.group()], folded)
    arabic = _ARABIC_LETTER.search(folded) is not None
    if arabic:
        folded = _ARABIC_FOLDABLE.sub(lambda m: _ARABIC_FOLD[m.group()], _ARABIC_MARKS.sub("", folded))
    elif "`" in folded:
        folded = folded.replace("`", "'")
    return folded, arabic


# --- duplicates ------------------------------------------------------------------------------------------

_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[\W_]+")


def _canonical(text: str) -> str:
    """Links, handles, emoji, punctuation, case, accents and Arabic spelling variants gone, and a leading
    "rt" (a retweet of a text is that text). Hashtags stay as their words."""
    body = prose(text[: MAX_SHINGLE_CHARS * 2], hashtags=True)[:MAX_SHINGLE_CHARS]
    if not body.isascii():
        body = _COMBINING.sub("", unicodedata.normalize("NFKD", body))
    folded, _ = _fold(body)
    words = _NON_WORD.sub(" ", folded).split()
    if words and words[0] == "rt":
        del words[0]
    return " ".join(words)


def fingerprint(text: str) -> str:
    """A hash of the canonical text (see the module notes): equal for exact copies, retweets and the same text
    with other links or handles. "" when nothing is left to compare (only links, handles or emoji): never
    take two "" for duplicates."""
    canonical = _canonical(text)
    if not canonical:
        return ""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str, k: int = 5) -> frozenset[int]:
    """The character ``k``-grams of the canonical text as crc32 values (stable across processes, so they can
    be stored). A canonical text of ``k`` characters or fewer is its own single shingle; none is empty."""
    if k < 1:
        raise ValueError(f"shingles needs k >= 1, got {k}")
    canonical = _canonical(text)
    if not canonical:
        return frozenset()
    data = canonical.encode("utf-32-le")  # 4 bytes a character: a k-gram is a fixed-width slice
    if len(canonical) <= k:
        return frozenset((zlib.crc32(data),))
    width = 4 * k
    return frozenset(zlib.crc32(data[i : i + width]) for i in range(0, len(data) - width + 4, 4))


def similarity(a: AbstractSet[int] | Iterable[int], b: AbstractSet[int] | Iterable[int]) -> float:
    """Jaccard similarity of two shingle sets, 0.0 to 1.0; 0.0 when either is empty (nothing to compare).
    At ``NEAR_DUPLICATE`` or above, the two texts are near copies."""
    first = a if isinstance(a, AbstractSet) else frozenset(a)
    second = b if isinstance(b, AbstractSet) else frozenset(b)
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)
