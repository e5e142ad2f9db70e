"""Text → feature strings for the sentiment model, shared by training (scripts/train_sentiment.py) and inference.

One function, `features(text)`, turns any string into the bag of feature strings the linear model scores:
character 2-5-grams inside word boundaries (robust to spelling, elongation and Arabic morphology), word
unigrams and bigrams, negation-scoped words, and emoji/emoticon polarity tokens. Training and inference
call the same code, so the features the shipped weights were fitted on are exactly the ones predicted on.

Normalisation before that: invalid surrogates and control characters become spaces, the text is capped at
`MAX_CHARS` (sentiment of a post is decided long before; this bounds the cost of a 100k-character input),
literal `\\uXXXX` escapes (as in the SemEval English dump) and HTML entities are decoded, NFKC, casefold,
Latin accents stripped, Arabic normalised (`nlp.normalise.normalise_arabic`), any @handle becomes `@user`,
any URL `http` (the placeholders of the training data), and letters repeated 3+ times are squashed to two
("soooo" → "soo", "ههههه" → "هه").

Emoji are strong signals but rare in the training tweets, so besides the emoji itself (a word token), each
emoji or emoticon in `POSITIVE_EMOJI` / `NEGATIVE_EMOJI` also emits a shared polarity token (`<e+>` /
`<e->`) whose weight is learned from every language's examples together.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Mapping

from nlp.normalise import normalise_arabic

MAX_CHARS = 5_000
CHAR_MIN, CHAR_MAX = 2, 5

# Lone surrogates (invalid in UTF-8), C0/C1 control characters except tab/newline, and the BOM.
_UNSAFE = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttps?\b")  # applied after casefold
_HANDLE = re.compile(r"(?<!\w)@\w+")
_REPEAT = re.compile(r"(\D)\1{2,}")
# Accents off in one pass: every precomposed Latin letter (U+00C0-U+024F) → its letters without marks, combining
# marks (U+0300-U+036F) deleted; same result as nlp.normalise.strip_latin_accents on NFKC text, several times faster.
_FOLD_EXTRA = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}
_ACCENTS = str.maketrans(
    {
        **{chr(c): None for c in range(0x300, 0x370)},
        **{
            chr(c): "".join(ch for ch in unicodedata.normalize("NFKD", chr(c)) if not unicodedata.combining(ch))
            for c in range(0xC0, 0x250)
        },
        **_FOLD_EXTRA,
    }
)
# Tokens: @user, #hashtags and words (apostrophes kept inside: "aujourd'hui", "don't"), or any single symbol.
_TOKEN = re.compile(r"[@#]?\w+(?:['’]\w+)*|[^\w\s]")
_EMOTICON = re.compile(r"(?<!\S)(?:[:;=]-?[)\]dp*]+|<3+|\^\^|[(\[]+-?[:;=]|[:;=]-?[(\[/\\|]+|</3)(?!\S)")
_EMOTICON_MARKS = (":", ";", "=", "<", "^")
_SAD_EMOTICON = re.compile(r"^(?:[:;=]-?[(\[/\\|]+|</3)$")
_PUNCT_END = frozenset('.,;:!?()[]"«»…')

# Hand-picked emoji with a clear polarity in everyday use (variation selectors are stripped before lookup).
# 😂 and 😭 are deliberately absent: in the training tweets they appear equally in all three classes.
POSITIVE_EMOJI = frozenset(
    "❤♥💕💖💗💓💞💘💝💟😍🥰😘😻😊☺🙂😀😃😄😁😆🤗👍👏🙌💪🎉🎊🥳✨🌟⭐💯✅👌🙏😋🤩💐🌹🌸🌷🏆🥇😇😉😎😌💚💙💜🧡💛🤍🤎"
)
NEGATIVE_EMOJI = frozenset("😡😠🤬👎💔😞😔😟😢😥😰😱😨😩😫😤🙁☹😒😕🤮🤢💩😖😣😪🤦🙄😑😐😬❌🚫⛔😾😿")
_NEGATION_WORDS = (
    # fr
    "ne n pas jamais rien aucun aucune personne ni sans plus guère "
    # en
    "not no never nothing nobody none nor without cannot cant dont doesnt didnt isnt arent wasnt werent "
    "wont wouldnt shouldnt couldnt aint hardly "
    # ar (normalised): la, ma, lam, lan, laysa, mish, mu, mub, bala, ghayr, mafi
    "لا ما لم لن ليس ليست مش مو مب بلا غير مافي مفيش"
)
_NEGATIONS = frozenset(_NEGATION_WORDS.split())
_NEGATION_SCOPE = 3


def clean(text: str) -> str:
    """Safe, normalised form of any string (see the module docstring); never raises on str input."""
    text = _UNSAFE.sub(" ", text[: MAX_CHARS * 2])
    if "\\u" in text:
        text = _ESCAPE.sub(_unescape, text)
        # "\ud83d\ude00" escapes decode to a surrogate pair: join it, and drop whatever stays unpaired.
        text = _UNSAFE.sub(" ", text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))
    if "&" in text:
        text = html.unescape(text)
    text = text[:MAX_CHARS]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").replace("\ufe0e", "")
    text = text.casefold()
    # The cheap `in` tests skip regexes that would find nothing (most posts have no URL, handle or emoticon).
    if "http" in text or "www." in text:
        text = _URL.sub(" http ", text)
    if "@" in text:
        text = _HANDLE.sub(" @user ", text)
    if not text.isascii():
        # Accents off (as nlp.normalise.strip_latin_accents, faster), Arabic spelling variants unified.
        text = normalise_arabic(text.translate(_ACCENTS))
    text = _REPEAT.sub(r"\1\1", text)
    return " ".join(text.split())


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def char_grams(word: str) -> list[str]:
    """Character 2-5-grams of one word padded with spaces (" word "), so word edges are features."""
    padded = f" {word} "
    size = len(padded)
    return [padded[i : i + n] for n in range(CHAR_MIN, min(CHAR_MAX, size) + 1) for i in range(size - n + 1)]


def word_features(cleaned: str, lexicon: Mapping[str, str] | None = None) -> list[str]:
    """Word unigrams and bigrams, `!`-prefixed words inside a negation's scope, emoji and lexicon polarity tokens.

    `lexicon` maps a (cleaned) word to its polarity token (e.g. "<l+>"); a word in a negation's scope emits the
    token `!`-prefixed, so the model learns what negation does to it.
    """
    if any(mark in cleaned for mark in _EMOTICON_MARKS):
        cleaned = _EMOTICON.sub(_emoticon_token, cleaned)
    tokens = _TOKEN.findall(cleaned)
    feats = [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]
    scope = 0
    for token in tokens:
        if token in _PUNCT_END:
            scope = 0
        polarity = lexicon.get(token) if lexicon else None
        if scope:
            feats.append("!" + token)
            if polarity:
                feats.append("!" + polarity)
            scope -= 1
        elif polarity:
            feats.append(polarity)
        if token in _NEGATIONS or token.endswith("n't"):
            scope = _NEGATION_SCOPE
        if len(token) == 1:
            if token in POSITIVE_EMOJI:
                feats.append("<e+>")
            elif token in NEGATIVE_EMOJI:
                feats.append("<e->")
    return feats


def _emoticon_token(match: re.Match[str]) -> str:
    return " ☹ " if _SAD_EMOTICON.match(match.group(0)) else " ☺ "


def features(text: str, lexicon: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(char n-grams, word features) of a raw text; both empty for a text with no words."""
    cleaned = clean(text)
    words = cleaned.split(" ") if cleaned else []
    chars = [gram for word in words for gram in char_grams(word)]
    return chars, word_features(cleaned, lexicon)


