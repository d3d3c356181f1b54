"""Settings: `KEYVEND_*` environment variables, then a TOML file, then defaults."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from limits import parse
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from keyvend.domain.errors import InvalidInput
from keyvend.domain.money import currency_code

MIN_SECRET_LENGTH = 32


def _toml_path() -> Path:
    return Path(os.environ.get("KEYVEND_CONFIG", "keyvend.toml"))


class Settings(BaseSettings):
    """Every knob of a Keyvend server; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="KEYVEND_", extra="ignore")

    # Storage
    data_dir: Path = Field(
        default=Path("keyvend-data"),
        description="Folder for the SQLite database and the generated secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/keyvend.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master secret (>= 32 characters) for key digests, encryption and tokens; "
        "default: generated once into <data_dir>/secret.key (mode 0600).",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db; moves rate-limit counters and key quotas to Redis.",
    )

    # Serving
    host: str = Field(default="127.0.0.1", description="Address `keyvend serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `keyvend serve` listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes of `serve`.")
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    environment: str = Field(
        default="production",
        description="`development` allows a short secret key; anything else refuses one.",
    )

    # Operations
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="`console` (readable lines) or `json` (one JSON object a line, production).",
    )
    access_log: bool = Field(
        default=False,
        description="One log line per request: method, path without query, status, duration.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics requires `Authorization: Bearer <token>`.",
    )

    header_timeout: float = Field(
        default=10.0,
        ge=0.5,
        le=300,
        description="Seconds a connection may take to send a request's line and headers "
        "before it is closed (slowloris).",
    )
    max_connections_per_client: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Open connections one client address may hold per worker; more are closed "
        "at once. Trusted proxies are exempt.",
    )

    # Accounts and sessions
    allow_signup: bool = Field(default=True, description="Let guests sign up as clients.")
    session_ttl_hours: int = Field(
        default=24 * 7, ge=1, le=24 * 365, description="Lifetime of a browser session."
    )

    database_timeout: float = Field(
        default=5.0,
        ge=0.1,
        le=300,
        description="Seconds a request waits for the database (connecting, a pooled "
        "connection, a key lookup) before it answers 503; a hung database never hangs a worker.",
    )

    # Lifecycle
    suspend_grace_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="Default of the business setting `suspend_grace_days`: days after expiry "
        "(or an unpaid invoice's due date) before an order is suspended.",
    )
    usage_flush_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between writes of each server process's in-memory key usage "
        "(checks per day, last used, quota spending) to the database; a crash loses at most "
        "this much.",
    )
    worker_interval: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="Seconds between runs of the background worker inside `serve` (renewal "
        "invoices, reminders, suspensions, retries); 0 turns it off (then run `keyvend cron`).",
    )

    # Email
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:587?starttls=true or smtps://user:pass@host:465; "
        "unset, mails stay queued in the outbox (visible at /admin/emails).",
    )
    mail_from: str = Field(
        default="Keyvend <keyvend@localhost>",
        description="The From address of every mail, e.g. `Example Ltd <billing@example.com>`.",
    )

    # Selling
    currency: str = Field(
        default="USD",
        description="The shop's ISO 4217 currency, shown with every price (USD, EUR, JPY, ...).",
    )
    public_url: str | None = Field(
        default=None,
        description="The address clients reach Keyvend at, for links in emails and Stripe's "
        "return URLs; default http://<host>:<port>.",
    )
    stripe_secret_key: SecretStr | None = Field(
        default=None,
        description="Stripe secret key (sk_live_... or sk_test_...); with the webhook secret "
        "it turns the Stripe gateway on.",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Signing secret (whsec_...) of the Stripe webhook endpoint "
        "<public_url>/webhooks/stripe.",
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Where Stripe's API is reached; default Stripe's own. Tests point it at a "
        "local fake Stripe server.",
    )

    # Rate limiting
    rate_limit_enabled: bool = Field(default=True, description="Turn rate limiting on or off.")
    rate_limit_guest: str = Field(default="100/minute", description="Guest calls per client IP.")
    rate_limit_guest_miss: str = Field(
        default="20/minute", description="Checks of keys that do not exist, per client IP."
    )
    rate_limit_login: str = Field(default="10/hour", description="Login attempts per client IP.")
    rate_limit_authenticated: str = Field(
        default="1000/hour", description="Client and admin calls, per IP and per account."
    )
    rate_limit_password_reset: str = Field(
        default="5/hour",
        description="Password-reset requests and confirmations, per client IP.",
    )
    rate_limit_application: str = Field(
        default="100000/minute",
        description="Key checks by one application (Bearer application token), instead of the "
        "caller IP's guest budgets.",
    )
    rate_limit_whitelist: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="IPs and CIDRs that are never rate limited."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="IPs and CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed.",
    )

    stream_heartbeat: float = Field(
        default=15,
        ge=0.1,
        le=300,
        description="Seconds between the revocation stream's keep-alive comments; lower it "
        "below the idle timeout of any proxy in front of Keyvend.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins (https://app.example.com, or * for any) whose pages may call "
        "the guest endpoints from a browser; empty: CORS off.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("log_level must be debug, info, warning or error")
        return value.lower()

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        # A bad URL stops the start with a message naming the setting, not the first send.
        from keyvend.adapters.mail import SmtpMailer  # (it reads Settings: import late)

        if value is not None:
            SmtpMailer.from_url(value.get_secret_value(), "check@localhost")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        try:
            return currency_code(value)
        except InvalidInput as exc:  # pydantic reports ValueErrors, naming the setting
            raise ValueError(exc.message) from None

    @field_validator("public_url", "stripe_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// address")
        return value.rstrip("/")

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "rate_limit_guest",
        "rate_limit_guest_miss",
        "rate_limit_login",
        "rate_limit_authenticated",
        "rate_limit_password_reset",
        "rate_limit_application",
    )
    @classmethod
    def _limit_notation(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit in `limits` notation, e.g. 100/minute"
            ) from None
        return value

    @field_validator("rate_limit_whitelist", "trusted_proxies", mode="after")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*" and not re.fullmatch(r"https?://[^/\s]+", entry):
                raise ValueError(f"{entry!r} is not an origin (scheme://host[:port], no path) or *")
        return value

    @field_validator("rate_limit_whitelist", "trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then env, then the TOML file."""
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_toml_path()),
        )

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'keyvend.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """The configured public URL, or this server's own address."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_secret_key is not None and self.stripe_webhook_secret is not None

    @property
    def is_development(self) -> bool:
        return self.environment.lower() == "development"


