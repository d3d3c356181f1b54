"""The `keyvend` command: serve, migrate, admin, client, cron, keygen, extension."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from keyvend.app import build_database
from keyvend.config import Settings, UnsafeSecret
from keyvend.db.migrate import upgrade
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import KeyvendError
from keyvend.domain.keygen import generate_key, parse_config
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.services import client, cron, extension, staff

Command = TypeVar("Command", bound=Callable[..., Any])

JSON_OPT = typer.Option(False, "--json", help="Print one JSON object on stdout.")


class KeyvendTyper(typer.Typer):
    """A Typer app whose commands all share one error handler (see `_handled`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Command], Command]:
        register = super().command(*args, **kwargs)
        return lambda function: register(_handled(function))


def _handled(function: Command) -> Command:
    """Refusals and unsafe secrets exit 1 with their message, as JSON under `--json`."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (KeyvendError, UnsafeSecret) as exc:
            fail(exc, bool(kwargs.get("as_json")))

    return run  # type: ignore[return-value]


app = KeyvendTyper(
    help="Keyvend: sell API keys and let any application verify them.", no_args_is_help=True
)
admin_app = KeyvendTyper(help="Administrators.", no_args_is_help=True)
client_app = KeyvendTyper(help="Clients.", no_args_is_help=True)
extension_app = KeyvendTyper(help="Extensions (serviceapikey).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(client_app, name="client")
app.add_typer(extension_app, name="extension")


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print `data` as JSON or `text` for people."""
    typer.echo(json.dumps(data) if as_json else text)


def fail(exc: Exception, as_json: bool) -> NoReturn:
    message = exc.message if isinstance(exc, KeyvendError) else str(exc)
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    """Settings from env and TOML; a bad value exits with a message naming the setting."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"KEYVEND_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        typer.echo(f"Error: invalid settings: {problems}", err=True)
        raise typer.Exit(2) from None


def open_database(settings: Settings | None = None) -> Database:
    """Migrate and return the database of the current settings."""
    settings = settings or load_settings()
    try:
        db = build_database(settings)
    except UnsafeSecret as exc:  # a configuration error, like a bad setting: exit 2
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    upgrade(db.engine)
    extension.ensure_installed(db)
    return db


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on [default 127.0.0.1]."),
    port: int | None = typer.Option(None, help="Port to listen on [default 8080]."),
    workers: int | None = typer.Option(None, help="Worker processes [default 1]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Migrate, create the first admin on a new database, and serve HTTP."""
    settings = load_settings()
    db = open_database(settings)
    first = staff.create_first_admin(db)
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    url = f"http://{host}:{port}"
    info: dict[str, Any] = {"url": url, "workers": workers, "database": _safe_url(settings)}
    lines = [f"Keyvend listening on {url} ({workers} worker(s), {info['database']})"]
    if first is not None:
        info["admin"] = {
            "email": first.email,
            "password": first.password,
            "api_token": first.api_token,
        }
        lines += [
            "First admin created (shown once, store it now):",
            f"  email:     {first.email}",
            f"  password:  {first.password}",
            f"  API token: {first.api_token}",
        ]
    warning = limits_warning(settings, workers)
    if warning:
        typer.echo(f"Warning: {warning}", err=True)
    emit(as_json, info, "\n".join(lines))
    sys.stdout.flush()
    db.dispose()
    if settings.secret_key is None:  # workers must find the same generated secret
        os.environ["KEYVEND_DATA_DIR"] = str(settings.data_dir.resolve())
    # A fresh process image serves: the setup above (migrations, argon2 hashing of the first
    # admin's password) leaves nothing behind in the workers' memory.
    os.execv(  # noqa: S606 (fixed argv, no shell)
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            *uvicorn_args(host=host, port=port, workers=workers, log_level=settings.log_level),
        ],
    )


def limits_warning(settings: Settings, workers: int) -> str | None:
    """Without Redis each worker counts on its own, so every budget is `workers` times larger."""
    if workers <= 1 or settings.redis_url or not settings.rate_limit_enabled:
        return None
    return (
        f"without KEYVEND_REDIS_URL each of the {workers} workers keeps its own rate-limit "
        f"counters, so every rate limit is up to {workers} times higher; set KEYVEND_REDIS_URL "
        "to share them"
    )


