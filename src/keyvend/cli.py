"""The `keyvend` command: serve, migrate, admin, client, cron, keygen, extension."""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from keyvend import __version__
from keyvend.adapters.mail import mailer_for
from keyvend.app import build_database
from keyvend.cli_backup import backup, restore
from keyvend.cli_output import emit, fail
from keyvend.cli_secret import secret_app
from keyvend.config import Settings, UnsafeSecret
from keyvend.db.migrate import upgrade
from keyvend.db.unit_of_work import Database
from keyvend.domain.errors import KeyvendError
from keyvend.domain.keygen import generate_key, parse_config
from keyvend.observability.metrics import MULTIPROC_ENV
from keyvend.schemas.account import ClientCreate, StaffCreate
from keyvend.services import client, cron, extension, secret, staff
from keyvend.services.secret import SecretMismatch

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


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"keyvend {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Keyvend: sell API keys and let any application verify them."""


admin_app = KeyvendTyper(help="Administrators.", no_args_is_help=True)
client_app = KeyvendTyper(help="Clients.", no_args_is_help=True)
extension_app = KeyvendTyper(help="Extensions (serviceapikey).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(client_app, name="client")
app.add_typer(extension_app, name="extension")
app.add_typer(secret_app, name="secret")
app.command("backup")(backup)
app.command("restore")(restore)


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
    """Migrate and return the database of the current settings, once its secret matches."""
    settings = settings or load_settings()
    db: Database | None = None
    try:
        secret.refuse_a_new_secret_for_data(settings)
        db = build_database(settings)
        secret.check(db, settings)  # before migrating: a wrong secret changes nothing
        upgrade(db.engine)
        secret.record(db, settings)
        extension.ensure_installed(db)
    except Exception as exc:
        if db is not None:
            db.dispose()
        problem = startup_problem(exc, settings)
        if problem is None:
            raise
        typer.echo(f"Error: {problem}", err=True)  # a configuration error: exit 2
        raise typer.Exit(2) from None
    return db


def startup_problem(exc: Exception, settings: Settings) -> str | None:
    """One line naming the setting to fix, for the errors a configuration causes; None for
    anything else (a bug shows its traceback)."""
    if isinstance(exc, UnsafeSecret | SecretMismatch):
        return str(exc)
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"KEYVEND_DATABASE_URL: not a database URL this server can use ({exc})"
    if isinstance(exc, OperationalError | InterfaceError | SQLAlchemyTimeout):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        return f"KEYVEND_DATABASE_URL: cannot open {_safe_url(settings)} ({reason})"
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError):
        return f"KEYVEND_DATA_DIR: {settings.data_dir.resolve()} is not writable ({exc.strerror})"
    return None


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on [default 127.0.0.1]."),
    port: int | None = typer.Option(None, help="Port to listen on [default 8080]."),
    workers: int | None = typer.Option(None, help="Worker processes [default 1]."),
    as_json: bool = JSON_OPT,
) -> None:
    """Migrate, create the first admin on a new database, and serve HTTP."""
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    taken = port_is_free(host, port)
    if taken:
        typer.echo(
            f"Error: KEYVEND_HOST / KEYVEND_PORT: cannot listen on {host}:{port} ({taken})",
            err=True,
        )
        raise typer.Exit(2)
    db = open_database(settings)
    first = staff.create_first_admin(db)
    url = f"http://{host}:{port}"
    info: dict[str, Any] = {"url": url, "workers": workers, "database": _safe_url(settings)}
    lines = [f"Keyvend starting on {url} ({workers} worker(s), {info['database']})"]
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
    # Before the exec: prometheus-client picks multiprocess mode when it is imported.
    os.environ[MULTIPROC_ENV] = fresh_metrics_dir()
    raise_open_files_limit()
    # A fresh process image serves: the setup above (migrations, argon2 hashing of the first
    # admin's password) leaves nothing behind in the workers' memory.
    os.execv(  # noqa: S606 (fixed argv, no shell)
        sys.executable,
        [
            sys.executable,
            "-m",
            "keyvend.serving",
            *serving_args(host, port, workers, settings.log_level, as_json=as_json),
        ],
    )


def serving_args(host: str, port: int, workers: int, log_level: str, *, as_json: bool) -> list[str]:
    """The command line of `keyvend.serving`, the process that binds and serves."""
    args = ["--host", host, "--port", str(port), "--workers", str(workers)]
    return [*args, "--log-level", log_level, *(["--json"] if as_json else [])]


def port_is_free(host: str, port: int) -> str | None:
    """None if `host:port` can be listened on now; else why not (checked before any setup,
    so a taken port costs no migration; the serving process binds for real)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def raise_open_files_limit() -> None:
    """Lift the soft limit of open files to the hard one (systemd's soft default is 1024):
    every connection is a file, and the workers inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def fresh_metrics_dir() -> str:
    """A new, empty folder (0700) where every worker writes its metrics for /metrics to add
    up. One per start, named after this process (uvicorn keeps its pid across the exec): a
    previous run's files would count twice, and a second server must not wipe the files of
    one still serving, so only the folders of processes that are gone are removed."""
    for old in Path(tempfile.gettempdir()).glob("keyvend-metrics-*-*"):
        pid = old.name.split("-")[2]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, OSError):
            pass  # not ours, or alive under another user: leave it
    return tempfile.mkdtemp(prefix=f"keyvend-metrics-{os.getpid()}-")


def limits_warning(settings: Settings, workers: int) -> str | None:
    """Without Redis each worker counts on its own, so every budget is `workers` times larger."""
    if workers <= 1 or settings.redis_url or not settings.rate_limit_enabled:
        return None
    return (
        f"without KEYVEND_REDIS_URL each of the {workers} workers keeps its own rate-limit "
        f"counters, so every rate limit is up to {workers} times higher; set KEYVEND_REDIS_URL "
        "to share them"
    )


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
    """Run the renewal and dunning jobs once: retry failed tasks, issue renewal invoices,
    send reminders, suspend and cancel unpaid orders, remove dead sessions and carts, and
    deliver the queued emails (through KEYVEND_SMTP_URL)."""
    settings = load_settings()
    result = cron.run(open_database(settings), mailer_for(settings))
    emit(
        as_json,
        dict(result),
        f"Retried {len(result['retried_items'])} failed task(s); "
        f"issued {len(result['renewal_invoices'])} renewal invoice(s); "
        f"sent {len(result['reminders'])} reminder(s); "
        f"suspended {len(result['suspended_orders'])} order(s); "
        f"canceled {len(result['canceled_orders'])} order(s); "
        f"removed {result['deleted_sessions']} expired session(s) and "
        f"{result['deleted_guest_carts']} abandoned guest cart(s); "
        f"delivered {len(result['emails_sent'])} email(s).",
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
