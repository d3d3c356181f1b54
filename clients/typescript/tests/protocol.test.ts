/** The wire format without a server: envelopes, HTTP statuses, verify results; the SSE
 * parser, the reconnect delays and the live session's handling of messages. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { AnswerCache, fingerprint } from "../src/answers.js";
import { MISS } from "../src/cache.js";
import { ApiError, RateLimited, ServerUnavailable, Unauthorized } from "../src/errors.js";
import { Backoff, FIRST_DELAY, LiveState, MAX_DELAY, StreamSession } from "../src/live.js";
import { FAIL_CLOSED } from "../src/policy.js";
import { decode, decodeVerification, type WireAnswer } from "../src/protocol.js";
import { LineSplitter, SSEParser } from "../src/sse.js";
import { FakeClock, KeptLog } from "./support/wait.js";

function answer(body: unknown, status = 200, headers: Record<string, string> = {}): WireAnswer {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return { status, headers: new Headers(headers), body: text };
}

test("every kind of failure becomes its own error", () => {
  const cases: [WireAnswer, (e: unknown) => boolean][] = [
    [
      answer("", 429, { "Retry-After": "12" }),
      (e) => e instanceof RateLimited && e.retryAfter === 12,
    ],
    [
      answer({ result: null, error: { message: "slow", code: 429 } }),
      (e) => e instanceof RateLimited,
    ],
    [answer("<html>Bad Gateway</html>", 502), (e) => e instanceof ServerUnavailable],
    [
      answer("<html>hello</html>", 200),
      (e) => e instanceof ServerUnavailable && /base URL/.test(String(e)),
    ],
    [
      answer({ result: null, error: { message: "no", code: 201 } }, 401),
      (e) => e instanceof Unauthorized,
    ],
    [
      answer({ result: null, error: { message: "Authentication Failed", code: 201 } }),
      (e) => e instanceof Unauthorized,
    ],
    [
      answer({ result: null, error: { message: "Module inactive", code: 715 } }),
      (e) => e instanceof ApiError && e.code === 715,
    ],
    [answer({ result: { config: {} }, error: null }), (e) => e instanceof ServerUnavailable],
  ];
  for (const [wire, expected] of cases) assert.throws(() => decode(wire), expected);
});

test("an unknown key is null for get_info and NOT_FOUND for verify", () => {
  const unknown = answer({
    result: null,
    error: { message: "API key does not exist", code: 9999 },
  });
  assert.equal(decode(unknown), null);
  assert.equal(decodeVerification(unknown).code, "NOT_FOUND");
  assert.deepEqual(decode(answer({ result: { valid: 1, config: null }, error: null })), {
    valid: true,
    params: {},
  });
});

test("a verify result reads its dates and quota, and keeps a code it does not know", () => {
  const found = decodeVerification(
    answer({
      result: {
        valid: false,
        code: "USAGE_EXCEEDED",
        config: { monthlyLimit: 250 },
        expires_at: "2027-01-01T12:00:00+00:00",
        quota: { limit: 3, remaining: 0, reset_at: "2027-01-01T00:00:00" },
      },
      error: null,
    }),
  );
  assert.equal(found.code, "USAGE_EXCEEDED");
  assert.equal(found.expiresAt?.toISOString(), "2027-01-01T12:00:00.000Z");
  assert.deepEqual(found.quota, {
    limit: 3,
    remaining: 0,
    resetAt: new Date("2027-01-01T00:00:00Z"),
  });
  const newer = decodeVerification(
    answer({ result: { valid: false, code: "FROZEN" }, error: null }),
  );
  assert.equal(newer.code, "FROZEN");
  assert.throws(
    () =>
      decodeVerification(
        answer({ result: { valid: true, code: "VALID", quota: { limit: "x" } }, error: null }),
      ),
    ServerUnavailable,
  );
});

test("the sse parser joins data lines, remembers the id and skips comments", () => {
  const parser = new SSEParser();
  const lines = new LineSplitter();
  const events = lines
    .push(": heartbeat\r\nid: 41\r\nevent: ready\r\ndata: {}\r\n\r\nid: 42\ndata: a\ndata:b\n\n")
    .concat(lines.push("data: c\r"), lines.push("\n\r\n"))
    .map((line) => parser.feed(line))
    .filter((event) => event !== null);
  assert.deepEqual(events, [
    { event: "ready", data: "{}", id: "41", retry: null },
    { event: "message", data: "a\nb", id: "42", retry: null },
    { event: "message", data: "c", id: "42", retry: null },
  ]);
});

test("reconnect delays double to a cap with jitter and start over after a reset", () => {
  const backoff = new Backoff();
  const delays = Array.from({ length: 10 }, () => backoff.next());
  delays.forEach((delay, n) => {
    const nominal = Math.min(FIRST_DELAY * 2 ** n, MAX_DELAY);
    assert.ok(nominal / 2 <= delay && delay <= nominal, `${delay} vs ${nominal}`);
  });
  assert.equal(backoff.next(60), 60); // a 429's Retry-After
  backoff.reset();
  assert.ok(backoff.next() <= FIRST_DELAY);
});

test("the session evicts, goes live on ready, remembers the last id and logs an unreadable message", () => {
  const clock = new FakeClock();
  const answers = new AnswerCache({
    cacheTtl: 30,
    negativeTtl: 5,
    cacheSize: 10,
    onUnavailable: FAIL_CLOSED,
    clock: clock.read,
    liveTtl: 3600,
  });
  const log = new KeptLog();
  const session = new StreamSession(answers, { Authorization: "Bearer t" }, log);
  assert.equal(session.requestHeaders()["Last-Event-ID"], undefined);
  session.handle({ event: "ready", data: "{}", id: "40", retry: null });
  assert.equal(session.state, LiveState.LIVE);
  const valid = answer({ result: { valid: true, config: {} }, error: null });
  for (const key of ["KEY-ONE", "KEY-TWO", "KEY-THREE"]) answers.settle(key, valid, answers.epoch);
  session.handle({
    event: "message",
    data: JSON.stringify({ fingerprint: fingerprint("key-one") }),
    id: "41",
    retry: null,
  });
  assert.equal(answers.fresh("KEY-ONE"), MISS);
  assert.notEqual(answers.fresh("KEY-TWO"), MISS);
  assert.equal(session.requestHeaders()["Last-Event-ID"], "41");
  session.handle({ event: "message", data: "not json", id: "42", retry: null });
  assert.equal(answers.fresh("KEY-TWO"), MISS);
  assert.ok(log.lines.some((line) => line.includes("unreadable")));
  session.broke(null);
  assert.equal(session.state, LiveState.DOWN);
  assert.equal(answers.live, false);
});
