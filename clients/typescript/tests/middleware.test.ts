/**
 * The Express middleware and the Fastify plugin, each serving on loopback in front of a real
 * `keyvend serve`: 401 JSON for a missing or invalid key, the key's parameters for handlers,
 * 429 once a spent quota refuses, 503 when the key cannot be verified.
 */

import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";

import express from "express";
import Fastify from "fastify";

import { expressMiddleware } from "../src/express.js";
import { fastifyKeyvend } from "../src/fastify.js";
import {
  KeyvendClient,
  type AccessOptions,
  type KeyChecker,
  type VerifiedKey,
} from "../src/index.js";
import { METERED_QUOTA, STARTER_LIMIT, Seed, freePort } from "./support/keyvend.js";

let seed: Seed;
let keyvend: KeyvendClient;

before(async () => {
  seed = await Seed.create();
  keyvend = new KeyvendClient({ baseUrl: seed.server.url, appToken: seed.appToken });
});

after(async () => {
  await seed.stop();
});

/** What each handler answers: what the integration handed it. */
function seen(found: VerifiedKey | undefined): Record<string, unknown> {
  return { params: found?.params, remaining: found?.quota?.remaining ?? null };
}

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Requests of both frameworks have a `url`: the cost functions here look at nothing else. */
type Framework = (client: KeyChecker, options: AccessOptions<{ url: string }>) => Promise<Served>;

const frameworks: Record<string, Framework> = {
  async express(client, options) {
    const app = express();
    app.use(expressMiddleware(client, options));
    app.get("/health", (_req, res) => void res.json({ ok: true }));
    app.get(["/quote", "/bulk"], (req, res) => void res.json(seen(req.keyvend)));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  },
  async fastify(client, options) {
    const app = Fastify();
    await app.register(fastifyKeyvend(client, options));
    app.get("/health", async () => ({ ok: true }));
    app.get("/quote", async (request) => seen(request.keyvend));
    app.get("/bulk", async (request) => seen(request.keyvend));
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { url, close: () => app.close() };
  },
};

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as any,
  };
}

for (const [name, serve] of Object.entries(frameworks)) {
  describe(name, () => {
    let app: Served;

    before(async () => {
      app = await serve(keyvend, { exemptPaths: ["/health"] });
    });

    after(async () => {
      await app.close();
    });

    test("a valid key in the header reaches the handler with its parameters", async () => {
      const answer = await get(`${app.url}/quote`, { "X-API-Key": await seed.newKey() });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { params: { monthlyLimit: STARTER_LIMIT }, remaining: null });
    });

    test("a valid key in the query string is accepted too", async () => {
      const answer = await get(
        `${app.url}/quote?api_key=${encodeURIComponent(await seed.newKey())}`,
      );
      assert.equal(answer.status, 200);
    });

    test("a request without a key gets 401 in json saying where to put it", async () => {
      const answer = await get(`${app.url}/quote`, { "X-API-Key": "  " });
      assert.equal(answer.status, 401);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(answer.body, {
        detail: "Missing API key: send it in the X-API-Key header or the api_key query parameter",
      });
    });

    test("an unknown or disabled key gets 401", async () => {
      const { orderId, key } = await seed.newOrder();
      await seed.admin.call("serviceapikey/update", { order_id: orderId, valid: 0 });
      for (const sent of ["NO-SUCH-KEY-0000", key]) {
        const answer = await get(`${app.url}/quote`, { "X-API-Key": sent });
        assert.deepEqual([answer.status, answer.body], [401, { detail: "Invalid API key" }]);
      }
    });

    test("exempt paths need no key", async () => {
      assert.equal((await get(`${app.url}/health?probe=1`)).status, 200);
    });

    test("the header can be renamed and the query parameter turned off", async () => {
      const other = await serve(keyvend, { header: "Authorization-Key", queryParam: null });
      try {
        const key = await seed.newKey();
        const answer = await get(`${other.url}/quote?api_key=${key}`);
        assert.deepEqual(answer.body, {
          detail: "Missing API key: send it in the Authorization-Key header",
        });
        assert.equal((await get(`${other.url}/quote`, { "authorization-key": key })).status, 200);
      } finally {
        await other.close();
      }
    });

    test("a key that cannot be verified fails closed with 503", async () => {
      const unreachable = new KeyvendClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
      const wrongToken = new KeyvendClient({ baseUrl: seed.server.url, appToken: "kva_wrong" });
      for (const client of [unreachable, wrongToken]) {
        const other = await serve(client, {});
        try {
          const answer = await get(`${other.url}/quote`, { "X-API-Key": await seed.newKey() });
          assert.equal(answer.status, 503);
          assert.match(answer.body.detail, /unavailable/);
        } finally {
          await other.close();
        }
      }
    });

    test("with a cost every request spends the quota and a spent one gets 429", async () => {
      const bulk = (request: { url: string }) => (request.url.startsWith("/bulk") ? 2 : 1);
      const other = await serve(keyvend, { cost: bulk });
      try {
        const key = { "X-API-Key": await seed.newKey(seed.meteredId) };
        const first = await get(`${other.url}/quote`, key);
        assert.deepEqual([first.status, first.body.remaining], [200, METERED_QUOTA - 1]);
        const second = await get(`${other.url}/bulk`, key);
        assert.deepEqual([second.status, second.body.remaining], [200, METERED_QUOTA - 3]);
        const spent = await get(`${other.url}/quote`, key);
        assert.equal(spent.status, 429);
        assert.equal(spent.body.code, "USAGE_EXCEEDED");
        assert.deepEqual([spent.body.quota.limit, spent.body.quota.remaining], [METERED_QUOTA, 0]);
        assert.match(
          spent.body.detail,
          /^API key quota of 3 used up; it starts again at \d{4}-\d\d-\d\dT00:00:00\+00:00$/,
        );
        assert.ok(Number(spent.headers.get("retry-after")) >= 1);
      } finally {
        await other.close();
      }
    });
  });
}
