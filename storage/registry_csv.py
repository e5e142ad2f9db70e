"""The merchant registry CSV format: parse a regional directory export, write one Excel opens correctly.

Pure functions: bytes in, records and per-line errors out (and the reverse). Directories modelled on
"Local d'abord !" are produced by hand and by spreadsheets, so the parser accepts UTF-8 with or without a
BOM, comma, semicolon or tab separators, and header names in any case; and it reports each bad row with its
line number and reason while good rows still import. Columns:

    name (required), aliases ("|"-separated), handles ("platform:@handle" pairs separated by ";"),
    website, address, postcode, city, region, category, phone; an `id` column (as written by the export)
    updates that merchant.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nlp.normalise import normalise_name

COLUMNS = (
    "name",
    "aliases",
    "handles",
    "website",
    "address",
    "postcode",
    "city",
    "region",
    "category",
    "phone",
)
EXPORT_COLUMNS = ("id", *COLUMNS)
# Aliases are stored in a 300-character column (PostgreSQL enforces it; SQLite would not).
_ALIAS_LIMIT = 300
_LIMITS = {
    "name": 300,
    "address": 500,
    "postcode": 20,
    "city": 200,
    "region": 200,
    "category": 200,
    "phone": 50,
}

PLATFORM_ALIASES = {
    "x": "x",
    "twitter": "x",
    "instagram": "instagram",
    "ig": "instagram",
    "mastodon": "mastodon",
    "bluesky": "bluesky",
    "bsky": "bluesky",
    "facebook": "facebook",
    "fb": "facebook",
    "tiktok": "tiktok",
}
_HANDLE_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "x": (re.compile(r"[a-z0-9_]{1,15}"), "1-15 letters, digits or '_'"),
    "instagram": (re.compile(r"[a-z0-9._]{1,30}"), "1-30 letters, digits, '.' or '_'"),
    "mastodon": (
        re.compile(r"[a-z0-9_]{1,30}@[a-z0-9-]+(\.[a-z0-9-]+)+"),
        "user@instance, e.g. @epis@piaille.fr",
    ),
    "bluesky": (re.compile(r"([a-z0-9-]+\.)+[a-z]{2,}"), "a domain handle, e.g. epis.bsky.social"),
    "facebook": (re.compile(r"[a-z0-9.]{5,50}"), "5-50 letters, digits or '.'"),
    "tiktok": (re.compile(r"[a-z0-9_.]{2,24}"), "2-24 letters, digits, '.' or '_'"),
}
_PHONE = re.compile(r"[0-9+()./\s-]+")
_HOST = re.compile(r"([a-z0-9\u00a1-\uffff-]+\.)+[a-z\u00a1-\uffff]{2,}")
# Cells Excel would evaluate as formulas (CSV injection); a leading apostrophe makes them plain text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE_LIKE = re.compile(r"[+-][0-9\s().-]+")


class RegistryFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, no header, no `name` column...)."""


class RowError(ValueError):
    """One row is invalid; the message says why."""


@dataclass(frozen=True)
class MerchantRecord:
    name: str
    aliases: tuple[str, ...] = ()
    handles: tuple[tuple[str, str], ...] = ()
    website: str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    region: str | None = None
    category: str | None = None
    phone: str | None = None
    id: int | None = None
    # Which columns the file had: a column that is absent leaves the stored value alone on re-import.
    present: frozenset[str] = field(default=frozenset(COLUMNS), compare=False)

    @property
    def key(self) -> str:
        return merchant_key(self.name, self.postcode, self.city)


def merchant_key(name: str, postcode: str | None, city: str | None) -> str:
    """The stable key re-imports update by: the normalised name plus the postcode, else the city."""
    place = normalise_name(postcode or "") or normalise_name(city or "")
    return f"{normalise_name(name)}|{place}"


@dataclass(frozen=True)
class ParsedRow:
    line: int
    record: MerchantRecord


