"""The README's tour as a script: its shell commands in order, each with the answer the README
shows under it (`# ...` lines), so that a test can run them and compare.

A command is a line of a ```sh block (with its `\\` continuation lines); the `#` lines right
under it are its expected output: `#   ` (indented) continues the line above, `#` alone is an
empty line, and three spaces end the output and start a remark (`   (shown this once)`).
In the expected output `...` stands for anything."""

from __future__ import annotations

import re
from dataclasses import dataclass

FENCE = re.compile(r"^```(\w*)\s*$")
REMARK = "   "


@dataclass
class Step:
    """One command of the tour, where the README has it, and what it should print."""

    line: int  # 1-based line of the README where the command starts
    section: str  # the `## ` heading it is under, with the `### ` one if any
    command: str
    expected: str | None  # None: the README shows no output for it

    def matches(self, output: str) -> bool:
        """Whether `output` is what the README says (`...` matching anything)."""
        assert self.expected is not None
        pattern = ".*?".join(re.escape(part) for part in self.expected.split("..."))
        return re.fullmatch(pattern, normalized(output), flags=re.DOTALL) is not None


def normalized(output: str) -> str:
    """Output as the README writes it: no carriage returns, no trailing blanks or blank lines."""
    lines = [line.rstrip() for line in output.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def steps(readme: str, sections: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[Step]:
    """The commands of the ```sh blocks under the `## ` sections named (by their start), in
    README order, leaving out the `### ` subsections named in `skip`."""
    found: list[Step] = []
    heading = subheading = ""
    fence: str | None = None
    pending: list[str] = []
    start = 0
    for number, line in enumerate(readme.splitlines(), start=1):
        fenced = FENCE.match(line)
        if fence is None:
            if line.startswith("## "):
                heading, subheading = line[3:], ""
            elif line.startswith("### "):
                subheading = line[4:]
            if fenced:
                fence = fenced.group(1) or "text"
            continue
        if fenced:
            fence = None
            continue
        wanted = heading.startswith(sections) and not subheading.startswith(skip or ("\0",))
        if fence != "sh" or not wanted:
            continue
        where = f"{heading} / {subheading}" if subheading else heading
        if pending:  # inside a command continued with a backslash
            pending.append(line)
        elif line.startswith("#"):
            _expect(found, line, number)
            continue
        elif line.strip():
            pending, start = [line], number
        if pending and not line.endswith("\\"):
            found.append(Step(start, where, "\n".join(pending), None))
            pending = []
    return found


def _expect(found: list[Step], line: str, number: int) -> None:
    assert found, f"README line {number}: output shown before any command"
    step = found[-1]
    text = line[1:]
    if text.startswith(REMARK) and step.expected is not None:  # continues the line above
        step.expected += text.strip().split(REMARK)[0]
        return
    text = text.removeprefix(" ").split(REMARK)[0].rstrip()
    step.expected = text if step.expected is None else f"{step.expected}\n{text}"
