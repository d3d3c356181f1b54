"""Server-Sent Events, parsed line by line as the WHATWG HTML standard describes them.

Only what a reader of Keyvend's revocation stream needs: `event`, `data` (several lines
joined by newlines), `id` (remembered across messages, as `Last-Event-ID` must be) and
`retry`; comments (the heartbeats) and unknown fields are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched message: its type ("message" unless named), data and the last id seen."""

    event: str
    data: str
    id: str | None
    retry: int | None = None


class SSEParser:
    """Feed it the stream's lines (without their line ends); it hands back each message."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._event = ""
        self._data: list[str] = []
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """The message a blank `line` completes, else None (the line is remembered)."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data, retry = self._event or "message", self._data, self._retry
        self._event, self._data, self._retry = "", [], None
        if not data:  # the standard drops a message without data (its id still counts)
            return None
        return ServerSentEvent(event, "\n".join(data), self.last_id, retry)