@dataclass(frozen=True)
class ParsedFile:
    rows: list[ParsedRow]
    errors: list[tuple[int, str]]
    warnings: list[str]


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RegistryFileError(
            "the file is UTF-16 (Excel's 'Unicode Text'); save it as 'CSV UTF-8' in your spreadsheet instead"
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise RegistryFileError(
            f"line {line}: this is not a CSV text file (it contains NUL bytes); export the sheet as CSV"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RegistryFileError(
            f"line {line}: the file is not UTF-8 (save it as 'CSV UTF-8' in your spreadsheet, or convert it with "
            "iconv -f WINDOWS-1252 -t UTF-8)"
        ) from None


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _clean(value: str | None, column: str) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if value.startswith("'") and value.lstrip("'")[:1] in _FORMULA_START:
        value = value[1:]  # our own export's formula guard
    if not value:
        return None
    limit = _LIMITS.get(column)
    if limit and len(value) > limit:
        raise RowError(f"{column} is longer than {limit} characters")
    if any(ord(ch) < 32 for ch in value):
        raise RowError(f"{column} contains control characters")
    return value


def parse_handle(item: str) -> tuple[str, str]:
    platform, sep, handle = item.partition(":")
    if not sep:
        raise RowError(f"handle {item!r} must be written platform:@handle, e.g. x:@troisepis")
    name = PLATFORM_ALIASES.get(platform.strip().casefold())
    if name is None:
        raise RowError(
            f"unknown platform {platform.strip()!r} in handle {item!r} (known: {', '.join(sorted(_HANDLE_RULES))})"
        )
    handle = handle.strip().removeprefix("@").casefold()
    rule, wanted = _HANDLE_RULES[name]
    if not rule.fullmatch(handle):
        raise RowError(f"{name} handle {item.strip()!r} is not valid ({wanted})")
    return name, handle


def normalise_website(value: str) -> str:
    url = value if "://" in value else f"https://{value}"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").casefold()
    except ValueError:  # e.g. "https://[shop" (an unclosed IPv6 bracket)
        raise RowError(f"website {value!r} is not a web address (e.g. https://troisepis.fr)") from None
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(host) or " " in value:
        raise RowError(f"website {value!r} is not a web address (e.g. https://troisepis.fr)")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{host}{path}"


def _record(cells: dict[str, str], present: frozenset[str]) -> MerchantRecord:
    values = {column: _clean(cells.get(column), column) for column in (*COLUMNS, "id")}
    name = values["name"]
    if not name:
        raise RowError("name is empty (it is the only required column)")
    if not normalise_name(name):
        raise RowError(f"name {name!r} has no letters or digits")
    aliases: list[str] = []
    seen_aliases = {normalise_name(name)}
    for alias in (values["aliases"] or "").split("|"):
        alias = alias.strip()
        normalized = normalise_name(alias)
        if not normalized or normalized in seen_aliases:
            continue  # empty, punctuation only, the name itself, or another spelling of an alias already given
        if len(alias) > _ALIAS_LIMIT:
            raise RowError(f"alias {alias[:40]!r}... is longer than {_ALIAS_LIMIT} characters")
        seen_aliases.add(normalized)
        aliases.append(alias)
    handles: list[tuple[str, str]] = []
    for item in (values["handles"] or "").split(";"):
        if item.strip():
            pair = parse_handle(item.strip())
            if pair not in handles:
                handles.append(pair)
    website = normalise_website(values["website"]) if values["website"] else None
    phone = values["phone"]
    if phone and (not _PHONE.fullmatch(phone) or not 6 <= sum(c.isdigit() for c in phone) <= 15):
        raise RowError(f"phone {phone!r} is not a phone number (digits, spaces, + - . ( ) only)")
    merchant_id: int | None = None
    if values["id"]:
        if not re.fullmatch(r"[0-9]{1,18}", values["id"]):
            raise RowError(f"id {values['id']!r} must be a whole number (as written by `listener merchants export`)")
        merchant_id = int(values["id"])
    return MerchantRecord(
        name=name,
        aliases=tuple(aliases),
        handles=tuple(handles),
        website=website,
        address=values["address"],
        postcode=values["postcode"],
        city=values["city"],
        region=values["region"],
        category=values["category"],
        phone=phone,
        id=merchant_id,
        present=present,
    )


def parse_registry(data: bytes) -> ParsedFile:
    """Parse a registry CSV. File-level problems raise RegistryFileError; row problems are collected."""
    text = _decode(data)
    if not text.strip():
        raise RegistryFileError("the file is empty; it needs a header row with at least a 'name' column")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    rows: list[ParsedRow] = []
    errors: list[tuple[int, str]] = []
    warnings: list[str] = []
    seen_keys: dict[str, int] = {}
    seen_handles: dict[tuple[str, str], int] = {}
    seen_ids: dict[int, int] = {}
    previous_end = 0
    last_line: int | None = None
    try:
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = _header(cells, warnings, line)
                continue
            last_line = line
            if len(cells) > len(header):
                errors.append(
                    (
                        line,
                        f"{len(cells)} fields but the header has {len(header)} (quote values containing the separator)",
                    )
                )
                continue
            named = {column: cells[i] for i, column in enumerate(header) if i < len(cells) and column}
            try:
                record = _record(named, frozenset(c for c in header if c in COLUMNS))
            except RowError as exc:
                errors.append((line, str(exc)))
                continue
            if record.id is None and record.key in seen_keys:
                errors.append((line, f"same merchant as line {seen_keys[record.key]} (same name and postcode/city)"))
                continue
            if record.id is not None and record.id in seen_ids:
                errors.append((line, f"id {record.id} is already given to line {seen_ids[record.id]}"))
                continue
            clash = next((h for h in record.handles if h in seen_handles), None)
            if clash:
                errors.append((line, f"handle {clash[0]}:@{clash[1]} is already given to line {seen_handles[clash]}"))
                continue
            seen_keys.setdefault(record.key, line)
            if record.id is not None:
                seen_ids[record.id] = line
            for handle in record.handles:
                seen_handles[handle] = line
            rows.append(ParsedRow(line, record))
    except csv.Error as exc:
        errors.append((reader.line_num, f"unreadable CSV from here on: {exc}"))
    else:
        if last_line is not None and _quote_left_open(text, last_line, delimiter):
            # Lenient parsing read everything after the stray quote as one value: never import that.
            rows = [r for r in rows if r.line != last_line]
            errors = [e for e in errors if e[0] != last_line]
            errors.append(
                (
                    last_line,
                    "a quoted value starts here and its closing '\"' is missing, so everything from here to the "
                    "end of the file was read as one row; close the quote",
                )
            )
    if header is None:
        raise RegistryFileError("the file has no header row; the first row must name the columns (at least 'name')")
    return ParsedFile(rows=rows, errors=errors, warnings=warnings)


def _quote_left_open(text: str, line: int, delimiter: str) -> bool:
    """True when the record starting at physical `line` (the file's last) opens a quote that never closes."""
    starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]
    tail = text[starts[line - 1] :]
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _header(cells: Sequence[str], warnings: list[str], line: int) -> list[str]:
    names = [c.strip().lstrip("\ufeff").casefold() for c in cells]
    if "name" not in names:
        shown = ", ".join(repr(n) for n in names if n) or "nothing"
        raise RegistryFileError(
            f"line {line}: no 'name' column in the header (found {shown}); columns are: {', '.join(COLUMNS)}"
        )
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    if duplicates:
        raise RegistryFileError(f"line {line}: column(s) {', '.join(duplicates)} appear more than once in the header")
    unknown = [n for n in names if n and n not in EXPORT_COLUMNS]
    if unknown:
        warnings.append(f"column(s) {', '.join(unknown)} are not used and were ignored")
    return [n if n in EXPORT_COLUMNS else "" for n in names]


def _guard(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _PHONE_LIKE.fullmatch(value):
        return "'" + value
    if value.startswith("'") and value.lstrip("'")[:1] in _FORMULA_START:
        return "'" + value  # the import removes one leading apostrophe from these: keep the data's own
    return value


def write_registry(records: Iterable[MerchantRecord]) -> str:
    """CSV text with a BOM and CRLF line ends, so Excel opens accents and Arabic correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(EXPORT_COLUMNS)
    for r in records:
        cells = [
            str(r.id) if r.id is not None else "",
            r.name,
            "|".join(r.aliases),
            ";".join(f"{p}:@{h}" for p, h in r.handles),
            r.website or "",
            r.address or "",
            r.postcode or "",
            r.city or "",
            r.region or "",
            r.category or "",
            r.phone or "",
        ]
        writer.writerow([_guard(c) for c in cells])
    return out.getvalue()
