"""The ops files: the example settings list every setting, the systemd units are sound."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from keyvend.config import Settings

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
TOML_EXAMPLE = DEPLOY / "keyvend.toml.example"
ENV_EXAMPLE = DEPLOY / "keyvend.env.example"
UNITS = ["keyvend.service", "keyvend-cron.service", "keyvend-cron.timer"]
# `# name = value`: a setting without a default, shown with an example value.
COMMENTED_SETTING = re.compile(r"^#\s?([a-z_]+) = (.+)$")


def commented_out_settings() -> dict[str, Any]:
    lines = TOML_EXAMPLE.read_text().splitlines()
    found = [m for m in map(COMMENTED_SETTING.match, lines) if m]
    return tomllib.loads("\n".join(f"{m[1]} = {m[2]}" for m in found))


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each directive with every value it is given."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif line and not line.startswith("#"):
            key, value = line.split("=", 1)
            current.setdefault(key, []).append(value)
    return sections


def test_every_setting_is_in_the_example_toml() -> None:
    listed = set(tomllib.loads(TOML_EXAMPLE.read_text())) | set(commented_out_settings())
    assert sorted(set(Settings.model_fields) - listed) == []
    assert sorted(listed - set(Settings.model_fields)) == []  # a typo, or a setting gone


def test_the_example_toml_holds_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [variable for variable in os.environ if variable.startswith("KEYVEND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KEYVEND_CONFIG", str(tmp_path / "absent.toml"))
    defaults = Settings().model_dump()
    monkeypatch.setenv("KEYVEND_CONFIG", str(TOML_EXAMPLE))
    assert Settings().model_dump() == defaults
    # Only a setting without a default may be left commented out.
    assert {n for n in commented_out_settings() if defaults[n] is not None} == set()


def test_the_commented_out_example_values_are_valid_settings() -> None:
    Settings(**commented_out_settings())  # raises a ValidationError naming a bad one


def test_the_env_example_sets_only_settings_and_the_data_dir_the_unit_may_write() -> None:
    text = ENV_EXAMPLE.read_text()
    variables = dict(re.findall(r"^#?(KEYVEND_[A-Z_]+)=(.*)$", text, flags=re.MULTILINE))
    known = {f"KEYVEND_{name.upper()}" for name in Settings.model_fields} | {"KEYVEND_CONFIG"}
    assert sorted(set(variables) - known) == []
    assert variables["KEYVEND_CONFIG"] == "/etc/keyvend/keyvend.toml"
    service = unit("keyvend.service")["Service"]
    assert service["ReadWritePaths"] == [variables["KEYVEND_DATA_DIR"]]
    assert service["WorkingDirectory"] == [variables["KEYVEND_DATA_DIR"]]


def test_the_unit_serves_as_its_own_user_in_a_sandbox() -> None:
    service = unit("keyvend.service")["Service"]
    expected = {
        "User": ["keyvend"],
        "ExecStart": ["/opt/keyvend/.venv/bin/keyvend serve"],
        "EnvironmentFile": ["/etc/keyvend/keyvend.env"],
        "LimitNOFILE": ["65536"],
        "Restart": ["on-failure"],
        "KillMode": ["control-group"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "PrivateTmp": ["yes"],
        "ProtectHome": ["yes"],
        "CapabilityBoundingSet": [""],
    }
    assert {key: service.get(key) for key in expected} == expected
    assert unit("keyvend.service")["Install"]["WantedBy"] == ["multi-user.target"]
    assert unit("keyvend-cron.service")["Service"]["ExecStart"] == [
        "/opt/keyvend/.venv/bin/keyvend cron"
    ]


def test_systemd_accepts_the_units() -> None:
    verify = subprocess.run(
        ["systemd-analyze", "verify", *(str(DEPLOY / name) for name in UNITS)],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
        check=False,
    )
    # The one complaint expected on a machine without the install: the binary is not there.
    complaints = [
        line
        for line in (verify.stdout + verify.stderr).splitlines()
        if "/opt/keyvend/.venv/bin/keyvend is not executable" not in line
    ]
    assert complaints == []


def test_the_license_is_the_apache_2_0_text_pyproject_names() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "http://www.apache.org/licenses/LICENSE-2.0" in text
    sections = re.findall(r"^\s+(\d)\. [A-Z]", text, flags=re.MULTILINE)
    assert sections == [str(n) for n in range(1, 10)]
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_deploy_readme_links_to_the_operations_section() -> None:
    guide = (DEPLOY / "README.md").read_text()
    assert "(../README.md#operations)" in guide
    readme = (ROOT / "README.md").read_text().splitlines()
    assert "## Operations" in readme
    for anchor in re.findall(r"\(\.\./README\.md#([a-z0-9-]+)\)", guide):
        headings = [line.lstrip("#").strip() for line in readme if line.startswith("#")]
        slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
        assert anchor in slugs
    for name in [*UNITS, ENV_EXAMPLE.name, TOML_EXAMPLE.name]:
        assert f"`{name}`" in guide
