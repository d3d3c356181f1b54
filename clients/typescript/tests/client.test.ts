/** KeyvendClient against a real `keyvend serve`, through a proxy counting what reaches it. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  KeyNotFound,
  KeyvendClient,
  RateLimited,
  ServeStale,
  ServerUnavailable,
  Unauthorized,
  VerifyCode,
  type KeyvendClientOptions,
} from "../src/index.js";
import { INFO_PATH, VERIFY_PATH } from "../src/protocol.js";
import { KeyvendServer, METERED_QUOTA, STARTER_LIMIT, Seed } from "./support/keyvend.js";
import { CountingProxy } from "./support/proxies.js";
import { FakeClock } from "./support/wait.js";

let seed: Seed;
let proxy: CountingProxy;

before(async () => {
  seed = await Seed.create();
  proxy = await CountingProxy.start(seed.server.url);
});

after(async () => {
  await proxy.stop();
  await seed.stop();
});

function client(clock: FakeClock, options: Partial<KeyvendClientOptions> = {}): KeyvendClient {
  return new KeyvendClient({
    baseUrl: proxy.url,
    appToken: seed.appToken,
    clock: clock.read,
    ...options,
  });
}

/** How many get_info requests `work` made reach the server. */
async function lookups(work: () => Promise<unknown>): Promise<number> {
  const before = proxy.requests(INFO_PATH);
  await work();
  return proxy.requests(INFO_PATH) - before;
}

test("a valid key is valid with its product's parameters and an unknown one is KeyNotFound", async () => {
  const keyvend = client(new FakeClock());
  const key = await seed.newKey();
  assert.deepEqual(await keyvend.getInfo(key), {
    valid: true,
    params: { monthlyLimit: STARTER_LIMIT },
  });
  assert.equal(await keyvend.check(key), true);
  await assert.rejects(keyvend.check("NO-SUCH-KEY-0000"), KeyNotFound);
  await assert.rejects(keyvend.check("  "), TypeError);
  await assert.rejects(keyvend.getInfo("X".repeat(601)), KeyNotFound); // never asked
});

test("a disabled key checks false", async () => {
  const keyvend = client(new FakeClock());
  const { orderId, key } = await seed.newOrder();
  await seed.admin.call("serviceapikey/update", { order_id: orderId, valid: 0 });
  assert.equal(await keyvend.check(key), false);
});

test("an answer is reused for cache_ttl and asked again after it", async () => {
  const clock = new FakeClock();
  const keyvend = client(clock, { cacheTtl: 30 });
  const key = await seed.newKey();
  assert.equal(await lookups(() => keyvend.check(key)), 1);
  clock.advance(29);
  assert.equal(await lookups(() => keyvend.getInfo(key)), 0); // check and getInfo share it
  clock.advance(1);
  assert.equal(await lookups(() => keyvend.check(key)), 1);
  keyvend.invalidate(key);
  assert.equal(await lookups(() => keyvend.check(key)), 1);
});

test("an unknown key's answer is reused for the negative ttl only", async () => {
  const clock = new FakeClock();
  const keyvend = client(clock, { negativeTtl: 5 });
  const check = () => assert.rejects(keyvend.check("NO-SUCH-KEY-0001"), KeyNotFound);
  assert.equal(await lookups(check), 1);
  clock.advance(4.9);
  assert.equal(await lookups(check), 0);
  clock.advance(0.1);
  assert.equal(await lookups(check), 1);
});

test("the least recently used key leaves a full cache first", async () => {
  const keyvend = client(new FakeClock(), { cacheSize: 2 });
  const [a, b, c] = [await seed.newKey(), await seed.newKey(), await seed.newKey()] as const;
  assert.equal(
    await lookups(async () => {
      await keyvend.check(a);
      await keyvend.check(b);
    }),
    2,
  );
  assert.equal(await lookups(() => keyvend.check(a)), 0); // a is now the most recently used
  assert.equal(await lookups(() => keyvend.check(c)), 1); // pushes b out
  assert.equal(keyvend.cached, 2);
  assert.equal(await lookups(() => keyvend.check(a)), 0);
  assert.equal(await lookups(() => keyvend.check(b)), 1);
});

test("concurrent checks of one uncached key make a single request", async () => {
  const keyvend = client(new FakeClock());
  const key = await seed.newKey();
  const made = await lookups(async () => {
    const answers = await Promise.all(Array.from({ length: 25 }, () => keyvend.check(key)));
    assert.deepEqual(new Set(answers), new Set([true]));
  });
  assert.equal(made, 1);
  const misses = await lookups(async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => keyvend.check("NO-SUCH-KEY-0002")),
    );
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof KeyNotFound));
  });
  assert.equal(misses, 1);
});

test("a wrong application token is Unauthorized for every call", async () => {
  const keyvend = client(new FakeClock(), { appToken: "kva_not-the-token" });
  const key = await seed.newKey();
  await assert.rejects(keyvend.check(key), Unauthorized);
  await assert.rejects(keyvend.verify(key), Unauthorized);
  assert.ok(!String(keyvend).includes("not-the-token"));
});

