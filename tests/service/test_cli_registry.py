"""`listener merchants ...` and `listener users ...` driven through the real click CLI on real databases.

Each test runs on SQLite and PostgreSQL (the `db_url` fixture); the settings come from LISTENER_* variables
only (no config file is inherited from the environment or the working directory). One test runs the
installed `listener` console script in a subprocess, as an operator would.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from service.cli.main import cli
from storage.engine import create_engine, make_sessionmaker
from storage.models import User
from storage.passwords import verify_password
from storage.registry_csv import parse_registry

Run = Callable[..., Result]

# The acceptance file: 3 good rows, 2 bad ones (lines 3 and 6); a quoted newline makes row 4 span 4-5.
ACCEPTANCE_CSV = (
    "name;postcode;city;handles;phone\r\n"  # 1
    "Boulangerie Les Trois Épis;75011;Paris;x:@troisepis;01 43 00 00 00\r\n"  # 2
    ";75011;Paris;;\r\n"  # 3: no name
    '"Café ""Le Rouge""\r\n'  # 4
    'Lyon";69001;Lyon;instagram:@cafe.rouge;\r\n'  # 5
    "Épicerie Bio;69002;Lyon;x:@this_is_far_too_long;\r\n"  # 6: bad handle
    "مخبز الأمل;;الدار البيضاء;;+212 522 000 000\r\n"  # 7
)
GOOD_NAMES = {"Boulangerie Les Trois Épis", 'Café "Le Rouge" Lyon', "مخبز الأمل"}


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke `listener ARGS...` in-process against `db_url`, with only our LISTENER_* settings."""
    for name in list(os.environ):
        if name.startswith("LISTENER_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # no ./listener.toml from wherever pytest was started
    env = {"LISTENER_DATABASE_URL": db_url, "LISTENER_DATA_DIR": str(tmp_path / "data"), "LISTENER_CONFIG": None}

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def acceptance_file(tmp_path: Path) -> Path:
    path = tmp_path / "annuaire.csv"
    path.write_bytes(ACCEPTANCE_CSV.encode("utf-8"))
    return path


def listed(run: Run) -> list[dict[str, object]]:
    result = run("merchants", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def by_name(run: Run) -> dict[str, dict[str, object]]:
    return {str(r["name"]): r for r in listed(run)}


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line]


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    (line,) = stderr_lines(result)
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.output


# --- merchants import / list -------------------------------------------------------------------------


def test_acceptance_three_good_rows_two_rejected_then_listed(run: Run, acceptance_file: Path) -> None:
    result = run("merchants", "import", str(acceptance_file))

    assert result.exit_code == 1
    errors = stderr_lines(result)
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{acceptance_file}:3: ")
    assert "name is empty" in errors[0]
    assert errors[1].startswith(f"{acceptance_file}:6: ")
    assert "x handle" in errors[1]
    assert "Traceback" not in result.output
    assert result.stdout.strip() == "imported 3 merchant(s): 3 created, 0 updated, 0 unchanged; 2 row(s) rejected"

    merchants = listed(run)
    assert len(merchants) == 3
    assert {m["name"] for m in merchants} == GOOD_NAMES
    ids = [m["id"] for m in merchants]
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == 3
    cafe = next(m for m in merchants if m["name"] == 'Café "Le Rouge" Lyon')
    assert cafe["handles"] == ["instagram:@cafe.rouge"]
    assert (cafe["postcode"], cafe["city"]) == ("69001", "Lyon")

    table = run("merchants", "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert len(lines) == 3
    for merchant in merchants:
        (line,) = [line for line in lines if str(merchant["name"]) in line]
        assert line.split()[0] == str(merchant["id"])
    epis_line = next(line for line in lines if "Trois Épis" in line)
    assert "75011 Paris" in epis_line
    assert "x:@troisepis" in epis_line


def test_reimport_reports_nothing_created_and_three_unchanged(run: Run, acceptance_file: Path) -> None:
    run("merchants", "import", str(acceptance_file))

    again = run("merchants", "import", str(acceptance_file))

    assert again.exit_code == 1  # the same two rows are still rejected
    assert "0 created, 0 updated, 3 unchanged; 2 row(s) rejected" in again.stdout
    assert len(listed(run)) == 3


def test_import_of_good_rows_only_exits_zero(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("name,city\nCafé Rouge,Lyon\nÉpis,Paris\n", encoding="utf-8")

    result = run("merchants", "import", str(path))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "2 created" in result.stdout


def test_unknown_columns_are_warned_about_on_stderr(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("name,city,notes\nCafé Rouge,Lyon,rappeler\n", encoding="utf-8")

    result = run("merchants", "import", str(path))

    assert result.exit_code == 0
    assert stderr_lines(result) == [f"{path}: warning: column(s) notes are not used and were ignored"]
    assert "1 created" in result.stdout


def test_dry_run_reports_but_stores_nothing(run: Run, acceptance_file: Path) -> None:
    result = run("merchants", "import", "--dry-run", str(acceptance_file))

    assert result.exit_code == 1
    assert result.stdout.strip() == "would import 3 merchant(s): 3 created, 0 updated, 0 unchanged; 2 row(s) rejected"
    assert len(stderr_lines(result)) == 2
    assert listed(run) == []
    empty = run("merchants", "list")
    assert "no merchants yet" in empty.stdout


def test_dry_run_of_changes_leaves_the_stored_values(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("name,postcode,city,phone\nÉpis,75011,Paris,01 43 00 00 00\n", encoding="utf-8")
    run("merchants", "import", str(path))
    path.write_text("name,postcode,city,phone\nÉpis,75011,Paris,01 43 99 99 99\nCafé,69001,Lyon,\n", encoding="utf-8")

    result = run("merchants", "import", "--dry-run", str(path))

    assert result.exit_code == 0
    assert "1 created, 1 updated, 0 unchanged" in result.stdout
    assert {n: m["phone"] for n, m in by_name(run).items()} == {"Épis": "01 43 00 00 00"}


def test_json_summary(run: Run, acceptance_file: Path) -> None:
    result = run("merchants", "import", "--json", str(acceptance_file))

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["file"] == str(acceptance_file)
    assert summary["dry_run"] is False
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (3, 0, 0)
    assert [r["line"] for r in summary["rejected"]] == [3, 6]
    assert "name is empty" in summary["rejected"][0]["reason"]
    assert summary["warnings"] == []
    assert result.stderr == ""  # everything is in the JSON

    dry = json.loads(run("merchants", "import", "--json", "--dry-run", str(acceptance_file)).stdout)
    assert dry["dry_run"] is True
    assert (dry["created"], dry["unchanged"]) == (0, 3)


def test_rows_rejected_by_the_database_checks_are_reported_with_their_line(run: Run, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("name,city,handles\nÉpis,Paris,x:@troisepis\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text(
        "id,name,city,handles\n\n\n,Café,Lyon,x:@troisepis\n,Bar,Lyon,\n999,Ghost,Paris,\n", encoding="utf-8"
    )
    run("merchants", "import", str(first))
    epis_id = by_name(run)["Épis"]["id"]

    result = run("merchants", "import", str(second))

    assert result.exit_code == 1
    assert stderr_lines(result) == [
        f"{second}:4: handle x:@troisepis already belongs to merchant {epis_id}",
        f"{second}:6: id 999 is not a merchant in this database (remove the id to create it)",
    ]
    assert "1 created" in result.stdout
    assert set(by_name(run)) == {"Épis", "Bar"}


# --- export and the round trip -----------------------------------------------------------------------


def read_export(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def write_export(path: Path, rows: Sequence[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))


def test_export_to_a_file_edit_and_import_updates(run: Run, acceptance_file: Path, tmp_path: Path) -> None:
    run("merchants", "import", str(acceptance_file))
    before = by_name(run)
    exported = tmp_path / "export.csv"

    result = run("merchants", "export", str(exported))

    assert result.exit_code == 0
    assert result.stderr.strip() == f"wrote 3 merchant(s) to {exported}"
    data = exported.read_bytes()
    assert data.count(b"\r\n") == 4
    rows = read_export(data)
    assert {r["name"] for r in rows} == GOOD_NAMES
    assert {int(r["id"]) for r in rows} == {m["id"] for m in before.values()}

    for row in rows:
        if row["name"] == "Boulangerie Les Trois Épis":
            row["name"] = "Les Trois Épis Bio"  # the id column makes this a rename, not a new merchant
            row["phone"] = "01 43 99 99 99"
        if row["name"] == "مخبز الأمل":
            row["city"] = "Casablanca"
    write_export(exported, rows)
    reimport = run("merchants", "import", str(exported))

    assert reimport.exit_code == 0, reimport.output
    assert "0 created, 2 updated, 1 unchanged; 0 row(s) rejected" in reimport.stdout
    after = by_name(run)
    assert set(after) == {"Les Trois Épis Bio", 'Café "Le Rouge" Lyon', "مخبز الأمل"}
    assert after["Les Trois Épis Bio"]["id"] == before["Boulangerie Les Trois Épis"]["id"]
    assert after["Les Trois Épis Bio"]["phone"] == "01 43 99 99 99"
    assert after["Les Trois Épis Bio"]["handles"] == ["x:@troisepis"]
    assert after["مخبز الأمل"]["city"] == "Casablanca"


def test_export_to_stdout_reimports_unchanged(run: Run, acceptance_file: Path, tmp_path: Path) -> None:
    run("merchants", "import", str(acceptance_file))

    result = run("merchants", "export")

    assert result.exit_code == 0
    parsed = parse_registry(result.stdout_bytes)
    assert parsed.errors == []
    assert {r.record.name for r in parsed.rows} == GOOD_NAMES
    assert all(r.record.id is not None for r in parsed.rows)
    path = tmp_path / "stdout.csv"
    path.write_bytes(result.stdout_bytes)
    again = run("merchants", "import", str(path))
    assert again.exit_code == 0
    assert "0 created, 0 updated, 3 unchanged" in again.stdout


def test_export_guards_formulas_and_keeps_phone_numbers(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('name,category,phone\n=HYPERLINK("x"),@bio,+212 522 000 000\n', encoding="utf-8")
    run("merchants", "import", str(path))

    (row,) = read_export(run("merchants", "export").stdout_bytes)

    assert row["name"] == '\'=HYPERLINK("x")'
    assert row["category"] == "'@bio"
    assert row["phone"] == "+212 522 000 000"


def test_a_merchant_with_two_handles_on_one_platform_lists_both(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('name,handles\nÉpis,"instagram:@epis.shop;instagram:@epis.bakery"\n', encoding="utf-8")
    run("merchants", "import", str(path))

    assert by_name(run)["Épis"]["handles"] == ["instagram:@epis.shop", "instagram:@epis.bakery"]
    assert "instagram:@epis.shop instagram:@epis.bakery" in run("merchants", "list").stdout


# --- unreadable files --------------------------------------------------------------------------------


def test_missing_file_is_a_one_line_error(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"

    result = run("merchants", "import", str(missing))

    assert_one_line_error(result, f"cannot read {missing}", "No such file")


def test_directory_is_a_one_line_error(run: Run, tmp_path: Path) -> None:
    result = run("merchants", "import", str(tmp_path))

    assert_one_line_error(result, f"{tmp_path} is a folder")


def test_non_utf8_file_is_a_one_line_error_naming_file_and_line(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("name;city\nEpis;Paris\nCafé Rouge;Lyon\n".encode("cp1252"))

    result = run("merchants", "import", str(path))

    assert_one_line_error(result, f"{path}: line 3:", "not UTF-8")
    assert listed(run) == []


def test_file_without_name_column_is_a_one_line_error(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "nom.csv"
    path.write_text("nom,ville\nÉpis,Paris\n", encoding="utf-8")

    result = run("merchants", "import", str(path))

    assert_one_line_error(result, f"{path}: line 1: no 'name' column")


def test_missing_config_file_is_a_configuration_error_exit_2(run: Run, tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nope.toml"), "merchants", "list")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: configuration: ")
    assert "Traceback" not in result.output


# --- users -------------------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


def stored_hash(db_url: str, email: str) -> str:
    async def fetch() -> str:
        engine = create_engine(db_url)
        try:
            async with make_sessionmaker(engine)() as session:
                value = await session.scalar(select(User.password_hash).where(User.email == email))
                assert value is not None
                return value
        finally:
            await engine.dispose()

    return asyncio.run(fetch())


def test_users_add_with_password_stdin_and_list(run: Run, db_url: str) -> None:
    result = run("users", "add", "Ana@Example.org", "--role", "curator", "--password-stdin", input=PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added curator ana@example.org (user ")
    password_hash = stored_hash(db_url, "ana@example.org")
    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, PASSWORD)

    listing = run("users", "list")
    assert listing.exit_code == 0
    (line,) = listing.stdout.splitlines()
    assert "ana@example.org" in line
    assert "curator" in line
    assert "$argon2" not in listing.stdout
    as_json = run("users", "list", "--json")
    (user,) = json.loads(as_json.stdout)
    assert (user["email"], user["role"], user["disabled"], user["merchants"]) == (
        "ana@example.org",
        "curator",
        False,
        [],
    )
    assert "password" not in json.dumps(user)
    assert "$argon2" not in as_json.stdout


def test_users_add_merchant_bound_to_an_imported_merchant(run: Run, acceptance_file: Path) -> None:
    run("merchants", "import", str(acceptance_file))
    epis_id = by_name(run)["Boulangerie Les Trois Épis"]["id"]

    result = run(
        "users",
        "add",
        "owner@troisepis.fr",
        "--role",
        "merchant",
        "--merchant",
        str(epis_id),
        "--password-stdin",
        input=PASSWORD + "\r\n",
    )

    assert result.exit_code == 0, result.output
    assert f"for merchant(s) {epis_id}" in result.stdout
    listing = run("users", "list")
    assert f"owner@troisepis.fr  merchant merchants [{epis_id}]" in listing.stdout


def test_weak_password_is_refused_with_a_clear_message(run: Run) -> None:
    result = run("users", "add", "ana@example.org", "--role", "admin", "--password-stdin", input="short\n")

    assert_one_line_error(result, "at least 12 characters")
    assert run("users", "list").stdout == ""


def test_password_equal_to_the_email_is_refused(run: Run) -> None:
    result = run(
        "users", "add", "ana.lopez@example.org", "--role", "admin", "--password-stdin", input="Ana.Lopez@Example.org\n"
    )

    assert_one_line_error(result, "must not be the e-mail address")


def test_empty_stdin_is_refused(run: Run) -> None:
    result = run("users", "add", "ana@example.org", "--role", "admin", "--password-stdin", input="")

    assert_one_line_error(result, "--password-stdin", "nothing was given")


def test_merchant_user_without_merchant_option_names_it(run: Run) -> None:
    result = run("users", "add", "owner@troisepis.fr", "--role", "merchant", "--password-stdin", input=PASSWORD + "\n")

    assert_one_line_error(result, "--merchant")
    assert run("users", "list").stdout == ""


def test_unknown_merchant_id_is_refused(run: Run) -> None:
    result = run(
        "users",
        "add",
        "owner@troisepis.fr",
        "--role",
        "merchant",
        "--merchant",
        "42",
        "--password-stdin",
        input=PASSWORD + "\n",
    )

    assert_one_line_error(result, "merchant 42 does not exist")


def test_duplicate_user_is_refused(run: Run) -> None:
    run("users", "add", "ana@example.org", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")

    result = run("users", "add", "ANA@example.org", "--role", "curator", "--password-stdin", input=PASSWORD + "\n")

    assert_one_line_error(result, "already exists")
    assert len(run("users", "list").stdout.splitlines()) == 1


def test_invalid_email_is_refused(run: Run) -> None:
    result = run("users", "add", "ana-at-example.org", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")

    assert_one_line_error(result, "is not an e-mail address")


def test_unknown_role_is_a_usage_error(run: Run) -> None:
    result = run("users", "add", "ana@example.org", "--role", "owner", "--password-stdin", input=PASSWORD + "\n")

    assert result.exit_code == 2
    assert "'owner' is not one of" in result.stderr


# --- the installed console script --------------------------------------------------------------------


def test_installed_console_script_imports_end_to_end(sqlite_url: str, tmp_path: Path, acceptance_file: Path) -> None:
    script = Path(sys.executable).parent / "listener"
    assert script.is_file(), f"{script} is not installed (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    env |= {
        "LISTENER_DATABASE_URL": sqlite_url,
        "LISTENER_DATA_DIR": str(tmp_path / "data"),
        "PYTHONIOENCODING": "utf-8",
    }
    work = tmp_path / "cwd"
    work.mkdir()

    def listener(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], cwd=work, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
        )

    result = listener("merchants", "import", str(acceptance_file))

    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == "imported 3 merchant(s): 3 created, 0 updated, 0 unchanged; 2 row(s) rejected"
    errors = result.stderr.splitlines()
    assert [e.split(": ", 1)[0] for e in errors] == [f"{acceptance_file}:3", f"{acceptance_file}:6"]
    assert "Traceback" not in result.stderr

    listing = listener("merchants", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert {m["name"] for m in json.loads(listing.stdout)} == GOOD_NAMES

    missing = listener("merchants", "import", str(tmp_path / "absent.csv"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: cannot read ")
    assert len(missing.stderr.splitlines()) == 1
