"""`listener report` through the real click CLI on the fixture week: the files and their names, a stored week
written as stored, `--regenerate`, refusals that name the fix, and a PDF that cannot be made here (WeasyPrint's
system libraries absent) failing in one line while the other formats are still written."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobs.services import Services
from service.cli.main import cli
from service.settings import Settings
from tests.jobs.reporting.fixture_week import ENV, SLUG, WEEK, seed


@pytest.fixture
def settings(db_url: str, settings_for) -> Settings:  # type: ignore[no-untyped-def]
    return settings_for(db_url, **ENV)  # type: ignore[no-any-return]


def _env(db_url: str, tmp_path: Path) -> dict[str, str | None]:
    return {
        "LISTENER_DATABASE_URL": db_url,
        "LISTENER_DATA_DIR": str(tmp_path / "data"),
        "LISTENER_CONFIG": None,
        **ENV,
    }


def _invoke(db_url: str, tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["report", *args], env=_env(db_url, tmp_path), catch_exceptions=False)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("LISTENER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_env")
async def test_report_writes_the_files_and_keeps_a_stored_week(services: Services, db_url: str, tmp_path: Path) -> None:
    await seed(services)
    out = tmp_path / "out"
    args = ("--campaign", SLUG, "--week", WEEK, "--format", "csv,json,html", "--out", str(out))
    first = await asyncio.to_thread(_invoke, db_url, tmp_path, *args)
    assert first.exit_code == 0, first.output
    assert f"{SLUG} {WEEK}: 28 posts, generated and stored (partial: see its coverage section)" in first.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"report-{SLUG}-{WEEK}.{ext}" for ext in ("csv", "html", "json")]
    document = json.loads((out / f"report-{SLUG}-{WEEK}.json").read_text(encoding="utf-8"))
    assert document["headline"]["potential_reach"] == 1950
    again = await asyncio.to_thread(_invoke, db_url, tmp_path, *args)
    assert "28 posts, as stored" in again.stdout
    redone = await asyncio.to_thread(_invoke, db_url, tmp_path, *args, "--regenerate", "--lang", "fr")
    assert "28 posts, regenerated" in redone.stdout
    assert "Audience potentielle" in (out / f"report-{SLUG}-{WEEK}.html").read_text(encoding="utf-8")


@pytest.mark.usefixtures("clean_env")
async def test_mistakes_are_refused_with_the_fix(services: Services, db_url: str, tmp_path: Path) -> None:
    cases = {
        ("--campaign", "nope"): "unknown campaign 'nope' (known: lovelocal, soutenons)",
        ("--campaign", SLUG, "--week", "2026-43"): "write it as YYYY-Www",
        ("--campaign", SLUG, "--format", "docx"): "unknown format docx",
    }
    for args, message in cases.items():
        result = await asyncio.to_thread(_invoke, db_url, tmp_path, *args)
        assert result.exit_code == 2, args
        assert message in result.output, result.output
    emailed = await asyncio.to_thread(
        _invoke, db_url, tmp_path, "--campaign", SLUG, "--week", WEEK, "--format", "json", "--email"
    )
    assert emailed.exit_code == 1
    assert "has no report_recipients: list them in [campaigns.soutenons]" in emailed.output


@pytest.mark.usefixtures("clean_env")
async def test_a_missing_pdf_library_fails_in_one_line_and_the_rest_is_written(
    services: Services, db_url: str, tmp_path: Path
) -> None:
    await seed(services)
    # What WeasyPrint raises when Debian's Pango is not installed: cffi cannot load the library.
    fake = tmp_path / "no-pango" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file\")\n"
    )
    env = {k: v for k, v in _env(db_url, tmp_path).items() if v is not None}
    env |= {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(fake.parent)}
    out = tmp_path / "out"
    command = [str(Path(sys.executable).with_name("listener")), "report", "--campaign", SLUG, "--week", WEEK]
    command += ["--format", "pdf,csv", "--out", str(out)]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "PDF output is unavailable" in line
    assert "apt-get install libpango-1.0-0" in line
    assert [p.name for p in out.iterdir()] == [f"report-{SLUG}-{WEEK}.csv"]
