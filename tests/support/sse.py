"""Reading a Server-Sent Events stream (the revocation stream) over a real connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAM = "/api/guest/serviceapikey/events"
READ_TIMEOUT = 30.0  # a heartbeat comes every 15 s: a silent stream this long is broken


@dataclass
class Message:
    """One SSE message: its id, event name ("message" unless named) and decoded data."""

    id: str | None
    event: str
    data: Any


@dataclass
class Stream:
    """The lines of one open stream, parsed into messages; `raw` keeps every line read."""

    lines: Iterator[str]
    raw: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def next(self) -> Message:
        """The next message (comments such as heartbeats are kept in `comments`)."""
        fields: dict[str, str] = {}
        for line in self.lines:
            self.raw.append(line)
            if line == "":
                if fields:
                    return _message(fields)
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = fields[name] + "\n" + value if name in fields else value
        raise AssertionError("the stream ended")

    def until(self, event: str) -> list[Message]:
        """Every message up to and including the first `event` one."""
        messages = [self.next()]
        while messages[-1].event != event:
            messages.append(self.next())
        return messages

    def comment(self) -> str:
        """Read on until a comment line (a heartbeat) arrives; returns it."""
        seen = len(self.comments)
        while len(self.comments) == seen:
            line = next(self.lines)
            self.raw.append(line)
            if line.startswith(":"):
                self.comments.append(line)
        return self.comments[-1]


def _message(fields: dict[str, str]) -> Message:
    data = fields.get("data")
    return Message(fields.get("id"), fields.get("event", "message"), json.loads(data or "null"))


@contextmanager
def subscribe(
    base: str, token: str | None, *, last_event_id: int | str | None = None
) -> Iterator[Stream]:
    """Open the revocation stream of the server at `base`; it must answer 200 (SSE)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    timeout = httpx.Timeout(10.0, read=READ_TIMEOUT)
    with httpx.stream("GET", base + STREAM, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response.iter_lines())