# --- polarity cues for the in-domain calibration (nlp.sentiment.calibrate) ----------------------------------
#
# The tweets the weights were fitted on are mostly about politics and celebrities; posts about shops praise and
# complain with words the tweets rarely use ("accueil chaleureux", "rassis", "overpriced", "ما عجبنيش"). These
# hand-written lexicons (folded like the posts: see `clean`) count the evidence; `nlp.sentiment.calibrate`
# turns the counts into logit offsets. The gratitude, recommendation and complaint cues are those of
# nlp.signals (story signals), plus everyday shop praise/blame words. A word in a negation's scope (the next
# three words after "ne", "pas", "not", "never", "لا", "ما", "ماشي", ... up to punctuation) counts for the
# other side ("pas mal", "not bad", "pas déçue", "not impressed", "je ne recommande pas"). Phrases are read
# first and never flipped ("plus jamais", "pas terrible", "never again", "ما نعاودش"), and neither are Darija
# words that carry their own negation (ma-...-sh: "عجبنيش" is "I did not like it", "ندمتش" "I don't regret").
# Questions and announcements (opening hours, "ouvre samedi", "opens Saturday") count as neutral evidence.
# The lexicons are read for every language: posts code-switch. Words that mean something else in another
# language are left out ("sale" is dirty in French and a discount in English; "lent", "rate", "fade", "sec").

