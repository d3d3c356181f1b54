"""The secret key and its database: the check at start, the upgrade path, rotation.

On SQLite and PostgreSQL, with the secret in `secret.key` or in `KEYVEND_SECRET_KEY`, driven
through the `keyvend` command as an operator would.
"""

from __future__ import annotations

import gc
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text, update
from starlette.testclient import TestClient

from keyvend.app import app_from_env
from keyvend.db.engine import make_engine
from keyvend.db.migrate import alembic_config
from keyvend.db.models import ApiKeyService, Email, SecretCheck
from keyvend.db.unit_of_work import Database
from keyvend.domain.vault import KeyVault
from keyvend.services import order
from keyvend.services import secret as secret_service
from tests.conftest import SECRET, Api
from tests.support.install import (
    Install,
    assert_everything_works,
    migrated_and_filled,
)

OTHER_SECRET = "another-secret-" + "y" * 40


@pytest.fixture
def install(tmp_path: Path, database_url: str) -> Install:
    """An install whose secret comes from KEYVEND_SECRET_KEY."""
    return Install(tmp_path / "data", database_url, SECRET)


@pytest.fixture
def file_install(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Install:
    """An install whose secret is the generated `secret.key` in its data dir."""
    monkeypatch.delenv("KEYVEND_SECRET_KEY", raising=False)
    return Install(tmp_path / "data", database_url, None)


@pytest.fixture
def engine(install: Install) -> Iterator[Engine]:
    made = make_engine(install.database_url)
    yield made
    made.dispose()


def stored(install: Install) -> list[list[Any]]:
    """Every stored digest and ciphertext, and the secret check row."""
    engine = make_engine(install.database_url)
    queries = [
        "SELECT id, key_digest, key_ciphertext FROM service_apikey ORDER BY id",
        "SELECT id, api_token_digest FROM admins ORDER BY id",
        "SELECT id, api_token_digest FROM clients ORDER BY id",
        "SELECT id, token_digest FROM sessions ORDER BY id",
        "SELECT id, check_value, wrapped_token_key FROM secret_check",
    ]
    try:
        with engine.connect() as connection:
            return [[tuple(row) for row in connection.execute(text(q))] for q in queries]
    finally:
        engine.dispose()


def queued_mails(install: Install) -> list[tuple[bytes, bytes]]:
    engine = make_engine(install.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Email.subject, Email.body_text)).all()
            return [(row.subject, row.body_text) for row in rows]
    finally:
        engine.dispose()


def check_value(install: Install) -> str | None:
    engine = make_engine(install.database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(SecretCheck.check_value))
    finally:
        engine.dispose()


def refusal(install: Install, *args: str) -> str:
    """Run a command that must refuse: exit 2 and one line on stderr, which is returned."""
    result = install.run(*args)
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the check at start ------------------------------------------------------------------------


def test_a_changed_secret_key_refuses_serve_and_migrate_naming_the_setting(
    install: Install,
) -> None:
    migrated_and_filled(install)
    before = stored(install)
    install.secret = OTHER_SECRET
    for command_name in ("serve", "migrate"):
        assert "KEYVEND_SECRET_KEY does not match the database" in refusal(install, command_name)
    assert stored(install) == before


def test_a_changed_secret_file_refuses_naming_secret_key_and_its_path(
    file_install: Install,
) -> None:
    migrated_and_filled(file_install)
    file_install.secret_file.write_text("z" * 64)
    path = file_install.secret_file.resolve()
    for command_name in ("serve", "migrate"):
        message = refusal(file_install, command_name)
        assert f"secret.key ({path}) does not match the database" in message


def test_a_missing_secret_file_beside_a_database_with_data_refuses_and_writes_none(
    file_install: Install,
) -> None:
    migrated_and_filled(file_install)
    file_install.secret_file.unlink()
    for command_name in ("serve", "migrate"):
        message = refusal(file_install, command_name)
        assert f"secret.key ({file_install.secret_file.resolve()}) is missing" in message
        assert not file_install.secret_file.exists()
    assert sorted(p.name for p in file_install.data_dir.iterdir() if "secret" in p.name) == []