class UnsafeSecret(RuntimeError):
    """The configured secret key is too weak to run with."""


SECRET_FILE = "secret.key"  # noqa: S105 (a file name)


def secret_path(settings: Settings) -> Path:
    """Where the generated master secret lives: `<data_dir>/secret.key`."""
    return settings.data_dir / SECRET_FILE


def secret_source(settings: Settings) -> str:
    """The setting that holds the master secret, as an error message should name it."""
    if settings.secret_key is not None:
        return "KEYVEND_SECRET_KEY"
    return f"{SECRET_FILE} ({secret_path(settings).resolve()})"


def load_secret(settings: Settings) -> bytes:
    """Return the master secret, generating `secret.key` (mode 0600) on first use.

    `keyvend` commands check first that a database with data never gets a new secret this
    way (`services.secret.refuse_a_new_secret_for_data`).
    """
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
        check_secret_length(secret, "KEYVEND_SECRET_KEY", settings)
        return secret.encode()
    path = secret_path(settings)
    if not path.exists():
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_secret_file(path)
    secret = path.read_text().strip()
    check_secret_length(secret, str(path), settings)
    return secret.encode()


def check_secret_length(secret: str, source: str, settings: Settings) -> None:
    """Refuse a secret shorter than MIN_SECRET_LENGTH outside development."""
    if len(secret) < MIN_SECRET_LENGTH and not settings.is_development:
        raise UnsafeSecret(
            f"{source} must be at least {MIN_SECRET_LENGTH} characters "
            "(or set KEYVEND_ENVIRONMENT=development)"
        )


def _create_secret_file(path: Path) -> None:
    # Written aside, then linked into place: a process starting at the same moment sees
    # either no file or the whole key, never an empty one, and the first link wins.
    draft = write_draft(path, os.urandom(32).hex())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process won the race; use its key
    finally:
        draft.unlink()


def write_draft(path: Path, secret: str) -> Path:
    """`secret` written (mode 0600, synced) to a new file beside `path`; returns its path."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
        handle.flush()
        os.fsync(handle.fileno())
    return draft
