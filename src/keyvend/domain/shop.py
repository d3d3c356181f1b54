"""What the deployment says about the shop, as services need it: currency, public address,
and the defaults of business settings that started life as environment settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shop:
    currency: str = "USD"
    public_url: str = "http://127.0.0.1:8080"
    suspend_grace_days: int = 0  # default of the business setting of the same name
    # Mail templates here override the built-in ones file by file (`<data_dir>/templates/email`).
    mail_templates: Path | None = None

    def link(self, path: str) -> str:
        """An absolute link to `path` on the public address."""
        return f"{self.public_url}{path}"
