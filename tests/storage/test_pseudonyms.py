"""Pseudonyms for private individuals (`storage.pseudonyms`) and their key (`Services.pseudonym_key`): stable,
different per author and per key, never the handle; the key file is made once, private, and reused; with
LISTENER_SECRET_KEY separate processes agree without any file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from jobs.services import Services
from service.settings import load_settings
from storage.pseudonyms import PREFIX, pseudonym, shown_handle

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
ROOT = Path(__file__).resolve().parents[2]


def test_a_pseudonym_is_stable_and_not_the_handle() -> None:
    first = pseudonym("x", "7700991122", KEY_A)
    assert first == pseudonym("x", "7700991122", KEY_A)
    assert first.startswith(PREFIX)
    assert len(first) == len(PREFIX) + 10
    int(first.removeprefix(PREFIX), 16)  # hex digits
    shown = shown_handle("marie_dupont", "x", "7700991122", public=False, key=KEY_A)
    assert shown == first
    assert "marie" not in shown
    assert "7700991122" not in shown


def test_it_differs_per_author_platform_and_key() -> None:
    names = {
        pseudonym("x", "1", KEY_A),
        pseudonym("x", "2", KEY_A),
        pseudonym("mastodon", "1", KEY_A),
        pseudonym("x", "1", KEY_B),
    }
    assert len(names) == 4


def test_public_authors_are_shown_by_handle() -> None:
    assert shown_handle("boulangerie_amal", "x", "42", public=True, key=KEY_A) == "boulangerie_amal"


def _services(data_dir: Path, **env: str) -> Services:
    settings = load_settings(config_path=None, environ={"LISTENER_DATA_DIR": str(data_dir), **env})
    return Services(settings=settings, engine=None, sessions=None)  # type: ignore[arg-type]  # no database needed


def test_the_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    key = _services(tmp_path / "data").pseudonym_key()
    path = tmp_path / "data" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32
    written = path.read_bytes()
    again = _services(tmp_path / "data")  # another start of the service: a fresh Services
    assert again.pseudonym_key() == key
    assert path.read_bytes() == written
    assert _services(tmp_path / "elsewhere").pseudonym_key() != key  # another deployment, another key


def test_the_secret_key_wins_and_writes_no_file(tmp_path: Path) -> None:
    services = _services(tmp_path / "data", LISTENER_SECRET_KEY="s3cret-for-the-tests-0123456789")
    key = services.pseudonym_key()
    assert not (tmp_path / "data" / "pseudonym.key").exists()
    assert key != _services(tmp_path / "other", LISTENER_SECRET_KEY="another-secret-0123456789").pseudonym_key()
    assert b"s3cret" not in key


PRINT_KEY = """
import os
from jobs.services import Services
from service.settings import load_settings
settings = load_settings(config_path=None, environ=dict(os.environ))
print(Services(settings=settings, engine=None, sessions=None).pseudonym_key().hex())
"""


def _key_processes(envs: list[dict[str, str]]) -> list[str]:
    """Start one process per environment at once; each prints the key it derives."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    running = [
        subprocess.Popen(
            [sys.executable, "-c", PRINT_KEY],
            env={**base, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    keys = []
    for process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        keys.append(out.strip())
    return keys


def test_processes_sharing_the_secret_agree(tmp_path: Path) -> None:
    secret = "one-deployment-secret-0123456789"
    keys = _key_processes(
        [
            {"LISTENER_SECRET_KEY": secret, "LISTENER_DATA_DIR": str(tmp_path / "machine-a")},
            {"LISTENER_SECRET_KEY": secret, "LISTENER_DATA_DIR": str(tmp_path / "machine-b")},
            {"LISTENER_SECRET_KEY": "a-different-secret-0123456789", "LISTENER_DATA_DIR": str(tmp_path / "c")},
        ]
    )
    assert keys[0] == keys[1] != keys[2]
    assert len(bytes.fromhex(keys[0])) == 32


def test_processes_starting_together_on_one_data_dir_agree(tmp_path: Path) -> None:
    keys = _key_processes([{"LISTENER_DATA_DIR": str(tmp_path / "data")}] * 4)
    assert len(set(keys)) == 1
    assert bytes.fromhex(keys[0]) == bytes.fromhex((tmp_path / "data" / "pseudonym.key").read_text().strip())
