"""Business settings (FOSSBilling's `system` params): read with defaults, update all or none."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from keyvend.db.models import Setting
from keyvend.db.unit_of_work import Database, UnitOfWork
from keyvend.domain.errors import InvalidInput
from keyvend.schemas.business import BusinessSettings

NAMES = tuple(BusinessSettings.model_fields)


def read(uow: UnitOfWork) -> BusinessSettings:
    """The settings in force: stored values over the defaults (the shop's for grace days)."""
    stored = {row.name: row.value for row in uow.session.scalars(select(Setting))}
    values = {"suspend_grace_days": uow.shop.suspend_grace_days}
    values.update({name: value for name, value in stored.items() if name in NAMES})
    return BusinessSettings.model_validate(values)


def get(db: Database) -> BusinessSettings:
    with db.unit_of_work(read_only=True) as uow:
        return read(uow)


def update(db: Database, changes: dict[str, Any]) -> BusinessSettings:
    """Change some settings; a bad value is refused naming its setting, and nothing is saved."""
    unknown = sorted(set(changes) - set(NAMES))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} is not a setting; the settings are {', '.join(NAMES)}",
            field=unknown[0],
        )
    with db.unit_of_work() as uow:
        current = read(uow).model_dump()
        try:
            merged = BusinessSettings.model_validate({**current, **changes})
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            raise InvalidInput(f"{name}: {message}", field=name) from None
        stored = merged.model_dump(mode="json")
        now = uow.now()
        for name in changes:
            row = uow.session.get(Setting, name, with_for_update=True)
            if row is None:
                uow.session.add(Setting(name=name, value=stored[name], updated_at=now))
            else:
                row.value, row.updated_at = stored[name], now
        uow.record("settings.updated", data={"changed": sorted(changes)})
        uow.commit()
    return merged
