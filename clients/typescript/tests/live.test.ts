/**
 * Live mode against real servers: revocations reach the client's cache through the stream.
 *
 * The clients here run on a clock that never moves, so a cached answer would live for ever:
 * only an eviction from the stream can make a check ask the server again.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  KeyNotFound,
  KeyvendClient,
  LiveState,
  ServerUnavailable,
  Unauthorized,
} from "../src/index.js";
import { INFO_PATH } from "../src/protocol.js";
import { KeyvendServer, Seed } from "./support/keyvend.js";
import { CountingProxy, TcpProxy } from "./support/proxies.js";
import { FakeClock, KeptLog, eventually } from "./support/wait.js";

const CACHE_TTL = 30;
let seed: Seed;

before(async () => {
  seed = await Seed.create();
});

after(async () => {
  await seed.stop();
});

function liveClient(baseUrl: string, clock: FakeClock, log = new KeptLog()): KeyvendClient {
  return new KeyvendClient({
    baseUrl,
    appToken: seed.appToken,
    live: true,
    cacheTtl: CACHE_TTL,
    clock: clock.read,
    timeout: 30,
    logger: log,
  });
}

/** Whether the client no longer lets `key` in. */
async function refused(client: KeyvendClient, key: string): Promise<boolean> {
  try {
    return (await client.check(key)) === false;
  } catch (error) {
    if (error instanceof KeyNotFound) return true;
    throw error;
  }
}

/** Start following, wait for `live`, then cache `keys` (answers trusted for liveTtl). */
async function cacheWhileLive(client: KeyvendClient, ...keys: string[]): Promise<void> {
  await client.check(keys[0]!);
  await eventually(() => client.liveState === LiveState.LIVE, "the stream is live");
  client.invalidate();
  for (const key of keys) assert.equal(await client.check(key), true);
}

test("on a server with two workers a suspend and a reset reach a live client", async () => {
  const server = await KeyvendServer.start(seed.dataDir, { workers: 2 });
  const admin = seed.admin.at(server.url);
  const suspended = await seed.newOrder();
  const reset = await seed.newOrder();
  const client = liveClient(server.url, new FakeClock());
  try {
    await cacheWhileLive(client, suspended.key, reset.key);
    await admin.call("order/suspend", { id: suspended.orderId, reason: "unpaid" });
    await eventually(() => refused(client, suspended.key), "the suspended key is refused");
    assert.equal(await client.check(reset.key), true);
    await admin.call("serviceapikey/reset", { order_id: reset.orderId });
    await eventually(() => refused(client, reset.key), "the reset key is refused");
    assert.equal(client.liveState, LiveState.LIVE);
  } finally {
    await client.close();
    await server.stop();
  }
  assert.equal(client.liveState, LiveState.CLOSED);
});

test("while the stream is down answers fall back to the short ttl and a reconnect replays", async () => {
  const clock = new FakeClock();
  const early = await seed.newKey();
  const late = await seed.newOrder();
  const proxy = await TcpProxy.start(seed.server.url);
  const log = new KeptLog();
  const client = liveClient(proxy.url, clock, log);
  try {
    await cacheWhileLive(client, early);
    clock.advance(CACHE_TTL - 10);
    assert.equal(await client.check(late.key), true);
    proxy.cut();
    await eventually(() => client.liveState === LiveState.DOWN, "the client sees the cut");
    await seed.admin.call("order/suspend", { id: late.orderId, reason: "unpaid" }); // unheard
    clock.advance(10);
    await assert.rejects(client.check(early), ServerUnavailable); // 30 s old: the short TTL is over
    assert.equal(await client.check(late.key), true); // 10 s old: fresh under the short TTL
    proxy.resume();
    await eventually(() => refused(client, late.key), "the replay evicts the suspended key");
    assert.equal(client.liveState, LiveState.LIVE);
  } finally {
    await client.close();
    await proxy.close();
  }
  const streams = proxy.heads.filter((head) =>
    head.startsWith("GET /api/guest/serviceapikey/events"),
  );
  assert.ok(streams.length >= 2, `${streams.length} stream requests`);
  assert.match(streams.at(-1)!.toLowerCase(), /\r\nlast-event-id: \d+\r\n/);
  assert.doesNotMatch(streams[0]!.toLowerCase(), /last-event-id/);
  assert.equal(log.lines.filter((line) => line.includes("revocation stream lost")).length, 1);
});

test("an answer from a server process behind a change the client has heard of is not kept", async () => {
  const proxy = await CountingProxy.start(seed.server.url);
  const client = liveClient(proxy.url, new FakeClock());
  const lookups = async (key: string): Promise<number> => {
    const before = proxy.requests(INFO_PATH);
    assert.equal(await client.check(key), true);
    return proxy.requests(INFO_PATH) - before;
  };
  try {
    await cacheWhileLive(client, await seed.newKey()); // `ready` carried the newest seq
    const key = await seed.newKey();
    proxy.lagSeq = 0; // as a worker that has heard of no event at all would answer
    assert.deepEqual([await lookups(key), await lookups(key)], [1, 1]);
    proxy.lagSeq = null;
    assert.deepEqual([await lookups(key), await lookups(key)], [1, 0]);
  } finally {
    await client.close();
    await proxy.stop();
  }
});

test("a refused token stops the following, once, and calls are Unauthorized", async () => {
  const log = new KeptLog();
  const client = new KeyvendClient({
    baseUrl: seed.server.url,
    appToken: "kva_not-a-token",
    live: true,
    clock: new FakeClock().read,
    logger: log,
  });
  try {
    await assert.rejects(client.check("ANY-KEY"), Unauthorized);
    await eventually(() => client.liveState === LiveState.UNAUTHORIZED, "the follower stops");
    await assert.rejects(client.check("ANY-KEY"), Unauthorized);
  } finally {
    await client.close();
  }
  const refusals = log.lines.filter((line) => line.includes("refused the application token"));
  assert.equal(refusals.length, 1);
});

test("live mode needs an application token", () => {
  assert.throws(() => new KeyvendClient({ baseUrl: "http://127.0.0.1:1", live: true }), /appToken/);
  const client = new KeyvendClient({ baseUrl: "http://127.0.0.1:1" });
  assert.equal(client.liveState, LiveState.OFF);
});
