"""The product and key-config forms: typed values in, service-shaped config and pricing out.

Fields stay strings as typed, so a refused form is shown again exactly as the admin left it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from limits import parse as parse_limit

from keyvend.domain.errors import InvalidInput, KeyvendError
from keyvend.domain.keygen import (
    CUSTOM_PREFIX,
    LABEL_PREFIX,
    custom_params,
    generate_key,
    humanize,
    parse_config,
)
from keyvend.domain.quota import DEFAULT_QUOTA_PERIOD
from keyvend.web.forms import Form, checked, is_number

STANDARD_PERIODS = ("1W", "1M", "3M", "6M", "1Y", "2Y", "3Y")
QUOTA_PERIOD_WORDS = {
    "day": "per day",
    "month": "per month",
    "period": "per billing period",
    "total": "in total",
}
_WORDS = re.compile(r"[\s\-.]+")


@dataclass
class ParamRow:
    """One custom parameter as typed: its name, value and display label for customers."""

    name: str = ""
    value: str = ""
    label: str = ""

    @property
    def key(self) -> str:
        """The parameter's name as stored (`monthly limit` -> `monthlyLimit`)."""
        return camel_case(self.name)

    @property
    def default_label(self) -> str:
        """What customers read when the label is left empty."""
        return humanize(self.key) if self.key else "Monthly limit"


@dataclass
class KeyFields:
    """The API-key format and custom parameters, as the form shows them."""

    length: str = "32"
    split: bool = True
    split_interval: str = "8"
    case: str = "upper"
    prefix: str = ""
    params: list[ParamRow] = field(default_factory=list)
    quota: str = ""  # empty: unlimited
    quota_period: str = DEFAULT_QUOTA_PERIOD
    rate_limit: str = ""  # empty: none

    @property
    def limits_summary(self) -> str | None:
        """The sample's sentence about the limits ("250 verifications per month, at most 10
        per second"), or None while the settings break a rule."""
        try:
            return limits_sentence(parse_config(config_from_fields(self)).limits)
        except KeyvendError:
            return None

    def with_blank_row(self) -> KeyFields:
        return replace(self, params=[*self.params, ParamRow()])

    def without_row(self, index: int) -> KeyFields:
        return replace(self, params=[p for i, p in enumerate(self.params) if i != index])


@dataclass
class PeriodRow:
    period: str
    price: str = ""
    enabled: bool = False


@dataclass
class PricingFields:
    type: str = "free"
    once_price: str = ""
    periods: list[PeriodRow] = field(default_factory=list)


def camel_case(name: str) -> str:
    """`monthly limit` -> `monthlyLimit`; a name without spaces or dashes is kept as typed."""
    words = [w for w in _WORDS.split(name.strip()) if w]
    if len(words) <= 1:
        return name.strip()
    first, rest = words[0], words[1:]
    return first[:1].lower() + first[1:] + "".join(w[:1].upper() + w[1:] for w in rest)


def key_fields_from_config(config: Mapping[str, Any]) -> KeyFields:
    params = [
        ParamRow(name, _text(value), str(config.get(LABEL_PREFIX + name) or ""))
        for name, value in custom_params(config).items()
    ]
    return KeyFields(
        length=_text(config.get("length", 32)),
        split=bool(config.get("split", True)),
        split_interval=_text(config.get("split_interval", 8)),
        case=str(config.get("case", "upper")),
        prefix=str(config.get("prefix", "") or ""),
        params=params,
        quota=_text(config["quota"]) if config.get("quota") is not None else "",
        quota_period=str(config.get("quota_period") or DEFAULT_QUOTA_PERIOD),
        rate_limit=str(config.get("rate_limit") or ""),
    )


def key_fields_from_form(form: Form) -> KeyFields:
    names, values = form.getlist("param_name"), form.getlist("param_value")
    labels = form.getlist("param_label")
    values += [""] * (len(names) - len(values))
    labels += [""] * (len(names) - len(labels))
    return KeyFields(
        length=form.get("length", "32").strip(),
        split=checked(form, "split"),
        split_interval=form.get("split_interval", "8").strip(),
        case=form.get("case", "upper"),
        prefix=form.get("prefix", "").strip(),
        params=[ParamRow(n, v, lb) for n, v, lb in zip(names, values, labels, strict=False)],
        quota=form.get("quota", "").strip(),
        quota_period=form.get("quota_period", DEFAULT_QUOTA_PERIOD).strip(),
        rate_limit=form.get("rate_limit", "").strip(),
    )


