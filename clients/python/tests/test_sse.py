"""The SSE parser: messages, multi-line data, ids kept across messages, comments skipped."""

from __future__ import annotations

import httpx

from keyvend_client.sse import ServerSentEvent, SSEParser


def parse(text: str) -> tuple[list[ServerSentEvent], SSEParser]:
    """Every message of `text`, split into lines the way httpx splits a response."""
    parser = SSEParser()
    response = httpx.Response(200, content=text.encode())
    events = [event for line in response.iter_lines() if (event := parser.feed(line))]
    return events, parser


def test_a_message_is_dispatched_by_the_blank_line_after_it() -> None:
    events, _ = parse('id: 7\ndata: {"fingerprint":"ab","change":"key.reset"}\n\n')
    assert events == [ServerSentEvent("message", '{"fingerprint":"ab","change":"key.reset"}', "7")]


def test_a_named_event_carries_its_type_and_lines_of_data_are_joined() -> None:
    events, _ = parse("event: ready\nid: 12\ndata: {}\n\ndata: one\ndata: two\n\n")
    assert events == [
        ServerSentEvent("ready", "{}", "12"),
        ServerSentEvent("message", "one\ntwo", "12"),  # the last id stays until another
    ]


def test_comments_and_heartbeats_are_skipped() -> None:
    events, parser = parse(": ping - 2026-01-15 12:00:00\n\n:\n\n")
    assert events == [] and parser.last_id is None


def test_crlf_and_cr_line_ends_are_understood() -> None:
    events, _ = parse("id: 3\r\ndata: x\r\n\r\nid: 4\rdata: y\r\r")
    assert [(e.id, e.data) for e in events] == [("3", "x"), ("4", "y")]


def test_a_message_without_data_is_dropped_but_its_id_counts() -> None:
    events, parser = parse("id: 9\nevent: ready\n\n")
    assert events == [] and parser.last_id == "9"


def test_only_one_space_after_the_colon_is_removed_and_a_bare_field_is_empty() -> None:
    events, _ = parse("data:  two spaces\n\ndata\n\n")
    assert [e.data for e in events] == [" two spaces", ""]


def test_an_id_with_a_nul_is_ignored_and_retry_must_be_digits() -> None:
    events, _ = parse("id: 5\ndata: a\n\nid: 6\0\nretry: soon\ndata: b\n\nretry: 3000\ndata: c\n\n")
    assert [(e.id, e.retry) for e in events] == [("5", None), ("5", None), ("5", 3000)]


def test_a_message_split_across_reads_is_put_together() -> None:
    parser = SSEParser()
    chunks = [b"id: 1", b'1\ndata: {"finger', b'print":null}\n', b"\n"]
    response = httpx.Response(200, content=iter(chunks))
    assert [parser.feed(line) for line in response.iter_lines()][-1] == ServerSentEvent(
        "message", '{"fingerprint":null}', "11"
    )