def test_an_empty_database_gets_a_generated_secret_file_and_its_check_value(
    file_install: Install,
) -> None:
    file_install.ok("migrate")
    assert mode(file_install.secret_file) == 0o600
    secret = file_install.secret_file.read_bytes()
    assert len(secret) == 64
    assert check_value(file_install) == KeyVault(secret).check_value
    assert secret.hex() not in str(check_value(file_install))


def test_a_migrated_database_without_data_accepts_a_new_secret(file_install: Install) -> None:
    file_install.ok("migrate")
    file_install.secret_file.unlink()  # nothing was made with it yet
    file_install.ok("migrate")
    assert check_value(file_install) == KeyVault(file_install.secret_file.read_bytes()).check_value


def test_the_check_value_does_not_reveal_the_secret(install: Install) -> None:
    install.ok("migrate")
    value = check_value(install)
    assert value == KeyVault(SECRET.encode()).check_value
    assert value != KeyVault(OTHER_SECRET.encode()).check_value
    assert SECRET not in str(value) and SECRET.encode().hex() not in str(value)


# -- an install from before the check --------------------------------------------------------


def test_a_database_from_before_the_check_records_the_current_secret_on_first_start(
    install: Install, engine: Engine
) -> None:
    contents = migrated_and_filled(install)
    command.downgrade(alembic_config(engine), "0001")  # the schema before this change
    assert not inspect(engine).has_table("secret_check")
    install.ok("migrate")
    assert check_value(install) == KeyVault(SECRET.encode()).check_value
    assert_everything_works(install, contents)


def test_a_database_from_before_the_check_refuses_a_secret_its_keys_do_not_open(
    install: Install, engine: Engine
) -> None:
    migrated_and_filled(install)
    command.downgrade(alembic_config(engine), "0001")
    install.secret = OTHER_SECRET
    assert "KEYVEND_SECRET_KEY does not match the database" in refusal(install, "serve")
    assert check_value(install) is None  # nothing recorded: the right secret still can be


# -- rotation ----------------------------------------------------------------------------------


def test_rotating_a_secret_file_keeps_every_key_token_and_session_working(
    file_install: Install,
) -> None:
    contents = migrated_and_filled(file_install)
    old = file_install.secret_file.read_text()
    before = stored(file_install)
    done = file_install.ok("secret", "rotate")
    assert done == {
        "rotated": True,
        "keys": 3,
        "secret_file": str(file_install.secret_file),
    }
    new = file_install.secret_file.read_text()
    assert new != old and len(new) == 64
    assert (file_install.data_dir / "secret.key.old").read_text() == old
    assert not (file_install.data_dir / "secret.key.new").exists()
    for name in ("secret.key", "secret.key.old"):
        assert mode(file_install.data_dir / name) == 0o600
    after = stored(file_install)
    assert after[0] != before[0]  # every key digest and ciphertext moved to the new secret
    assert {row[1] for row in after[0]} == {
        KeyVault(new.encode()).key_digest(k) for k in contents.keys
    }
    assert after[1:4] == before[1:4]  # token digests stay: their key is kept, wrapped
    assert_everything_works(file_install, contents)
    # The outbox (sign-up and key mails) is re-encrypted under the new secret too.
    subjects = [KeyVault(new.encode()).decrypt_key(s) for s, _ in queued_mails(file_install)]
    assert any(subject.startswith("Welcome") for subject in subjects)


def test_rotating_with_keyvend_secret_key_prints_the_secret_to_set_and_can_repeat(
    install: Install, tmp_path: Path
) -> None:
    contents = migrated_and_filled(install)
    done = install.ok("secret", "rotate")
    assert done["set"] == "KEYVEND_SECRET_KEY" and done["keys"] == 3
    assert not install.data_dir.joinpath("secret.key").exists()
    install.secret = done["secret"]
    assert_everything_works(install, contents)
    chosen = tmp_path / "chosen.key"
    chosen.write_text(OTHER_SECRET + "\n")
    again = install.ok("secret", "rotate", "--new-secret-file", str(chosen))
    assert "secret" not in again  # the operator's own secret is not printed
    install.secret = OTHER_SECRET
    assert_everything_works(install, contents)
    assert check_value(install) == KeyVault(OTHER_SECRET.encode()).check_value


