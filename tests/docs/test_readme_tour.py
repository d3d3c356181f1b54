"""The README does not lie: its tour, pasted in order into a shell on a fresh data dir, does
what it says. A real `keyvend serve` is started as the quick start says (in an empty folder,
with `.venv/bin/keyvend`); every command of the tour's sections runs in one bash session, and
each answer must be the one the README shows under it (`...` stands for anything). A command
the README shows no answer for must not answer an error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.readme_tour import Step, normalized, steps
from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
VENV = Path(sys.executable).parent.parent
# The sections a new user pastes in order, and the parts of them that need the outside world.
TOUR = (
    "A five-minute tour with curl",
    "Applications",
    "Events and the revocation stream",
    "Selling for money",
    "Email and accounts",
    "HTTP API",
)
NEEDS_STRIPE = ("Stripe",)
README_URL = "http://127.0.0.1:8080"
MARK = "@@keyvend-tour-step-{}@@"


@dataclass
class Served:
    url: str
    printed: str  # what `keyvend serve` printed up to "listening"
    api_token: str
    password: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    """`.venv/bin/keyvend serve --port N` in an empty folder, as the quick start runs it."""
    home = tmp_path_factory.mktemp("fresh-machine")
    (home / ".venv").symlink_to(VENV)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYVEND_")}
    proc = subprocess.Popen(
        [".venv/bin/keyvend", "serve", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    printed = []
    for line in proc.stdout:  # ends when the server is listening (or has died)
        printed.append(line)
        if "Keyvend listening on" in line:
            break
    text = "".join(printed)
    try:
        token = re.search(r"API token:\s+(\S+)", text)
        password = re.search(r"password:\s+(\S+)", text)
        assert token and password, text
        yield Served(f"http://127.0.0.1:{port}", text, token[1], password[1]), home
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_quick_start_prints_what_the_readme_shows(served: tuple[Served, Path]) -> None:
    server, _ = served
    block = README.split("It prints, on first start only,")[1].split("```")[1]
    expected = Step(
        0, "Quick start", "", block.strip("\n").replace("8080", server.url.rsplit(":", 1)[1])
    )
    assert expected.matches(server.printed), server.printed


def test_the_tour_answers_what_the_readme_shows(served: tuple[Served, Path]) -> None:
    server, home = served
    tour = steps(README, TOUR, skip=NEEDS_STRIPE)
    assert len(tour) > 40, "the tour's commands were not found"
    outputs = run(tour, server, home)
    wrong = []
    for step, output in zip(tour, outputs, strict=True):
        if step.expected is not None and not step.matches(output):
            wrong.append(
                f"README line {step.line} ({step.section}):\n{step.command}\n"
                f"  README shows: {step.expected}\n  answered:     {normalized(output)}"
            )
        elif step.expected is None and answered_an_error(output):
            wrong.append(f"README line {step.line}: {step.command}\n  answered: {output}")
    assert wrong == [], "\n\n".join(wrong)


def run(tour: list[Step], server: Served, home: Path) -> list[str]:
    """Every command in one bash session (so `export` carries over), and what each printed."""
    script = []
    for number, step in enumerate(tour):
        command = (
            step.command.replace(README_URL, server.url)
            .replace("<the API token printed by keyvend serve>", server.api_token)
            .replace("<the printed password>", server.password)
        )
        script += [f"printf '\\n%s\\n' '{MARK.format(number)}'", command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYVEND_")}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input="\n".join(script) + "\n",
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    pieces = re.split(r"\n@@keyvend-tour-step-(\d+)@@\n", done.stdout + done.stderr)
    outputs = dict(zip(map(int, pieces[1::2]), pieces[2::2], strict=True))
    return [outputs.get(number, "<not run>") for number in range(len(tour))]


def answered_an_error(output: str) -> bool:
    try:
        body = json.loads(output)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") is not None
