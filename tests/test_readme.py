"""The README documents every setting and every CLI command (or this fails)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from keyvend.cli import app
from keyvend.config import Settings
from keyvend.domain.errors import error_classes

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [
        f"KEYVEND_{name.upper()}"
        for name in Settings.model_fields
        if f"`KEYVEND_{name.upper()}`" not in README
    ]
    assert missing == []


def test_every_cli_command_is_documented_in_the_readme() -> None:
    lines = README.replace("\\|", "|").splitlines()
    group = typer.main.get_group(app)
    missing = []
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None) or {"": None}
        for sub in subcommands:
            mentioned = [line for line in lines if f"`keyvend {name}" in line]
            if not any(sub in line for line in mentioned):
                missing.append(f"keyvend {name} {sub}".strip())
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "./scripts/test" in README
    assert "./scripts/test" in ci


def test_every_error_class_is_in_the_readme_table_with_its_code_and_status() -> None:
    rows = [line for line in README.splitlines() if line.startswith("| ")]
    missing = [
        cls.__name__
        for cls in error_classes()
        if not any(
            line.startswith(f"| {cls.code} |")
            and f"`{cls.__name__}`" in line
            and line.rstrip().endswith(f"| {cls.status} |")
            for line in rows
        )
    ]
    assert missing == []
