"""Extensions (FOSSBilling's `extension` module): activate, deactivate, uninstall."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from keyvend.db.models import ApiKeyService, Extension
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import InvalidInput, ModuleInactive, NotFound
from keyvend.schemas.system import ExtensionPublic, ExtensionStatus

APIKEY = "serviceapikey"
ACTIVE, INACTIVE, NOT_INSTALLED = (
    ExtensionStatus.ACTIVE,
    ExtensionStatus.INACTIVE,
    ExtensionStatus.NOT_INSTALLED,
)

# Run inside the unit of work that activates an extension (product types register here, so
# that orders left without a service by an uninstall get one back on reinstall).
ON_ACTIVATE: list[Callable[[UnitOfWork, str], None]] = []

# name -> (version, description, the tables it owns)
KNOWN: dict[str, tuple[str, str, list[Any]]] = {
    APIKEY: ("1.0.0", "API Key product type: sell API keys and verify them", [ApiKeyService]),
}


def is_active(uow: UnitOfWork, name: str) -> bool:
    """True when the extension is installed and active."""
    status = uow.session.scalar(select(Extension.status).where(Extension.name == name))
    return status == ACTIVE


def require_active(uow: UnitOfWork, name: str) -> None:
    """Raise ModuleInactive (code 715) unless the extension is active."""
    if not is_active(uow, name):
        raise ModuleInactive(name)


def get_list(db: Database) -> list[ExtensionPublic]:
    """Every known extension with its status."""
    with db.unit_of_work(read_only=True) as uow:
        rows = {e.name: e for e in uow.session.scalars(select(Extension))}
        return [_to_api(name, rows.get(name)) for name in KNOWN]


def activate(db: Database, name: str) -> bool:
    """Install (create its tables if missing) and activate an extension."""
    _known(name)
    with db.unit_of_work() as uow:
        for model in KNOWN[name][2]:
            model.__table__.create(uow.session.connection(), checkfirst=True)
        _set_status(uow, name, ACTIVE)
        for hook in ON_ACTIVATE:
            hook(uow, name)
        uow.record("extension.activated", data={"extension": name})
        uow.commit()
    return True


def deactivate(db: Database, name: str) -> bool:
    """Deactivate: its endpoints answer 715, but its data is kept."""
    _known(name)
    with db.unit_of_work() as uow:
        current = uow.session.get(Extension, name)
        if current is None or current.status == NOT_INSTALLED:
            raise InvalidInput(f"Extension {name} is not installed")
        _set_status(uow, name, INACTIVE)
        uow.record("extension.deactivated", data={"extension": name})
        uow.commit()
    return True


def uninstall(db: Database, name: str, *, confirm: bool) -> bool:
    """Drop the extension's tables and every row in them; needs explicit confirmation."""
    _known(name)
    if not confirm:
        raise InvalidInput(
            f"Uninstalling {name} drops its table and every API key in it; "
            "send confirm=1 to go ahead"
        )
    with db.unit_of_work() as uow:
        for model in KNOWN[name][2]:
            model.__table__.drop(uow.session.connection(), checkfirst=True)
        _set_status(uow, name, NOT_INSTALLED)
        uow.record("extension.uninstalled", data={"extension": name})
        uow.commit()
    return True


def ensure_installed(db: Database) -> None:
    """On a new database, activate every known extension (what `serve` does first)."""
    with db.unit_of_work() as uow:
        missing = [n for n in KNOWN if uow.session.get(Extension, n) is None]
    for name in missing:
        activate(db, name)


def _known(name: str) -> None:
    if name not in KNOWN:
        raise NotFound(f"Extension {name[:64]} not found")


def _set_status(uow: UnitOfWork, name: str, status: ExtensionStatus) -> None:
    row = uow.session.get(Extension, name)
    if row is None:
        row = Extension(name=name, version=KNOWN[name][0], status=status, updated_at=uow.now())
        uow.session.add(row)
    row.status = status
    row.updated_at = uow.now()


def _to_api(name: str, row: Extension | None) -> ExtensionPublic:
    version, description, _ = KNOWN[name]
    return ExtensionPublic(
        id=name,
        name=name,
        version=version,
        description=description,
        status=ExtensionStatus(row.status) if row else NOT_INSTALLED,
    )
