"""Settings from KEYVEND_* env and a TOML file, and the master secret they lead to."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from keyvend.config import Settings, UnsafeSecret, load_secret

LONG_SECRET = "s" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No KEYVEND_* from the outer environment, and no ./keyvend.toml but the test's own."""
    for name in list(os.environ):
        if name.upper().startswith("KEYVEND_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_apply_when_nothing_is_configured() -> None:
    settings = Settings()
    assert settings.data_dir == Path("keyvend-data")
    assert settings.port == 8080
    assert settings.environment == "production"
    assert settings.rate_limit_enabled is True
    assert settings.rate_limit_guest == "100/minute"
    assert settings.rate_limit_guest_miss == "20/minute"
    assert settings.rate_limit_login == "10/hour"
    assert settings.rate_limit_authenticated == "1000/hour"
    assert settings.rate_limit_whitelist == []


def test_keyvend_env_variables_set_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYVEND_PORT", "9000")
    monkeypatch.setenv("KEYVEND_DATA_DIR", "/srv/keys")
    monkeypatch.setenv("KEYVEND_RATE_LIMIT_ENABLED", "false")
    monkeypatch.setenv("KEYVEND_RATE_LIMIT_GUEST", "5/second")
    monkeypatch.setenv("KEYVEND_LOG_LEVEL", "DEBUG")
    settings = Settings()
    assert settings.port == 9000
    assert settings.data_dir == Path("/srv/keys")
    assert settings.rate_limit_enabled is False
    assert settings.rate_limit_guest == "5/second"
    assert settings.log_level == "debug"


def test_comma_separated_env_lists_become_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYVEND_RATE_LIMIT_WHITELIST", "10.0.0.0/8, 127.0.0.1,,::1")
    monkeypatch.setenv("KEYVEND_TRUSTED_PROXIES", "192.168.1.1")
    settings = Settings()
    assert settings.rate_limit_whitelist == ["10.0.0.0/8", "127.0.0.1", "::1"]
    assert settings.trusted_proxies == ["192.168.1.1"]


def test_the_toml_file_named_by_keyvend_config_sets_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = write_toml(
        tmp_path / "elsewhere.toml",
        'port = 7000\nenvironment = "staging"\nrate_limit_whitelist = ["10.1.0.0/16"]\n',
    )
    monkeypatch.setenv("KEYVEND_CONFIG", str(toml))
    settings = Settings()
    assert settings.port == 7000
    assert settings.environment == "staging"
    assert settings.rate_limit_whitelist == ["10.1.0.0/16"]


def test_env_wins_over_the_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = write_toml(tmp_path / "k.toml", 'port = 7000\nhost = "10.0.0.5"\n')
    monkeypatch.setenv("KEYVEND_CONFIG", str(toml))
    monkeypatch.setenv("KEYVEND_PORT", "9000")
    settings = Settings()
    assert settings.port == 9000
    assert settings.host == "10.0.0.5"


def test_keyvend_toml_in_the_working_directory_is_read_by_default(tmp_path: Path) -> None:
    write_toml(tmp_path / "keyvend.toml", "workers = 3\n")
    assert Settings().workers == 3


def test_a_missing_toml_file_leaves_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYVEND_CONFIG", "/nonexistent/keyvend.toml")
    assert Settings().port == 8080


def test_constructor_arguments_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYVEND_PORT", "9000")
    assert Settings(port=1234).port == 1234


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEYVEND_LOG_LEVEL", "loud"),
        ("KEYVEND_RATE_LIMIT_GUEST", "lots"),
        ("KEYVEND_RATE_LIMIT_WHITELIST", "10.0.0.0/8,not-an-ip"),
        ("KEYVEND_TRUSTED_PROXIES", "300.1.1.1"),
        ("KEYVEND_PORT", "70000"),
        ("KEYVEND_WORKERS", "0"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    field = name.removeprefix("KEYVEND_").lower()
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_the_database_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'data' / 'keyvend.db'}"
    url = "postgresql+psycopg://u@h/db"
    assert Settings(database_url=url).effective_database_url == url


# -- the master secret --------------------------------------------------------------------------


def test_without_a_secret_key_a_secret_file_with_mode_0600_is_generated(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    secret = load_secret(Settings(data_dir=data_dir))
    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) == 64
    assert path.read_bytes() == secret
    int(secret, 16)  # hex text: raises if not


def test_the_generated_secret_is_reused_on_the_next_start(tmp_path: Path) -> None:
    first = load_secret(Settings(data_dir=tmp_path))
    modified = (tmp_path / "secret.key").stat().st_mtime_ns
    assert load_secret(Settings(data_dir=tmp_path)) == first
    assert (tmp_path / "secret.key").stat().st_mtime_ns == modified


def test_an_existing_secret_file_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("b" * 64 + "\n")
    assert load_secret(Settings(data_dir=tmp_path)) == b"b" * 64


@pytest.mark.parametrize("content", ["", "\n", "short"])
def test_an_empty_or_truncated_secret_file_is_refused_rather_than_used(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / "secret.key").write_text(content)
    with pytest.raises(UnsafeSecret, match=r"secret\.key must be at least 32 characters"):
        load_secret(Settings(data_dir=tmp_path))


def test_generating_the_secret_leaves_no_draft_file_behind(tmp_path: Path) -> None:
    load_secret(Settings(data_dir=tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_a_secret_file_written_by_a_racing_process_wins_over_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "secret.key"
    real_link = os.link

    def racing_link(src: str, dst: str) -> None:
        path.write_text("r" * 64)  # the other process links its key first
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_secret(Settings(data_dir=tmp_path)) == b"r" * 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_two_data_dirs_get_different_secrets(tmp_path: Path) -> None:
    assert load_secret(Settings(data_dir=tmp_path / "a")) != load_secret(
        Settings(data_dir=tmp_path / "b")
    )


def test_a_configured_secret_key_is_used_and_no_file_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KEYVEND_SECRET_KEY", LONG_SECRET)
    assert load_secret(Settings(data_dir=tmp_path)) == LONG_SECRET.encode()
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("environment", ["production", "staging", "Dev"])
def test_a_short_secret_key_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str
) -> None:
    monkeypatch.setenv("KEYVEND_SECRET_KEY", "s" * 31)
    monkeypatch.setenv("KEYVEND_ENVIRONMENT", environment)
    with pytest.raises(UnsafeSecret, match="KEYVEND_SECRET_KEY must be at least 32 characters"):
        load_secret(Settings(data_dir=tmp_path))


@pytest.mark.parametrize("environment", ["development", "DEVELOPMENT"])
def test_a_short_secret_key_is_allowed_in_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str
) -> None:
    monkeypatch.setenv("KEYVEND_SECRET_KEY", "dev")
    monkeypatch.setenv("KEYVEND_ENVIRONMENT", environment)
    assert load_secret(Settings(data_dir=tmp_path)) == b"dev"


def test_an_empty_secret_key_is_refused_outside_development(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSecret):
        load_secret(Settings(data_dir=tmp_path, secret_key=""))


def test_the_secret_key_never_shows_in_the_settings_repr_or_dump(tmp_path: Path) -> None:
    secret = "s3cr3t-" + "k" * 40
    settings = Settings(data_dir=tmp_path, secret_key=secret)
    assert secret not in repr(settings)
    assert secret not in settings.model_dump_json()
    assert load_secret(settings) == secret.encode()


def test_serving_several_workers_without_redis_warns_that_limits_multiply(tmp_path: Path) -> None:
    from keyvend.cli import limits_warning

    alone = Settings(data_dir=tmp_path)
    assert limits_warning(alone, 1) is None
    warning = limits_warning(alone, 4)
    assert warning is not None and "4 times higher" in warning and "KEYVEND_REDIS_URL" in warning
    shared = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0")
    assert limits_warning(shared, 4) is None
    assert limits_warning(Settings(data_dir=tmp_path, rate_limit_enabled=False), 4) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter22@mail.example.com",
        "smtp://user:hunter22@",
        "smtp://user:hunter22@mail.example.com:port",
        "mail.example.com",
    ],
)
def test_a_bad_smtp_url_is_refused_naming_the_setting_without_its_password(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_url=url)
    # What `keyvend` prints of a refused setting: its message (never the value itself).
    messages = [error["msg"] for error in refused.value.errors()]
    assert any("KEYVEND_SMTP_URL" in message for message in messages)
    assert not any("hunter22" in message for message in messages)


def test_good_smtp_urls_are_accepted() -> None:
    for url in ("smtp://127.0.0.1:25", "smtps://u%40x.com:pw@smtp.example.com:465"):
        assert Settings(smtp_url=url).smtp_url is not None
