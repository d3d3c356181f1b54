/** The cache without a server: TTLs, LRU order, stale entries, tags, and the answer cache's
 * rules (negative TTL, serve-stale, 429 back-off, live TTLs, the X-Keyvend-Seq rule). */

import assert from "node:assert/strict";
import { test } from "node:test";

import { AnswerCache, fingerprint } from "../src/answers.js";
import { MISS, TTLCache } from "../src/cache.js";
import { RateLimited, ServerUnavailable } from "../src/errors.js";
import { FAIL_CLOSED, ServeStale, type FailurePolicy } from "../src/policy.js";
import type { WireAnswer } from "../src/protocol.js";
import { FakeClock } from "./support/wait.js";

const CACHE_TTL = 30;
const LIVE_TTL = 3600;

function wire(result: unknown, headers: Record<string, string> = {}, status = 200): WireAnswer {
  return { status, headers: new Headers(headers), body: JSON.stringify({ result, error: null }) };
}

const VALID = wire({ valid: true, config: { monthlyLimit: 250 } });
const INVALID = wire({ valid: false, config: [] });
const UNKNOWN: WireAnswer = {
  status: 200,
  headers: new Headers(),
  body: JSON.stringify({ result: null, error: { message: "API key does not exist", code: 9999 } }),
};

function answers(
  clock: FakeClock,
  { live = null, policy = FAIL_CLOSED }: { live?: boolean | null; policy?: FailurePolicy } = {},
): AnswerCache {
  const cache = new AnswerCache({
    cacheTtl: CACHE_TTL,
    negativeTtl: 5,
    cacheSize: 100,
    onUnavailable: policy,
    clock: clock.read,
    liveTtl: live === null ? null : LIVE_TTL,
  });
  if (live) cache.setLive(true);
  return cache;
}

test("an entry is fresh for its ttl and then missed", () => {
  const clock = new FakeClock();
  const cache = new TTLCache<string>({ maxEntries: 10, clock: clock.read });
  cache.put("k", "v", { ttl: 30 });
  clock.advance(29.9);
  assert.equal(cache.fresh("k"), "v");
  clock.advance(0.1);
  assert.equal(cache.fresh("k"), MISS);
  assert.equal(cache.size, 0);
});

test("the least recently used entry is evicted first and a read counts as a use", () => {
  const clock = new FakeClock();
  const cache = new TTLCache<number>({ maxEntries: 2, clock: clock.read });
  cache.put("a", 1, { ttl: 60 });
  cache.put("b", 2, { ttl: 60 });
  assert.equal(cache.fresh("a"), 1); // "b" is now the least recently used
  cache.put("c", 3, { ttl: 60 });
  assert.deepEqual(
    ["a", "b", "c"].map((k) => cache.fresh(k)),
    [1, MISS, 3],
  );
});

test("an expired entry is still handed out as stale within its keep window", () => {
  const clock = new FakeClock();
  const cache = new TTLCache<string>({ maxEntries: 10, clock: clock.read });
  cache.put("k", "v", { ttl: 10, keepFor: 5 });
  clock.advance(12);
  assert.equal(cache.fresh("k"), MISS);
  assert.equal(cache.stale("k"), "v");
  clock.advance(3);
  assert.equal(cache.stale("k"), MISS);
});

test("a tag evicts only its entries and its index follows the lru", () => {
  const clock = new FakeClock();
  const cache = new TTLCache<number>({ maxEntries: 2, clock: clock.read });
  cache.put("A", 1, { ttl: 60, tag: "t" });
  cache.put("a", 2, { ttl: 60, tag: "t" });
  cache.put("b", 3, { ttl: 60, tag: "u" }); // pushes "A" out, and out of the index
  cache.discardTag("t");
  assert.deepEqual(
    ["A", "a", "b"].map((k) => cache.fresh(k)),
    [MISS, MISS, 3],
  );
  cache.put("A", 4, { ttl: 60, tag: "t" });
  cache.discardTag("u");
  assert.deepEqual(
    ["A", "b"].map((k) => cache.fresh(k)),
    [4, MISS],
  );
});

test("a read can cap an entry's age below its ttl", () => {
  const clock = new FakeClock();
  const cache = new TTLCache<string>({ maxEntries: 10, clock: clock.read });
  cache.put("k", "v", { ttl: 3600, keepFor: 10 });
  clock.advance(30);
  assert.equal(cache.fresh("k"), "v");
  assert.equal(cache.fresh("k", 30), MISS);
  assert.equal(cache.stale("k", 30), "v");
  clock.advance(10);
  assert.equal(cache.stale("k", 30), MISS);
});

test("a cache of fewer than one entry is refused", () => {
  assert.throws(() => new TTLCache({ maxEntries: 0, clock: () => 0 }), RangeError);
});

test("valid answers live cache_ttl and invalid or unknown ones the negative ttl", () => {
  const clock = new FakeClock();
  const cache = answers(clock);
  assert.deepEqual(cache.settle("GOOD", VALID), { valid: true, params: { monthlyLimit: 250 } });
  assert.deepEqual(cache.settle("BAD", INVALID), { valid: false, params: {} });
  assert.equal(cache.settle("NONE", UNKNOWN), null);
  clock.advance(5);
  assert.deepEqual(
    ["BAD", "NONE"].map((k) => cache.fresh(k)),
    [MISS, MISS],
  );
  assert.notEqual(cache.fresh("GOOD"), MISS);
  clock.advance(CACHE_TTL - 5);
  assert.equal(cache.fresh("GOOD"), MISS);
});