def config_from_fields(fields: KeyFields) -> dict[str, Any]:
    """The config the services take; InvalidInput for a repeated parameter name."""
    config: dict[str, Any] = {
        "length": fields.length,
        "split": fields.split,
        "split_interval": fields.split_interval,
        "case": fields.case,
        "prefix": fields.prefix,
    }
    if fields.quota:  # quota_period is kept only with a quota
        config.update(quota=fields.quota, quota_period=fields.quota_period)
    if fields.rate_limit:
        config["rate_limit"] = fields.rate_limit
    for row in fields.params:
        name = camel_case(row.name)
        if not name and not row.value.strip() and not row.label.strip():
            continue  # an empty row is simply not a parameter
        if not name:
            raise InvalidInput(
                f"custom parameter with value '{row.value[:40]}' needs a name", field="custom"
            )
        if CUSTOM_PREFIX + name in config:
            raise InvalidInput(f"custom parameter {name} appears twice", field="custom")
        config[CUSTOM_PREFIX + name] = row.value
        if row.label.strip():
            config[LABEL_PREFIX + name] = row.label
    return config


def sample_key(fields: KeyFields) -> tuple[str | None, str | None]:
    """(a key these settings would produce, None) or (None, the rule they break)."""
    try:
        return generate_key(parse_config(config_from_fields(fields))), None
    except KeyvendError as exc:
        return None, exc.message


def limits_sentence(limits: Mapping[str, Any]) -> str:
    """A stored config's limits in words: `250 verifications per month, at most 10 per
    second`, `Unlimited verifications`."""
    quota = limits.get("quota")
    if quota is None:
        words = "Unlimited verifications"
    else:
        noun = "verification" if quota == 1 else "verifications"
        words = f"{quota:,} {noun} {QUOTA_PERIOD_WORDS[limits.get('quota_period', 'month')]}"
    rate = limits.get("rate_limit")
    if rate:
        item = parse_limit(rate)
        unit = item.GRANULARITY.name
        span = unit if item.multiples == 1 else f"{item.multiples} {unit}s"
        words += f", at most {item.amount:,} per {span}"
    return words + "."


def pricing_fields_from_pricing(pricing: Mapping[str, Any]) -> PricingFields:
    kind = str(pricing.get("type", "free"))
    once = pricing.get("once", {}).get("price", "") if kind == "once" else ""
    stored = pricing.get("recurrent", {}) if kind == "recurrent" else {}
    periods = [
        PeriodRow(p, str(stored[p]["price"]), bool(stored[p]["enabled"]))
        if p in stored
        else PeriodRow(p)
        for p in _period_order(stored)
    ]
    return PricingFields(kind, str(once), periods)


def pricing_fields_from_form(form: Form) -> PricingFields:
    periods = form.getlist("period") or list(STANDARD_PERIODS)
    prices = form.getlist("period_price") + [""] * len(periods)
    enabled = set(form.getlist("period_enabled"))
    rows = [PeriodRow(p, prices[i].strip(), p in enabled) for i, p in enumerate(periods[:20])]
    return PricingFields(form.get("pricing_type", "free"), form.get("once_price", "").strip(), rows)


def pricing_from_fields(fields: PricingFields) -> dict[str, Any]:
    """The pricing object the product service validates."""
    if fields.type == "once":
        return {"type": "once", "once": {"price": fields.once_price or "0"}}
    if fields.type == "recurrent":
        recurrent = {
            row.period: {"price": row.price or "0", "enabled": row.enabled}
            for row in fields.periods
            if row.enabled or row.price
        }
        return {"type": "recurrent", "recurrent": recurrent}
    return {"type": fields.type}


def _period_order(stored: Mapping[str, Any]) -> list[str]:
    extra = [p for p in stored if p not in STANDARD_PERIODS]
    return [*STANDARD_PERIODS, *extra]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def key_fields_for_action(form: Form) -> tuple[KeyFields, bool]:
    """The submitted key fields with a row added or deleted; True when Save was pressed."""
    fields = key_fields_from_form(form)
    delete = form.get("delete_param", "")
    if is_number(delete):
        return fields.without_row(int(delete)), False
    action = form.get("action", "save")
    if action == "add_param":
        return fields.with_blank_row(), False
    return fields, action == "save"
