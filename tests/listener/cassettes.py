"""Recorded HTTP interactions from the cassettes in ../shared/corpora, in one shape for the fake platforms.

Two formats are read:

- vcrpy (tweepy-cassettes, mastodon-py-cassettes): `interactions: [{request: {method, uri, headers},
  response: {status: {code, message}, headers: {name: [values]}, body: {string}}}]`; `string` is text, or
  `!!binary` bytes (gzip-compressed when the response said `Content-Encoding: gzip`);
- R vcr (rtoot-fixtures, bskyr-vcr): `http_interactions: [{request: {method, uri}, response: {status: 200
  | {status_code} | {code}, headers: {name: value}, body: {encoding, string | base64_string}}}]`.

The body is given decoded (what the client would read), so the headers that describe the transfer rather
than the content (`Content-Encoding`, `Content-Length`, `Transfer-Encoding`, `Connection`) are left out, as
are `Set-Cookie` lines: a replay sends the bytes as they are, and must not advertise a gzip body it does not
send or a length it no longer has.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Transfer-level headers: true of the recorded wire bytes, false of the decoded body we replay.
NOT_REPLAYED = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "set-cookie"})
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Recorded:
    """One recorded request and the response it got."""

    method: str
    uri: str
    status: int
    headers: dict[str, str]  # response headers, names as recorded, several values joined with ", "
    body: bytes  # decoded (never gzip)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


def load_cassette(path: str | Path) -> list[Recorded]:
    """Every interaction of a vcrpy or R vcr cassette, in recorded order."""
    path = Path(path)
    with path.open("rb") as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a cassette (top level is {type(document).__name__})")
    interactions = document.get("interactions", document.get("http_interactions"))
    if not isinstance(interactions, list):
        raise ValueError(f"{path}: neither 'interactions' (vcrpy) nor 'http_interactions' (R vcr) is a list")
    return [_interaction(path, n, item) for n, item in enumerate(interactions)]


def find(recorded: list[Recorded], *, method: str | None = None, uri_contains: str = "") -> Recorded:
    """The first interaction matching the method and a substring of the URI (ValueError when none does)."""
    for item in recorded:
        if (method is None or item.method == method.upper()) and uri_contains in item.uri:
            return item
    raise ValueError(f"no recorded {method or 'request'} with {uri_contains!r} in its URI")


def _interaction(path: Path, n: int, item: Any) -> Recorded:
    where = f"{path.name}: interaction {n}"
    if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
        raise ValueError(f"{where}: no request")
    request, response = item["request"], item.get("response")
    if not isinstance(response, dict):
        raise ValueError(f"{where}: no response")
    raw_headers = _headers(response.get("headers") or {})
    body = _body(response.get("body"), raw_headers, where)
    headers = {k: v for k, v in raw_headers.items() if k.lower() not in NOT_REPLAYED}
    return Recorded(
        method=str(request.get("method", "GET")).upper(),
        uri=str(request.get("uri", "")),
        status=_status(response.get("status"), where),
        headers=headers,
        body=body,
    )


def _status(status: Any, where: str) -> int:
    if isinstance(status, dict):
        status = status.get("code", status.get("status_code"))
    try:
        return int(status)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: unreadable status {status!r}") from None


def _headers(headers: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        out[str(name)] = ", ".join(str(v) for v in values if v is not None)
    return out


def _body(body: Any, headers: Mapping[str, str], where: str) -> bytes:
    if body is None:
        return b""
    if isinstance(body, dict):
        if body.get("base64_string") is not None:  # R vcr, preserve_exact_body_bytes
            data: Any = base64.b64decode(body["base64_string"])
        else:
            data = body.get("string", "")
    else:
        data = body
    if data is None:
        return b""
    raw = data if isinstance(data, bytes) else str(data).encode("utf-8")
    encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "")
    if raw.startswith(_GZIP_MAGIC) and "gzip" in encoding.lower():
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{where}: gzip body cannot be decompressed ({exc})") from None
    return raw
