"""Make what the example needs on a Keyvend server: a product with a quota, a key, and an
application token for the service.

    ADMIN=<admin API token> python provision.py [--url http://127.0.0.1:8080] [--quota 5]

`ADMIN` may also be `admin:<token>`, as the main README's tour sets it. Prints the shell lines
that export `KEY` and `KEYVEND_APP_TOKEN`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
from typing import Any

import httpx


def admin_token(value: str) -> str:
    """The token of `ADMIN`, given as `<token>` or as `admin:<token>` (curl's `-u` form)."""
    value = value.strip()
    return value.split(":", 1)[1] if value.startswith("admin:") else value


class Admin:
    """The admin API of one Keyvend server."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def __call__(self, path: str, **params: Any) -> Any:
        response = httpx.post(
            f"{self.url}/api/admin/{path}", json=params, auth=("admin", self.token), timeout=30
        )
        body = response.json()
        if body.get("error") is not None:
            raise SystemExit(f"admin/{path} failed: {body['error']['message']}")
        return body["result"]


def provision(admin: Admin, *, quota: int, period: str = "month") -> dict[str, str]:
    """A fresh product with `quota` per `period`, a client's active order of it, its key, and
    an application token; returns {"KEY": ..., "KEYVEND_APP_TOKEN": ...}."""
    product = admin("product/prepare", title=f"Quotes ({quota} a {period})", type="apikey")
    admin("product/update_config", id=product, config={"quota": quota, "quota_period": period})
    admin("product/update", id=product, status="enabled", setup="after_order")
    email = f"quotes-{secrets.token_hex(4)}@example.com"
    client = admin("client/create", email=email, first_name="Quote", last_name="Reader")
    order = admin("order/create", client_id=client, product_id=product, period="1M", activate=True)
    application = admin("application/create", name="Quote of the day")
    return {
        "KEY": admin("order/service", id=order)["api_key"],
        "KEYVEND_APP_TOKEN": application["token"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("KEYVEND_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--quota", type=int, default=5, help="calls per month (default 5)")
    args = parser.parse_args()
    if not os.environ.get("ADMIN"):
        raise SystemExit("Set ADMIN to the admin API token that `keyvend serve` printed")
    made = provision(Admin(args.url, admin_token(os.environ["ADMIN"])), quota=args.quota)
    for name, value in made.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