_POSITIVE_WORDS = (
    # fr
    "merci mercii remercie remercier remerciements bravo top super excellent excellente excellents excellentes "
    "genial geniale geniaux geniales parfait parfaite parfaits parfaites delicieux delicieuse delicieuses delice "
    "delices adore adorent adorable adorables chaleureux chaleureuse chaleureuses sympa sympas gentil gentille "
    "gentils gentilles aimable aimables magnifique magnifiques sublime sublimes divin divine divins divines "
    "incroyable incroyables impeccable impeccables recommande recommandons recommandee recommandable conseille "
    "bon bonne bons bonnes meilleur meilleure meilleurs meilleures ravi ravie ravis content contente contents "
    "souriant souriante souriants souriantes accueillant accueillante frais fraiche fraiches genereux genereuse "
    "soigne soignee beau belle beaux belles joli jolie tuerie regal regale reviendra reviendrai reviendrons "
    "retournera retournerai retournerons foncez passionne passionnee professionnel professionnelle "
    "professionnalisme honnete honnetes rapide efficace pratique chouette plaisir bienveillant bienveillante "
    # en
    "thanks thank thx grateful thankful love loved lovely loving great amazing awesome excellent best perfect "
    "delicious wonderful fantastic friendly kind recommend recommended recommending enjoyed enjoy legend gem "
    "happy happier fresh cosy cozy beautiful brilliant superb tasty fair honest gorgeous nice good decent "
    "helpful favourite favorite impressed outstanding welcoming glad pleased cheap "
    # ar (MSA and Maghrebi)
    "شكرا شكر الشكر مشكور مشكورين ممنون تبارك بارك رائع رائعه روعه ممتاز ممتازه لذيذ لذيذه طيب جميل جميله "
    "زوين زوينه مزيان مزيانه بنين بنينه نقي نقيه ظراف ظريف ظريفه محترم محترمه محترمين انصح ننصح انصحكم "
    "احسن افضل طازج طازجه طري طريه مليح مليحه حبيت احببت عجبني اعجبني اعجبتني معقول معقوله مناسب سريع "
    "سريعه لطيف لطيفه ساعدني ساعدتني نرجع ساعود سارجع اعود يعطيك يعطيكم"
)
_NEGATIVE_WORDS = (
    # fr
    "decu decue decus decues deception decevant decevante arnaque arnaquer arnaqueur arnaques honteux honteuse "
    "honte inadmissible inacceptable scandale scandaleux desagreable desagreables impoli impolie impolis odieux "
    "odieuse horrible horribles catastrophe catastrophique nul nulle nuls pire mauvais mauvaise mauvaises "
    "mal degoute degoutee degoutant degueulasse rassis froid froide froids froides glacial glaciale abuse abusent "
    "malhonnete malhonnetes mecontent mecontente deconseille deconseiller eviter attente attendu dommage "
    "pourri pourrie pourries brule brulee secs seche seches surgele surgeles regrette mediocre immonde "
    "insupportable lamentable decevoir lente cher chere chers cheres bruyant bruyante "
    # en
    "disappointed disappointing disappointment letdown rude overpriced overrated avoid terrible awful worst "
    "horrible dirty gross stale cold bland ridiculous unacceptable scam refund wasted waste broke broken lost "
    "ignored shouted wrong annoying slow bitter expensive meh bad poor dry disaster mess filthy useless "
    "refused worse mediocre "
    # ar
    "سيء سيئ سيئه خايب خايبه خيبه وسخ غالي غلاء بارد بارده رديء رديئه ضعيف ضعيفه نصاب نصابين غش مغشوش "
    "اسوا كارثي كارثيه كارثه قبيح قبيحه خساره للاسف بطيء بطيئه محروق مقرف قذر فاحش ضيعت"
)
# Phrases (word sequences, read before the words) and Darija negated forms: polarity fixed, never flipped.
_POSITIVE_FIXED = (
    "coup de coeur|bonne adresse|allez y|a tester|a decouvrir|n hesitez pas|aux petits soins|a tomber|"
    "rapport qualite prix|must try|hidden gem|worth a visit|be back|coming back|go back|going back|"
    "be happier|missing out|above and beyond|five stars|cinq etoiles|"
    "ندمتش|يعطيك الصحه|يعطيكم الصحه|الله يعطيك|تبارك الله|الف شكر|في المتناول"
)
_NEGATIVE_FIXED = (
    "plus jamais|pas terrible|hors de prix|ras le bol|a eviter|pas serieux|de trop|"
    "never again|rip off|not worth|no apology|"
    "عجبنيش|عاجبنيش|نعاودش|احترمتناش|خدامش|يستاهلش|ما نعاودش|خيبه امل|لن اعود|لن اطلب"
)
_NEUTRAL_WORDS = (
    "ouvre ouvrira ouverture horaires horaire lieu organise recrute rappel demenage inauguration reunion "
    "travaux prevue prevu fermeture conges "
    "opens opening hours hosting meeting take place until management refurbishment launching "
    "يفتح يفتتح افتتاح سيفتتح اعلان اوقات تنظم اجتماع ستغلق مغلقه اشغال تعلن"
)
_QUESTION_WORDS = (
    "quelqu combien quel quelle quels quelles ou which does anyone any where when how "
    "هل شكون وين متى بشحال كيفاش علاش اين"
)
_NEGATOR_WORDS = (
    "ne n pas jamais rien aucun aucune ni sans not no never nothing nobody none without hardly "
    "لا ما لم لن ليس ليست مش موش ماشي مو بلا"
)
_NEGATORS = frozenset(_NEGATOR_WORDS.split())
_CUE_PUNCT = frozenset(".,;:!?؟،…")
_CUE_QUESTION_MARKS = frozenset("?؟")
_CUE_TOKEN = re.compile(r"\w+|[.,;:!?؟،…]")
_CUE_SCOPE = 3


