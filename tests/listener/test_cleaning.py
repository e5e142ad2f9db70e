"""Unstorable characters (NUL, lone surrogates) are cleaned from payloads, and the cheap byte scan that
decides whether a page needs the full clean never misses one."""

from __future__ import annotations

import json

import pytest

from listener.http import decode_json
from listener.parsers.common import clean_payload, may_need_cleaning
from listener.parsers.x import parse_page

PAGE = {
    "data": [
        {"id": "1", "text": "bad \ud800 and \x00 here", "author_id": "9", "created_at": "2026-11-20T10:00:00.000Z"}
    ],
    "includes": {"users": [{"id": "9", "username": "u\x00ser", "name": "N\udfff"}]},
    "meta": {"result_count": 1},
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"text": "caf\\u00e9"}', False),
        ('{"text": "café 😀 مخبز"}'.encode(), False),
        (b'{"text": "\\ud800"}', True),
        (b'{"text": "\\uDBFF"}', True),
        (b'{"text": "\\u0000"}', True),
        (b'{"text": "a\x00b"}', True),
        (b'{"text": "\\ud83d\\ude00"}', True),  # a valid escaped pair also takes the (correct, slower) path
    ],
)
def test_the_byte_scan(body: bytes, expected: bool) -> None:
    assert may_need_cleaning(body) is expected


def test_a_page_with_unstorable_characters_is_parsed_into_storable_posts() -> None:
    body = json.dumps(PAGE).encode()
    assert may_need_cleaning(body)
    [post] = parse_page(decode_json(body, "test"), clean=may_need_cleaning(body)).posts
    for text in (post.text, post.author.handle, post.author.display_name, json.dumps(post.raw, ensure_ascii=False)):
        text.encode("utf-8")  # no lone surrogate left
        assert "\x00" not in text
    assert post.text == "bad \ufffd and  here"


def test_clean_payload_walks_keys_and_values() -> None:
    assert clean_payload({"a\x00": ["x\ud800", {"k": "\x00"}], "n": 3}) == {"a": ["x\ufffd", {"k": ""}], "n": 3}
