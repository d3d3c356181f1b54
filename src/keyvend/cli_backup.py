"""`keyvend backup DEST` and `keyvend restore SRC`: a SQLite install's database and secret.

On PostgreSQL both refuse with a pointer to `pg_dump` (the README's Operations section has the
commands): a dump tool of the server's own version does that job better than a copy from here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from keyvend.services import backup as backups
from keyvend.services.backup import Copied

JSON_OPT = typer.Option(False, "--json", help="Print one JSON object on stdout.")


def backup(
    dest: Annotated[Path, typer.Argument(help="New or empty directory for the copy.")],
    as_json: bool = JSON_OPT,
) -> None:
    """Copy the database (consistently, while serving) and secret.key into DEST."""
    # keyvend.cli registers this command, so its helpers are imported when it runs.
    from keyvend.cli import load_settings

    done = backups.backup(load_settings(), dest)
    _report(done, f"Backed up {done.keys} API key(s) to {dest}", as_json)


def restore(
    src: Annotated[Path, typer.Argument(help="A directory written by `keyvend backup`.")],
    force: bool = typer.Option(False, "--force", help="Replace a database that holds data."),
    as_json: bool = JSON_OPT,
) -> None:
    """Copy a backup's database and secret.key onto the data dir (stop the server first)."""
    from keyvend.cli import load_settings

    done = backups.restore(load_settings(), src, force=force)
    _report(done, f"Restored {done.keys} API key(s) to {done.database}", as_json)


def _report(done: Copied, headline: str, as_json: bool) -> None:
    secret = str(done.secret) if done.secret else None
    data = {"database": str(done.database), "secret": secret, "keys": done.keys}
    lines = [headline, f"  database: {done.database}"]
    lines.append(
        f"  secret:   {secret}" if secret else "  secret:   KEYVEND_SECRET_KEY (not copied)"
    )
    typer.echo(json.dumps(data) if as_json else "\n".join(lines))