def _folded_words(words: str) -> frozenset[str]:
    return frozenset(clean(words).split())


def _folded_phrases(phrases: str) -> dict[tuple[str, ...], None]:
    return {tuple(_CUE_TOKEN.findall(clean(p))): None for p in phrases.split("|")}


_POSITIVE = _folded_words(_POSITIVE_WORDS)
_NEGATIVE = _folded_words(_NEGATIVE_WORDS)
_NEUTRAL = _folded_words(_NEUTRAL_WORDS)
_QUESTION = _folded_words(_QUESTION_WORDS)
_FIXED: dict[tuple[str, ...], int] = {
    **dict.fromkeys(_folded_phrases(_POSITIVE_FIXED), 1),
    **dict.fromkeys(_folded_phrases(_NEGATIVE_FIXED), -1),
}
_FIXED_LONGEST = max(len(key) for key in _FIXED)
_FIXED_FIRST = frozenset(key[0] for key in _FIXED)
_POLAR = _POSITIVE | _NEGATIVE | _FIXED_FIRST


def polarity_cues(cleaned: str) -> tuple[int, int, int]:
    """(positive, negative, neutral) evidence counts in a `clean`ed text (see the notes above the lexicons).

    Neutral evidence is a question (a question mark or word) or an announcement word; it only matters when
    there is no polarity evidence. Pure and cheap: one regex split and set lookups.
    """
    if "n't" in cleaned or "n’t" in cleaned:
        cleaned = cleaned.replace("n't", " not").replace("n’t", " not")
    tokens = _CUE_TOKEN.findall(cleaned)
    positive = negative = neutral = 0
    scope = 0
    i = 0
    count = len(tokens)
    while i < count:
        token = tokens[i]
        if token in _CUE_PUNCT:
            scope = 0
            if token in _CUE_QUESTION_MARKS:
                neutral += 1
            i += 1
            continue
        if len(token) > 3 and token[0] in "وف" and token not in _POLAR and token[1:] in _POLAR:
            token = token[1:]  # Arabic "and"/"so" glued to the word
        if token in _FIXED_FIRST:
            for size in range(min(_FIXED_LONGEST, count - i), 0, -1):
                polarity = _FIXED.get(tuple(tokens[i : i + size]))
                if polarity is not None:
                    break
            if polarity is not None:
                positive, negative = (positive + 1, negative) if polarity > 0 else (positive, negative + 1)
                scope = 0
                i += size
                continue
        if token in _NEGATORS:
            scope = _CUE_SCOPE
            i += 1
            continue
        sign = 1 if token in _POSITIVE else -1 if token in _NEGATIVE else 0
        if sign and scope:
            sign = -sign
        if sign > 0:
            positive += 1
        elif sign < 0:
            negative += 1
        elif token in _NEUTRAL or (i == 0 and token in _QUESTION):
            neutral += 1
        if scope:
            scope -= 1
        i += 1
    return positive, negative, neutral