def test_rotating_refuses_a_wrong_current_secret_and_changes_nothing(
    file_install: Install,
) -> None:
    migrated_and_filled(file_install)
    file_install.secret_file.write_text("w" * 64)
    before = stored(file_install)
    assert "does not match the database" in refusal(file_install, "secret", "rotate")
    assert stored(file_install) == before
    assert file_install.secret_file.read_text() == "w" * 64
    names = sorted(p.name for p in file_install.data_dir.iterdir() if "secret" in p.name)
    assert names == ["secret.key"]


def test_rotating_refuses_when_a_key_cannot_be_decrypted_and_changes_nothing(
    install: Install, engine: Engine
) -> None:
    contents = migrated_and_filled(install)
    with engine.begin() as connection:
        connection.execute(
            update(ApiKeyService)
            .where(ApiKeyService.id == 2)
            .values(key_ciphertext=KeyVault(OTHER_SECRET.encode()).encrypt_key("X"))
        )
    before = stored(install)
    assert "API key #2 cannot be read" in refusal(install, "secret", "rotate")
    assert stored(install) == before
    contents.keys.pop(1)  # the others still check valid with the current secret
    assert_everything_works(install, contents)


def test_rotating_refuses_a_new_secret_that_is_too_short(install: Install, tmp_path: Path) -> None:
    migrated_and_filled(install)
    short = tmp_path / "short.key"
    short.write_text("too-short")
    before = stored(install)
    message = refusal(install, "secret", "rotate", "--new-secret-file", str(short))
    assert "must be at least 32 characters" in message
    assert stored(install) == before


def test_a_rotation_interrupted_after_its_commit_is_named_at_the_next_start(
    file_install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = migrated_and_filled(file_install)
    staged = file_install.data_dir / "secret.key.new"

    def crash(_settings: object) -> Path:
        raise OSError("No space left on device")  # between the commit and the move

    monkeypatch.setattr(secret_service, "_install", crash)
    assert file_install.run("secret", "rotate").exit_code != 0
    monkeypatch.undo()
    assert staged.exists()
    assert f"left {staged}" in refusal(file_install, "serve")
    staged.replace(file_install.secret_file)  # what the message tells the operator to do
    assert_everything_works(file_install, contents)


# -- a key that cannot be decrypted is an error, not a 500 -------------------------------------


def test_order_service_with_an_undecryptable_key_answers_an_envelope_error(
    api: Api, db: Database, active_order: dict[str, Any], customer: dict[str, Any]
) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(ApiKeyService)
            .where(ApiKeyService.order_id == active_order["id"])
            .values(key_ciphertext=KeyVault(OTHER_SECRET.encode()).encrypt_key("X"))
        )
        uow.commit()
    admin = ("admin", api.admin_token)
    for path, auth in (("admin/order/service", admin), ("client/order/service", customer["auth"])):
        status, body = api.call(path, auth=auth, id=active_order["id"])
        assert status == 200
        assert body["result"] is None
        assert body["error"]["code"] == 9999
        assert "cannot be read with the current secret key" in body["error"]["message"]
    detail = order.detail(db, active_order["id"])  # what the order pages show
    assert detail.service is None
    assert detail.note is not None and "cannot be read" in detail.note


def test_after_a_rotation_the_workers_app_accepts_the_old_api_tokens(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = migrated_and_filled(install)
    install.secret = install.ok("secret", "rotate")["secret"]
    for name, value in install.env().items():
        monkeypatch.setenv(name, str(value))
    worker_app = app_from_env()  # what every `keyvend serve` worker builds
    gc.unfreeze()
    try:
        with TestClient(worker_app) as http:
            response = http.post(
                "/api/admin/profile/get", json={}, auth=("admin", contents.admin_token)
            )
    finally:
        worker_app.state.db.dispose()
    assert response.json()["error"] is None
