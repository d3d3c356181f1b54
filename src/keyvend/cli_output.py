"""How every `keyvend` command answers: JSON (`--json`) or text, and refusals on stderr."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer

from keyvend.domain.errors import KeyvendError


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print `data` as JSON or `text` for people."""
    typer.echo(json.dumps(data) if as_json else text)


def fail(exc: Exception, as_json: bool, *, code: int = 1) -> NoReturn:
    """The error's message (JSON on stdout with --json, else on stderr), then exit `code`."""
    message = exc.message if isinstance(exc, KeyvendError) else str(exc)
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)