test("fail closed throws and serve stale serves the last answer for its window only", () => {
  const clock = new FakeClock();
  const down = new ServerUnavailable("down");
  const closed = answers(clock);
  closed.settle("K", VALID);
  clock.advance(CACHE_TTL);
  assert.throws(() => closed.fallback("K", down), ServerUnavailable);
  const stale = answers(clock, { policy: new ServeStale(60) });
  stale.settle("K", VALID);
  clock.advance(CACHE_TTL + 59);
  assert.deepEqual(stale.fallback("K", down), { valid: true, params: { monthlyLimit: 250 } });
  assert.throws(() => stale.fallback("NEVER-SEEN", down), ServerUnavailable);
  clock.advance(1);
  assert.throws(() => stale.fallback("K", down), ServerUnavailable);
});

test("a 429 blocks every call until its retry-after has passed", () => {
  const clock = new FakeClock();
  const cache = answers(clock);
  const limited = { status: 429, headers: new Headers({ "Retry-After": "7" }), body: "" };
  assert.throws(
    () => cache.settle("K", limited),
    (error: unknown) => {
      return error instanceof RateLimited && error.retryAfter === 7;
    },
  );
  clock.advance(6.5);
  assert.throws(
    () => cache.checkBackoff(),
    (e: unknown) => e instanceof RateLimited && e.retryAfter === 1,
  );
  clock.advance(0.5);
  cache.checkBackoff();
});

test("evicting a fingerprint drops every spelling of that key only", () => {
  const clock = new FakeClock();
  const cache = answers(clock, { live: true });
  for (const key of ["KEY-ONE", "key-one", "KEY-TWO"]) cache.settle(key, VALID, cache.epoch);
  cache.evict(fingerprint("Key-One"));
  assert.deepEqual(
    ["KEY-ONE", "key-one"].map((k) => cache.fresh(k)),
    [MISS, MISS],
  );
  assert.notEqual(cache.fresh("KEY-TWO"), MISS);
  cache.evict(null); // null: every key
  assert.equal(cache.fresh("KEY-TWO"), MISS);
});

test("the fingerprint is the one the server computes", () => {
  const expected = "f7c6b2a1836fe7a628267aa9f48d435270252fcccf93cba33d4e472e7ccc5514";
  assert.equal(fingerprint("ABCD-1234-ef"), expected); // from keyvend.domain.event_types
  assert.equal(fingerprint("  abcd-1234-EF "), expected);
  assert.notEqual(fingerprint("abcd-1234"), fingerprint("abcd1234")); // dashes count
});

test("while live a valid answer lives for live_ttl and an invalid one as before", () => {
  const clock = new FakeClock();
  const cache = answers(clock, { live: true });
  cache.settle("GOOD", VALID, cache.epoch);
  cache.settle("BAD", INVALID, cache.epoch);
  clock.advance(5);
  assert.equal(cache.fresh("BAD"), MISS);
  clock.advance(LIVE_TTL - 5.1);
  assert.notEqual(cache.fresh("GOOD"), MISS);
  clock.advance(0.1);
  assert.equal(cache.fresh("GOOD"), MISS);
});

test("an answer cached while live dies at the short ttl once the stream drops", () => {
  const clock = new FakeClock();
  const cache = answers(clock, { live: true, policy: new ServeStale(10) });
  cache.settle("OLD", VALID, cache.epoch);
  clock.advance(CACHE_TTL + 5);
  cache.settle("NEW", VALID, cache.epoch);
  cache.setLive(false);
  assert.equal(cache.fresh("OLD"), MISS);
  assert.notEqual(cache.fresh("NEW"), MISS);
  assert.notEqual(cache.fallback("OLD", new ServerUnavailable("down")), MISS);
  cache.setLive(true); // a reconnect replayed the gap: the answer is good again
  assert.notEqual(cache.fresh("OLD"), MISS);
});

test("an answer asked for before an eviction or before going live gets the short ttl", () => {
  const clock = new FakeClock();
  const cache = answers(clock, { live: false });
  const beforeLive = cache.epoch;
  cache.setLive(true);
  cache.settle("EARLY", VALID, beforeLive);
  const beforeEviction = cache.epoch;
  cache.evict(fingerprint("SOMETHING-ELSE"));
  cache.settle("RACED", VALID, beforeEviction);
  cache.settle("TRUSTED", VALID, cache.epoch);
  clock.advance(CACHE_TTL);
  assert.deepEqual(
    ["EARLY", "RACED"].map((k) => cache.fresh(k)),
    [MISS, MISS],
  );
  assert.notEqual(cache.fresh("TRUSTED"), MISS);
});

test("an answer from a server process behind the stream is not kept", () => {
  const clock = new FakeClock();
  const cache = answers(clock, { live: true });
  cache.saw(42); // the stream has told of event 42
  const result = { valid: true, config: {} };
  cache.settle("K1", wire(result, { "X-Keyvend-Seq": "41" }), cache.epoch);
  assert.equal(cache.fresh("K1"), MISS); // it may predate a change already heard of
  cache.settle("K1", wire(result, { "X-Keyvend-Seq": "42" }), cache.epoch);
  clock.advance(CACHE_TTL + 1);
  assert.notEqual(cache.fresh("K1"), MISS); // kept, for the live TTL
});
