"""Settings: defaults, TOML, environment precedence, secrets only from the environment, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import ConfigError, Secret, load_settings

ROOT = Path(__file__).resolve().parents[2]
LISTENER = str(Path(sys.executable).with_name("listener"))


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "listener.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_define_the_two_campaigns_and_sqlite_in_the_data_dir() -> None:
    s = load_settings(environ={})
    assert set(s.campaigns) == {"lovelocal", "soutenons"}
    love = s.campaigns["lovelocal"]
    assert love.hashtags == ["LoveLocal"]
    assert love.languages == ["ar", "fr", "en"]
    assert love.region == "MENA"
    soutenons = s.campaigns["soutenons"]
    assert soutenons.hashtags == ["SoutenonsnosTPEPME"]
    assert soutenons.languages == ["fr"]
    assert soutenons.timezone == "Europe/Paris"
    assert s.data_dir == Path("data")
    assert s.database_url == "sqlite+aiosqlite:///data/listener.db"
    assert s.is_sqlite


def test_toml_file_then_environment_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
data_dir = "/srv/listener"
[web]
port = 9000
[campaigns.shop]
name = "Shop local"
hashtags = ["#ShopLocal", "AchatLocal"]
languages = ["fr", "en"]
timezone = "Europe/Paris"
start = 2026-11-01
end = 2026-12-31
[sources.mastodon]
instances = ["https://piaille.fr"]
""",
    )
    s = load_settings(
        path,
        environ={
            "LISTENER_WEB_PORT": "9100",
            "LISTENER_MASTODON_INSTANCES": "https://a.test, https://b.test",
        },
    )
    assert s.config_path == path
    assert s.data_dir == Path("/srv/listener")
    assert s.database_url == "sqlite+aiosqlite:////srv/listener/listener.db"
    assert s.web.port == 9100  # environment wins over the file
    assert list(s.campaigns) == ["shop"]  # a [campaigns] table replaces the defaults
    assert s.campaigns["shop"].hashtags == ["ShopLocal", "AchatLocal"]
    assert s.sources.mastodon.instances == ["https://a.test", "https://b.test"]


def test_listener_config_variable_and_data_dir_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level = 'DEBUG'\n")
    s = load_settings(environ={"LISTENER_CONFIG": str(path), "LISTENER_DATA_DIR": str(tmp_path / "d")})
    assert s.log_level == "DEBUG"
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'listener.db'}"


def test_database_url_from_environment() -> None:
    url = "postgresql+asyncpg://listener@db.internal/listener"
    assert load_settings(environ={"LISTENER_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("body", "env", "expected"),
    [
        ("colour = 'blue'\n", {}, "unknown key 'colour' in the top level"),
        ("[web]\nprot = 80\n", {}, "unknown key 'prot' in [web]"),
        ("[web]\nport = 'eighty'\n", {}, "web.port: Input should be a valid integer"),
        ("", {"LISTENER_WEB_PORT": "abc"}, "LISTENER_WEB_PORT (environment): web.port"),
        ("", {"LISTENER_X_ENABLED": "perhaps"}, "LISTENER_X_ENABLED (environment): sources.x.enabled"),
        ("[campaigns.a]\nname='A'\nhashtags=[]\n", {}, "campaigns.a.hashtags"),
        (
            "[campaigns.a]\nname='A'\nhashtags=['x']\ntimezone='Mars/Olympus'\n",
            {},
            "unknown time zone 'Mars/Olympus'",
        ),
        ("[campaigns.a]\nname='A'\nhashtags=['x']\nlanguages=['de']\n", {}, "campaigns.a.languages.0"),
        (
            "[campaigns.a]\nname='A'\nhashtags=['x']\nstart=2026-12-01\nend=2026-11-01\n",
            {},
            "is before start",
        ),
        ("database_url = 'mysql://x'\n", {}, "database_url: must start with 'sqlite+aiosqlite://'"),
        ("[sources.x]\nbearer_token = 'abc'\n", {}, "set the environment variable LISTENER_X_BEARER_TOKEN"),
        ("[web\n", {}, "not valid TOML"),
    ],
)
def test_bad_configuration_names_the_key(tmp_path: Path, body: str, env: dict[str, str], expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ=env)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_missing_explicit_file_is_an_error_but_missing_default_is_not(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="LISTENER_CONFIG"):
        load_settings(environ={"LISTENER_CONFIG": str(tmp_path / "nope.toml")})


def test_secrets_come_from_the_environment_and_never_print() -> None:
    s = load_settings(environ={"LISTENER_X_BEARER_TOKEN": "AAAA-very-secret-token"})
    token = s.secrets.get("x_bearer_token")
    assert isinstance(token, Secret)
    assert token.reveal() == "AAAA-very-secret-token"
    assert "very-secret" not in repr(s)
    assert "very-secret" not in str(token)
    assert s.secrets.get("bluesky_app_password") is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("[web]\nport = 'eighty'\n", "web.port"),
    ],
)
def test_cli_bad_config_is_one_line_and_exit_2(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    done = subprocess.run(
        [LISTENER, "--config", str(path), "check"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_missing_config_file_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [LISTENER, "--config", str(tmp_path / "missing.toml"), "merchants", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: configuration:")
    assert "config file not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_example_config_is_valid_and_documents_every_section() -> None:
    example = ROOT / "listener.example.toml"
    s = load_settings(example, environ={})
    assert set(s.campaigns) == {"lovelocal", "soutenons"}
    text = example.read_text(encoding="utf-8")
    for section in (
        "[web]",
        "[scheduler]",
        "[sources.x]",
        "[sources.mastodon]",
        "[sources.bluesky]",
        "[sources.instagram]",
        "[sources.rss]",
    ):
        assert section in text
