"""Live mode without a server: eviction by fingerprint, which TTL an answer gets, the
stream's messages, the reconnect delays."""

from __future__ import annotations

import logging

import httpx
import pytest
from keyvend.domain.event_types import fingerprint as server_fingerprint

from conftest import FakeClock
from keyvend_client import KeyInfo, KeyvendClient, LiveState, ServerUnavailable, ServeStale
from keyvend_client.answers import AnswerCache, fingerprint
from keyvend_client.cache import MISS, TTLCache
from keyvend_client.live import FIRST_DELAY, MAX_DELAY, Backoff, StreamSession
from keyvend_client.sse import ServerSentEvent

CACHE_TTL = 30.0
LIVE_TTL = 3600.0
VALID = httpx.Response(200, json={"result": {"valid": True, "config": {}}, "error": None})
INVALID = httpx.Response(200, json={"result": {"valid": False, "config": {}}, "error": None})


def live_cache(clock: FakeClock, *, live: bool = True, stale: float = 0.0) -> AnswerCache:
    answers = AnswerCache(
        cache_ttl=CACHE_TTL,
        negative_ttl=5,
        max_entries=100,
        on_unavailable=ServeStale(stale),
        clock=clock,
        live_ttl=LIVE_TTL,
    )
    answers.set_live(live)
    return answers


def store(answers: AnswerCache, key: str, response: httpx.Response = VALID) -> None:
    answers.settle(key, response, epoch=answers.epoch)


def test_the_fingerprint_is_the_one_the_server_computes() -> None:
    for key in ("ABCD-1234-ef", "  abcd-1234-EF "):
        assert fingerprint(key) == server_fingerprint(key)
    assert fingerprint("abcd-1234") != fingerprint("abcd1234")  # dashes count


def test_a_tag_evicts_only_its_entries_and_its_index_follows_the_lru(clock: FakeClock) -> None:
    cache: TTLCache[int] = TTLCache(max_entries=2, clock=clock)
    cache.put("A", 1, ttl=60, tag="t")
    cache.put("a", 2, ttl=60, tag="t")
    cache.put("b", 3, ttl=60, tag="u")  # pushes "A" out, and out of the index
    cache.discard_tag("t")
    assert [cache.fresh(k) for k in ("A", "a", "b")] == [MISS, MISS, 3]
    cache.put("A", 4, ttl=60, tag="t")
    cache.discard_tag("u")
    assert [cache.fresh(k) for k in ("A", "b")] == [4, MISS]


def test_a_read_can_cap_an_entrys_age_below_its_ttl(clock: FakeClock) -> None:
    cache: TTLCache[str] = TTLCache(max_entries=10, clock=clock)
    cache.put("k", "v", ttl=3600, keep_for=10)
    clock.advance(30)
    assert cache.fresh("k") == "v"
    assert cache.fresh("k", max_age=30) is MISS
    assert cache.stale("k", max_age=30) == "v"  # within the keep window after the cap
    assert cache.fresh("k") == "v"  # the cap is the reader's, not the entry's
    clock.advance(10)
    assert cache.stale("k", max_age=30) is MISS


def test_evicting_a_fingerprint_drops_every_spelling_of_that_key_only(clock: FakeClock) -> None:
    answers = live_cache(clock)
    for key in ("KEY-ONE", "key-one", "KEY-TWO"):
        store(answers, key)
    answers.evict(fingerprint("Key-One"))
    assert [answers.fresh(k) for k in ("KEY-ONE", "key-one")] == [MISS, MISS]
    assert answers.fresh("KEY-TWO") == KeyInfo(True)
    answers.evict(None)  # null: every key
    assert answers.fresh("KEY-TWO") is MISS


def test_while_live_a_valid_answer_lives_for_live_ttl_and_an_invalid_one_as_before(
    clock: FakeClock,
) -> None:
    answers = live_cache(clock)
    store(answers, "GOOD")
    store(answers, "BAD", INVALID)
    clock.advance(5)
    assert answers.fresh("BAD") is MISS  # negative answers keep the negative TTL
    clock.advance(LIVE_TTL - 5.1)
    assert answers.fresh("GOOD") == KeyInfo(True)
    clock.advance(0.1)
    assert answers.fresh("GOOD") is MISS