def uvicorn_args(*, host: str, port: int, workers: int, log_level: str) -> list[str]:
    """uvicorn's command line for the app factory on its fastest stack."""
    return [
        "keyvend.app:app_from_env",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
        "--no-access-log",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        # The app wraps itself in uvicorn's proxy-headers layer for trusted_proxies
        # (keyvend.edge.client_address); uvicorn's own would trust 127.0.0.1 on top.
        "--no-proxy-headers",
        "--no-server-header",
    ]


@app.command()
def migrate(as_json: bool = JSON_OPT) -> None:
    """Apply database migrations."""
    open_database()
    emit(as_json, {"migrated": True}, "Database is up to date.")


@admin_app.command("create")
def admin_create(
    email: str,
    password: str | None = typer.Option(None, help="Password [default: generated]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create an administrator and print its API token."""
    account = staff.create_admin(open_database(), StaffCreate(email=email, password=password))
    text = f"Admin #{account.id} {account.email}\nAPI token: {account.api_token}"
    if password is None:
        text += f"\npassword: {account.password}"
    emit(as_json, account.public(), text)


@client_app.command("create")
def client_create(
    email: str,
    first_name: str = typer.Option(..., "--first-name", help="First name."),
    password: str | None = typer.Option(None, help="Password [default: generated]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create a client and print its API token."""
    data = ClientCreate(email=email, first_name=first_name, password=password)
    account = client.create(open_database(), data)
    emit(
        as_json,
        account.public(),
        f"Client #{account.id} {account.email}\nAPI token: {account.api_token}",
    )


@app.command("cron")
def run_cron(as_json: bool = JSON_OPT) -> None:
    """Run due lifecycle jobs once (suspend expired orders after the grace days)."""
    settings = load_settings()
    result = cron.run(open_database(settings), grace_days=settings.suspend_grace_days)
    emit(
        as_json,
        result,
        f"Suspended {len(result['suspended_orders'])} expired order(s); "
        f"removed {result['deleted_sessions']} expired session(s) and "
        f"{result['deleted_guest_carts']} abandoned guest cart(s).",
    )


@app.command()
def keygen(
    length: int = typer.Option(32, help="Hex characters, 16 to 256."),
    split: bool = typer.Option(True, "--split/--no-split", help="Dashes between groups."),
    split_interval: int = typer.Option(8, help="Characters per group."),
    case: str = typer.Option("upper", help="upper, lower or mixed."),
    prefix: str = typer.Option("", help="Prepended as is, e.g. sk_live_."),
    count: int = typer.Option(1, min=1, max=100_000, help="How many keys."),
    as_json: bool = JSON_OPT,
) -> None:
    """Print sample keys in a format (no database needed)."""
    fmt = parse_config(
        {
            "length": length,
            "split": split,
            "split_interval": split_interval,
            "case": case,
            "prefix": prefix,
        }
    )
    keys = [generate_key(fmt) for _ in range(count)]
    emit(as_json, {"keys": keys}, "\n".join(keys))


@extension_app.command("list")
def extension_list(as_json: bool = JSON_OPT) -> None:
    """List extensions and their status."""
    rows = extension.get_list(open_database())
    listed = [row.model_dump(mode="json") for row in rows]
    emit(as_json, {"extensions": listed}, "\n".join(f"{r.id}\t{r.status}" for r in rows))


@extension_app.command("activate")
def extension_activate(name: str, as_json: bool = JSON_OPT) -> None:
    """Install (if needed) and activate an extension."""
    _extension_action(lambda db: extension.activate(db, name), name, "activated", as_json)


@extension_app.command("deactivate")
def extension_deactivate(name: str, as_json: bool = JSON_OPT) -> None:
    """Deactivate an extension (its data is kept)."""
    _extension_action(lambda db: extension.deactivate(db, name), name, "deactivated", as_json)


@extension_app.command("uninstall")
def extension_uninstall(
    name: str,
    yes: bool = typer.Option(False, "--yes", help="Confirm: drop the table and all keys."),
    as_json: bool = JSON_OPT,
) -> None:
    """Uninstall an extension: drops its table and every key in it (needs --yes)."""
    if not yes:  # the service's own message speaks of the API's confirm=1
        message = f"Uninstalling {name} drops its table and every API key in it; add --yes"
        fail(KeyvendError(message), as_json)
    _extension_action(
        lambda db: extension.uninstall(db, name, confirm=yes), name, "uninstalled", as_json
    )


def _extension_action(action: Any, name: str, done: str, as_json: bool) -> None:
    action(open_database())
    emit(as_json, {"id": name, "result": done}, f"Extension {name} {done}.")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
