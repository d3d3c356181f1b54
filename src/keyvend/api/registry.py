"""The endpoint registry: every API call, declared once with its role, params and handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from starlette.requests import Request

from keyvend.adapters.gateways.base import Gateways
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.edge.cookies import Cookie
from keyvend.edge.ratelimit import POLICIES, Policies
from keyvend.services.auth import Actor

Role = Literal["guest", "client", "admin"]
ROLES: tuple[Role, ...] = ("guest", "client", "admin")
# The rate-limit policy every endpoint of a role has (DESIGN.md section 6).
ROLE_LIMITS: dict[Role, str] = {
    "guest": "guest",
    "client": "authenticated",
    "admin": "authenticated",
}


class Params(BaseModel):
    """Base of every endpoint's parameters; unknown parameters are ignored, as FOSSBilling does."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here so both databases answer alike.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class NoParams(Params):
    pass


@dataclass
class Call:
    """What a handler gets: the wiring, the caller, and cookies to set on the response."""

    db: Database
    settings: Settings
    actor: Actor | None
    request: Request
    cookies: list[Cookie] = field(default_factory=list)  # the dispatcher writes them

    @property
    def actor_id(self) -> int:
        assert self.actor is not None, "role dependency guarantees an actor"
        return self.actor.id

    @property
    def gateways(self) -> Gateways:
        """The payment gateways this server offers."""
        found: Gateways = self.request.app.state.gateways
        return found

    def set_cookie(self, name: str, value: str, *, max_age: int) -> None:
        self.cookies.append(Cookie(name, value, max_age))

    def delete_cookie(self, name: str) -> None:
        self.cookies.append(Cookie(name, None))


Handler = Callable[[Call, Any], Any]


@dataclass(frozen=True)
class Endpoint:
    role: Role
    module: str
    method: str
    params: type[Params]
    handler: Handler
    inline: bool = False  # run on the event loop: only for short, non-blocking-enough calls
    limits: Policies = ()  # rate-limit policies beyond the role's default (login, ...)
    gateway: bool = False  # calls a payment gateway: may wait longer than the database timeout
    applications: bool = False  # accepts application tokens (Bearer), see `api.applications`
    missed: Callable[[Any], bool] | None = None  # whether a result found no key (guest_miss)
    metered: bool = False  # spends a key's quota: waits on Redis when the meter is there

    @property
    def policies(self) -> Policies:
        """Every rate-limit policy of this call: its role's, then its own `limits`."""
        return (ROLE_LIMITS[self.role], *self.limits)

    @property
    def path(self) -> str:
        return f"/api/{self.role}/{self.module}/{self.method}"

    @property
    def summary(self) -> str:
        return (self.handler.__doc__ or "").strip()


ENDPOINTS: dict[tuple[str, str, str], Endpoint] = {}


def endpoint(
    role: Role,
    module: str,
    method: str,
    params: type[Params] = NoParams,
    *,
    inline: bool = False,
    limits: Policies = (),
    gateway: bool = False,
    applications: bool = False,
    missed: Callable[[Any], bool] | None = None,
    metered: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as `role/module/method`."""

    def register(handler: Handler) -> Handler:
        key = (role, module, method)
        assert key not in ENDPOINTS, f"duplicate endpoint {key}"
        assert set(limits) <= POLICIES.keys(), f"unknown rate-limit policy in {limits}"
        ENDPOINTS[key] = Endpoint(
            role,
            module,
            method,
            params,
            handler,
            inline,
            limits,
            gateway,
            applications,
            missed,
            metered,
        )
        return handler

    return register