def test_an_answer_cached_while_live_dies_at_the_short_ttl_once_the_stream_drops(
    clock: FakeClock,
) -> None:
    answers = live_cache(clock, stale=10)
    store(answers, "OLD")
    clock.advance(CACHE_TTL + 5)
    store(answers, "NEW")
    answers.set_live(False)
    assert answers.fresh("OLD") is MISS and answers.fresh("NEW") == KeyInfo(True)
    assert answers.fallback("OLD", ServerUnavailable("down")) == KeyInfo(True)
    answers.set_live(True)  # a reconnect replayed the gap: the answer is good again
    assert answers.fresh("OLD") == KeyInfo(True)


def test_an_answer_asked_for_before_an_eviction_or_before_going_live_gets_the_short_ttl(
    clock: FakeClock,
) -> None:
    answers = live_cache(clock, live=False)
    before_live = answers.epoch
    answers.set_live(True)
    answers.settle("EARLY", VALID, epoch=before_live)
    before_eviction = answers.epoch
    answers.evict(fingerprint("SOMETHING-ELSE"))
    answers.settle("RACED", VALID, epoch=before_eviction)
    store(answers, "TRUSTED")
    clock.advance(CACHE_TTL)
    assert [answers.fresh(k) for k in ("EARLY", "RACED")] == [MISS, MISS]
    assert answers.fresh("TRUSTED") == KeyInfo(True)


def test_the_session_evicts_goes_live_on_ready_and_remembers_the_last_id(
    clock: FakeClock,
) -> None:
    answers = live_cache(clock, live=False)
    session = StreamSession(answers, {"Authorization": "Bearer t"})
    assert "Last-Event-ID" not in session.request_headers()
    session.handle(ServerSentEvent("ready", "{}", "40"))
    assert session.state == LiveState.LIVE and answers.live
    store(answers, "KEY-ONE")
    store(answers, "KEY-TWO")
    session.handle(
        ServerSentEvent("message", f'{{"fingerprint":"{fingerprint("KEY-ONE")}"}}', "41")
    )
    assert answers.fresh("KEY-ONE") is MISS and answers.fresh("KEY-TWO") == KeyInfo(True)
    assert session.request_headers()["Last-Event-ID"] == "41"
    session.broke(None)
    assert session.state == LiveState.DOWN and not answers.live


def test_an_unreadable_message_evicts_everything(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    answers = live_cache(clock)
    session = StreamSession(answers, {"Authorization": "Bearer t"})
    store(answers, "KEY-ONE")
    with caplog.at_level(logging.WARNING, "keyvend_client.live"):
        session.handle(ServerSentEvent("message", "not json", "42"))
    assert answers.fresh("KEY-ONE") is MISS
    assert "unreadable" in caplog.text


def test_reconnect_delays_double_to_a_cap_with_jitter_and_start_over_after_a_reset() -> None:
    backoff = Backoff()
    delays = [backoff.next() for _ in range(10)]
    nominal = [min(FIRST_DELAY * 2**n, MAX_DELAY) for n in range(10)]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert backoff.next(at_least=60) == 60  # a 429's Retry-After
    backoff.reset()
    assert backoff.next() <= FIRST_DELAY


def test_live_mode_needs_an_application_token() -> None:
    with pytest.raises(ValueError, match="app_token"):
        KeyvendClient("http://127.0.0.1:1", live=True)
    with KeyvendClient("http://127.0.0.1:1") as client:
        assert client.live_state == LiveState.OFF


def test_an_answer_from_a_server_behind_the_stream_is_not_kept(clock: FakeClock) -> None:
    answers = live_cache(clock)
    answers.saw(42)  # the stream has told of event 42
    behind = httpx.Response(200, headers={"X-Keyvend-Seq": "41"}, json=VALID.json())
    caught_up = httpx.Response(200, headers={"X-Keyvend-Seq": "42"}, json=VALID.json())
    answers.settle("K1", behind, epoch=answers.epoch)
    assert answers.fresh("K1") is MISS  # it may predate a change already heard of
    answers.settle("K1", caught_up, epoch=answers.epoch)
    assert answers.fresh("K1") == KeyInfo(valid=True, params={})
    clock.advance(CACHE_TTL + 1)
    assert answers.fresh("K1") != MISS  # kept for the live TTL
