"""API-key product config (DESIGN.md section 4) and the key generator."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyvend.domain.coerce import to_bool, to_int, to_number_if_numeric
from keyvend.domain.errors import InvalidInput
from keyvend.domain.quota import parse_limits

MIN_LENGTH = 16
MAX_LENGTH = 256
CASES = ("upper", "lower", "mixed")
CUSTOM_PREFIX = "custom_"
# A custom parameter's display label for customers sits next to it as `label_<name>`: outside
# the `custom_` namespace, so it can never be taken for a parameter (nor travel with a key).
LABEL_PREFIX = "label_"
MAX_CUSTOM_PARAMS = 100
MAX_CUSTOM_VALUE = 1000
MAX_LABEL = 64
_PREFIX = re.compile(r"[A-Za-z0-9_]{0,16}")
_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# The words of a parameter name: an acronym (`RPS`, `ID2`), a word (`monthly`, `Limit`), digits.
_NAME_WORDS = re.compile(r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+")
_FORMAT = ("length", "split", "split_interval", "case", "prefix")
_LIMITS = ("quota", "quota_period", "rate_limit")  # domain.quota
_BUILTIN = _FORMAT + _LIMITS
_PREFIXES = (CUSTOM_PREFIX, LABEL_PREFIX)

ParamValue = str | int | float


@dataclass(frozen=True)
class KeyFormat:
    """A validated API-key product config: the key format, the key's limits (quota,
    quota_period, rate_limit; see `domain.quota`), custom parameters and the display labels
    customers see for some of them (`labels`, by parameter name)."""

    length: int = 32
    split: bool = True
    split_interval: int = 8
    case: str = "upper"
    prefix: str = ""
    params: dict[str, ParamValue] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)  # only the limits that are set
    labels: dict[str, str] = field(default_factory=dict)

    def to_config(self) -> dict[str, Any]:
        """The stored form, as FOSSBilling keeps it (custom params under `custom_`, each
        followed by its `label_` when it has one)."""
        config: dict[str, Any] = {
            "length": self.length,
            "split": self.split,
            "split_interval": self.split_interval,
            "case": self.case,
            "prefix": self.prefix,
        }
        config.update(self.limits)
        for name, value in self.params.items():
            config[CUSTOM_PREFIX + name] = value
            if name in self.labels:
                config[LABEL_PREFIX + name] = self.labels[name]
        return config


def parse_config(raw: Mapping[str, Any] | None) -> KeyFormat:
    """Validate and coerce a config; raise InvalidInput naming the key and its rule."""
    raw = dict(raw or {})
    unknown = [k for k in raw if k not in _BUILTIN and not str(k).startswith(_PREFIXES)]
    if unknown:
        raise InvalidInput(
            f"Unknown config key '{str(unknown[0])[:64]}': expected one of "
            f"{', '.join(_BUILTIN)} or custom_<name>",
            field="config",
        )
    length = to_int(raw.get("length", 32), name="length", low=MIN_LENGTH, high=MAX_LENGTH)
    split = to_bool(raw.get("split", True), name="split")
    interval = to_int(
        raw.get("split_interval", min(8, length)), name="split_interval", low=1, high=length
    )
    case = raw.get("case", "upper")
    if not isinstance(case, str) or case.strip().lower() not in CASES:
        raise InvalidInput("case must be one of upper, lower or mixed", field="case")
    prefix = raw.get("prefix", "")
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise InvalidInput(
            "prefix must be at most 16 letters, digits or underscores", field="prefix"
        )
    params = _parse_params(raw)
    limits = parse_limits(raw)
    labels = _parse_labels(raw, params)
    return KeyFormat(length, split, interval, case.strip().lower(), prefix, params, limits, labels)


def _parse_params(raw: Mapping[str, Any]) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    for key, value in raw.items():
        if not key.startswith(CUSTOM_PREFIX):
            continue
        name = key[len(CUSTOM_PREFIX) :]
        if not _PARAM_NAME.fullmatch(name):
            raise InvalidInput(
                f"custom parameter name '{name[:64]}' must start with a letter and hold "
                "at most 64 letters, digits or underscores",
                field="custom",
            )
        params[name] = _param_value(name, value)
    if len(params) > MAX_CUSTOM_PARAMS:
        raise InvalidInput(
            f"at most {MAX_CUSTOM_PARAMS} custom parameters are allowed", field="custom"
        )
    return params


def _param_value(name: str, value: Any) -> ParamValue:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        return value
    if isinstance(value, str) and len(value) <= MAX_CUSTOM_VALUE:
        return to_number_if_numeric(value)
    raise InvalidInput(
        f"custom_{name} must be a number or a text of at most {MAX_CUSTOM_VALUE} characters",
        field="custom",
    )


def _parse_labels(raw: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, str]:
    """The `label_<name>` keys: each names a custom parameter of the same config and holds a
    short one-line text; an empty label is no label (the humanized name is shown instead)."""
    labels: dict[str, str] = {}
    for key, value in raw.items():
        if not key.startswith(LABEL_PREFIX):
            continue
        name = key[len(LABEL_PREFIX) :]
        if name not in params:
            raise InvalidInput(
                f"Unknown config key '{key[:70]}': a label needs its custom parameter "
                f"custom_{name[:64]} in the same config",
                field=key[:70],
            )
        text = value.strip() if isinstance(value, str) else None
        if text is None or len(text) > MAX_LABEL or not text.isprintable():
            raise InvalidInput(
                f"{key} must be a text of at most {MAX_LABEL} characters on one line",
                field=key,
            )
        if text:
            labels[name] = text
    return labels


def humanize(name: str) -> str:
    """A parameter name as words for people: `monthlyLimit` -> `Monthly limit`,
    `max_requests` -> `Max requests`, `maxRPS` -> `Max RPS` (acronyms keep their capitals)."""
    words = [w if _acronym(w) else w.lower() for w in _NAME_WORDS.findall(name)]
    if not words:
        return name
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _acronym(word: str) -> bool:
    return len(word) > 1 and word.isupper()


def display_labels(config: Mapping[str, Any]) -> dict[str, str]:
    """What customers read for each custom parameter of a stored config: its label, or its
    humanized name when it has none."""
    return {
        name: str(config.get(LABEL_PREFIX + name) or humanize(name))
        for name in custom_params(config)
    }


def generate_key(fmt: KeyFormat) -> str:
    """A fresh key in the given format; randomness from `secrets` (the OS CSPRNG)."""
    hex_chars = secrets.token_hex((fmt.length + 1) // 2)[: fmt.length]
    if fmt.case == "upper":
        hex_chars = hex_chars.upper()
    elif fmt.case == "mixed":
        hex_chars = "".join(c.upper() if secrets.randbits(1) else c for c in hex_chars)
    if fmt.split:
        step = fmt.split_interval
        hex_chars = "-".join(hex_chars[i : i + step] for i in range(0, fmt.length, step))
    return fmt.prefix + hex_chars


def custom_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The custom parameters of a stored config, without their `custom_` prefix."""
    return {k[len(CUSTOM_PREFIX) :]: v for k, v in config.items() if k.startswith(CUSTOM_PREFIX)}


def normalize_key(key: str) -> str:
    """The form a key is looked up by: letter case ignored, dashes kept."""
    return key.strip().lower()
