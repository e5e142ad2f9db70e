"""Logs to stderr: readable lines by default, one JSON object per line for a log collector; a secret that slips
into a message or a traceback is masked in both formats."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from service.logs import MASK, setup_logging

TOKEN = "AAAAsecret-bearer-token-0123456789"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_a_masked_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [TOKEN], "json")
    log = logging.getLogger("jobs.collect")
    log.info("collected %d posts for «#LoveLocal» مخبز", 12)
    try:
        raise RuntimeError(f"upstream refused token {TOKEN}")
    except RuntimeError:
        log.exception("collect failed with %s", TOKEN)
    lines = capsys.readouterr().err.strip().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO"
    assert first["logger"] == "jobs.collect"
    assert first["message"] == "collected 12 posts for «#LoveLocal» مخبز"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR"
    assert second["message"] == f"collect failed with {MASK}"
    assert "RuntimeError: upstream refused token" in second["exception"]
    assert TOKEN not in "\n".join(lines)


def test_text_lines_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [TOKEN])
    logging.getLogger("web").warning("token %s", TOKEN)
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"WARNING web: token {MASK}")
