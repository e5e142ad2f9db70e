"""`listener nlp eval`: score the shipped sentiment model on any labelled set in the xlm-t format.

The format: a texts file with one post per line and a labels file with one label per line, aligned by line
number; labels are 0 (negative), 1 (neutral), 2 (positive). The command prints precision, recall and F1 per
class and the macro averages, per language and for the whole set.

Without `--lang`, each line's language is guessed by a deliberately tiny stand-in heuristic (to be replaced by
the pipeline's language stage): any Arabic-script letter means "ar"; otherwise the line is "fr" when it has at
least as many French cues (common French function words, letters é è ê à ç ù û ô î ï œ) as English cues
(common English function words), else "en". With `--lang`, every line is taken to be in that language.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import click

from nlp.evaluation import Report, classification_report
from nlp.normalise import has_arabic
from nlp.sentiment import LABELS, SentimentModel, SentimentModelError
from service.cli.main import UserFacingError

LANGUAGES = ("fr", "ar", "en")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_FRENCH_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "est",
        "sont",
        "pas",
        "ne",
        "je",
        "tu",
        "il",
        "elle",
        "nous",
        "vous",
        "ils",
        "elles",
        "ce",
        "cette",
        "ces",
        "qui",
        "que",
        "pour",
        "avec",
        "dans",
        "sur",
        "au",
        "aux",
        "mais",
        "ou",
        "très",
        "plus",
        "bien",
        "tout",
        "c'est",
        "j'ai",
        "sa",
        "son",
        "ses",
        "mon",
        "ma",
        "mes",
        "notre",
        "votre",
        "être",
        "avoir",
        "fait",
        "comme",
        "quand",
        "chez",
    ]
)
_ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "is",
        "are",
        "was",
        "were",
        "not",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "it",
        "this",
        "that",
        "these",
        "those",
        "who",
        "what",
        "for",
        "with",
        "in",
        "on",
        "at",
        "to",
        "of",
        "but",
        "or",
        "very",
        "more",
        "good",
        "all",
        "it's",
        "i'm",
        "my",
        "your",
        "our",
        "be",
        "have",
        "has",
        "do",
        "does",
        "did",
        "just",
        "so",
        "from",
        "by",
        "about",
        "will",
        "would",
        "can",
    ]
)
_FRENCH_LETTERS = frozenset("éèêàçùûôîïœ")


def guess_language(text: str) -> str:
    """The stand-in heuristic of the module docstring: "ar", "fr" or "en" (ties go to "fr")."""
    if has_arabic(text):
        return "ar"
    words = _WORD.findall(text.casefold().replace("’", "'"))
    french = sum(1 for w in words if w in _FRENCH_WORDS) + sum(1 for ch in text.casefold() if ch in _FRENCH_LETTERS)
    english = sum(1 for w in words if w in _ENGLISH_WORDS)
    return "fr" if french >= english else "en"


def _read_lines(path: Path, what: str) -> list[str]:
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserFacingError(f"{what} file {path}: no such file") from None
    except IsADirectoryError:
        raise UserFacingError(f"{what} file {path} is a folder; give the file") from None
    except UnicodeDecodeError as exc:
        raise UserFacingError(f"{what} file {path} is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise UserFacingError(f"cannot read {what} file {path}: {exc.strerror}") from None
    # Split on newlines only: str.splitlines would also split on characters a post may contain (U+2028, \x1c...).
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start an empty one
    return [line.removesuffix("\r") for line in lines]


def _parse_labels(lines: list[str], path: Path) -> list[int]:
    labels = []
    for number, line in enumerate(lines, start=1):
        value = line.strip()
        if value not in ("0", "1", "2"):
            raise UserFacingError(f"labels file {path}, line {number}: {value!r} is not a label (0, 1 or 2)")
        labels.append(int(value))
    return labels


def _report(gold: list[int], predicted: list[int]) -> Report:
    return classification_report(gold, predicted, labels=[0, 1, 2])


@click.group("nlp")
def nlp_group() -> None:
    """The text-analysis models: evaluate them on labelled data."""


@click.command("eval")
@click.option("--texts", "texts_path", required=True, type=click.Path(path_type=Path), help="One post per line.")
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path), help="One 0/1/2 per line.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="Language of every line (else guessed).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_cmd(texts_path: Path, labels_path: Path, lang: str | None, as_json: bool) -> None:
    """Sentiment precision, recall and macro-F1 per language on a labelled set (xlm-t format).

    Labels: 0 negative, 1 neutral, 2 positive. Without --lang each line's language is guessed: any Arabic
    letter means ar, else French vs English function words and accents (a stand-in until the language stage).
    """
    texts = _read_lines(texts_path, "texts")
    gold = _parse_labels(_read_lines(labels_path, "labels"), labels_path)
    if len(texts) != len(gold):
        raise UserFacingError(
            f"{texts_path} has {len(texts)} lines but {labels_path} has {len(gold)}; they must align line by line"
        )
    if not texts:
        raise UserFacingError(f"{texts_path} is empty; nothing to evaluate")
    try:
        model = SentimentModel.load()
    except SentimentModelError as exc:
        raise UserFacingError(str(exc)) from None
    languages = [lang] * len(texts) if lang else [guess_language(text) for text in texts]
    predicted = [LABELS.index(result.label) for result in model.predict_many(texts, languages)]

    by_language: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for language, g, p in zip(languages, gold, predicted, strict=True):
        by_language[language][0].append(g)
        by_language[language][1].append(p)
    reports = {language: _report(*by_language[language]) for language in LANGUAGES if language in by_language}
    overall = _report(gold, predicted)

    if as_json:
        payload = {
            "model_version": model.version,
            "language_source": "--lang" if lang else "heuristic",
            "labels": {"0": "negative", "1": "neutral", "2": "positive"},
            "languages": {language: report.as_dict() for language, report in reports.items()},
            "all": overall.as_dict(),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"model {model.version}; language {'from --lang' if lang else 'guessed per line'}")
    click.echo(f"{'lang':<5} {'n':>6} {'macro-P':>8} {'macro-R':>8} {'macro-F1':>9}  F1 neg/neu/pos")
    for language, report in [*reports.items(), ("all", overall)]:
        per_class = "/".join(f"{c.f1:.3f}" for c in report.classes)
        click.echo(
            f"{language:<5} {report.count:>6} {report.macro_precision:>8.4f} {report.macro_recall:>8.4f} "
            f"{report.macro_f1:>9.4f}  {per_class}"
        )


nlp_group.add_command(eval_cmd)

COMMANDS = [nlp_group]