test("fails closed when the server cannot be reached, for a known and an unknown key", async () => {
  const clock = new FakeClock();
  const line = await CountingProxy.start(seed.server.url);
  const keyvend = client(clock, { baseUrl: line.url });
  const key = await seed.newKey();
  assert.equal(await keyvend.check(key), true);
  await line.stop();
  clock.advance(30);
  await assert.rejects(keyvend.check(key), ServerUnavailable);
  await assert.rejects(keyvend.check(await seed.newKey()), ServerUnavailable);
  await assert.rejects(keyvend.verify(key), ServerUnavailable);
});

test("a proxy's error page or a slow server is ServerUnavailable", async () => {
  const line = await CountingProxy.start(seed.server.url);
  try {
    const keyvend = client(new FakeClock(), { baseUrl: line.url, timeout: 0.2 });
    line.outage = 502;
    await assert.rejects(keyvend.check(await seed.newKey()), /HTTP 502/);
    line.outage = null;
    line.hold();
    await assert.rejects(keyvend.check(await seed.newKey()), /did not answer in time/);
  } finally {
    await line.stop();
  }
});

test("serve stale answers with the last known answer for its window, then fails closed", async () => {
  const clock = new FakeClock();
  const line = await CountingProxy.start(seed.server.url);
  try {
    const keyvend = client(clock, {
      baseUrl: line.url,
      cacheTtl: 30,
      onUnavailable: new ServeStale(60),
    });
    const key = await seed.newKey();
    assert.equal(await keyvend.check(key), true);
    line.outage = 502;
    clock.advance(30 + 59);
    assert.equal(await keyvend.check(key), true); // expired, the server down: stale answer
    await assert.rejects(keyvend.check(await seed.newKey()), ServerUnavailable); // never seen
    clock.advance(1);
    await assert.rejects(keyvend.check(key), ServerUnavailable);
    line.outage = null;
    assert.equal(await keyvend.check(key), true);
  } finally {
    await line.stop();
  }
});

test("verify spends the quota by its cost, is never cached and refuses a spent quota", async () => {
  const keyvend = client(new FakeClock());
  const key = await seed.newKey(seed.meteredId);
  const before = proxy.requests(VERIFY_PATH);
  const first = await keyvend.verify(key); // cost 1
  assert.equal(first.valid, true);
  assert.equal(first.code, VerifyCode.VALID);
  assert.ok(first.expiresAt instanceof Date && first.expiresAt.getTime() > Date.now());
  assert.deepEqual(
    [first.quota?.limit, first.quota?.remaining],
    [METERED_QUOTA, METERED_QUOTA - 1],
  );
  assert.ok(first.quota?.resetAt instanceof Date);
  assert.equal((await keyvend.verify(key, { cost: 2 })).quota?.remaining, 0);
  const spent = await keyvend.verify(key, { cost: 1 });
  assert.deepEqual([spent.valid, spent.code, spent.quota?.remaining], [false, "USAGE_EXCEEDED", 0]);
  const look = await keyvend.verify(key, { cost: 0 });
  assert.deepEqual([look.valid, look.code], [true, "VALID"]);
  assert.equal(proxy.requests(VERIFY_PATH) - before, 4);
  assert.equal((await keyvend.verify("NO-SUCH-KEY-0003")).code, VerifyCode.NOT_FOUND);
  await assert.rejects(keyvend.verify(key, { cost: -1 }), RangeError);
  await assert.rejects(keyvend.verify(key, { cost: 1.5 }), RangeError);
});

test("a 429 is RateLimited with its retry-after, and the client waits it out without asking", async () => {
  const limited = await KeyvendServer.start(seed.dataDir, {
    env: { KEYVEND_RATE_LIMIT_ENABLED: "true", KEYVEND_RATE_LIMIT_GUEST_MISS: "2/minute" },
  });
  const line = await CountingProxy.start(limited.url);
  try {
    const clock = new FakeClock();
    const guest = new KeyvendClient({ baseUrl: line.url, clock: clock.read });
    for (const n of [1, 2]) await assert.rejects(guest.check(`NO-SUCH-KEY-10${n}`), KeyNotFound);
    const refused = await guest.check("NO-SUCH-KEY-103").catch((error: unknown) => error);
    assert.ok(refused instanceof RateLimited, String(refused));
    assert.ok(refused.retryAfter >= 1 && refused.retryAfter <= 60);
    const asked = line.requests(INFO_PATH);
    await assert.rejects(guest.check(await seed.newKey()), RateLimited); // not even asked
    await assert.rejects(guest.verify("NO-SUCH-KEY-104"), RateLimited);
    assert.equal(line.requests(INFO_PATH), asked);
    // The application's token is counted against the application, never the IP's budgets.
    const application = client(clock, { baseUrl: line.url });
    assert.equal(await application.check(await seed.newKey()), true);
    await assert.rejects(application.check("NO-SUCH-KEY-105"), KeyNotFound);
  } finally {
    await line.stop();
    await limited.stop();
  }
});
