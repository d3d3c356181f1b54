"""`keyvend secret rotate`: move every key, token and session to a new master secret.

Keys are re-digested and re-encrypted under the new secret; API tokens and sessions keep
working because their digest key is kept across rotations, stored wrapped under the current
secret (the design is in `keyvend.services.secret`). Stop every server first: one still
running keeps the old secret's keys in memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from keyvend.cli_output import fail
from keyvend.config import Settings, UnsafeSecret, check_secret_length
from keyvend.domain.errors import KeyvendError
from keyvend.services import secret
from keyvend.services.secret import Rotated, SecretMismatch

secret_app = typer.Typer(help="The master secret (secret.key or KEYVEND_SECRET_KEY).")


@secret_app.callback()
def _group() -> None:
    """The master secret (secret.key or KEYVEND_SECRET_KEY)."""


@secret_app.command("rotate")
def rotate(
    new_secret_file: Annotated[
        Path | None,
        typer.Option("--new-secret-file", help="File holding the new secret [default: generated]."),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Move every key, token and session to a new secret key in one transaction."""
    # keyvend.cli registers this command, so its helpers are imported when it runs.
    from keyvend.cli import load_settings, open_database

    settings = load_settings()
    db = open_database(settings)  # refuses (exit 2) a secret that does not match
    try:
        new_secret = _new_secret(settings, new_secret_file)
        done = secret.rotate(db, settings, new_secret)
    except (SecretMismatch, UnsafeSecret, KeyvendError) as exc:
        fail(exc, as_json, code=2)  # nothing changed
    finally:
        db.dispose()
    _report(done, new_secret if new_secret_file is None else None, as_json)


def _new_secret(settings: Settings, path: Path | None) -> str:
    """The secret in `path`, or 64 random hex characters (as a generated `secret.key`)."""
    if path is None:
        return os.urandom(32).hex()
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise UnsafeSecret(f"--new-secret-file {path}: {exc.strerror}") from None
    check_secret_length(text, f"--new-secret-file {path}", settings)
    return text


def _report(done: Rotated, generated: str | None, as_json: bool) -> None:
    data: dict[str, Any] = {"rotated": True, "keys": done.keys}
    lines = [f"Rotated the secret key: {done.keys} API key(s) moved; tokens and sessions kept."]
    if done.secret_file is not None:
        data["secret_file"] = str(done.secret_file)
        lines.append(f"New secret written to {done.secret_file} (the old one: secret.key.old).")
    else:
        data["set"] = "KEYVEND_SECRET_KEY"
        lines.append("Set KEYVEND_SECRET_KEY to the new secret before the next start:")
        if generated is not None:
            data["secret"] = generated
        lines.append(f"  {generated}" if generated else "  the contents of --new-secret-file")
    typer.echo(json.dumps(data) if as_json else "\n".join(lines))
