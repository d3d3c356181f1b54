/** The Express example (examples/express-app) runs against a real `keyvend serve`. */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";

import { METERED_QUOTA, PACKAGE_ROOT, STARTER_LIMIT, Seed, freePort } from "./support/keyvend.js";
import { LiveState } from "../src/index.js";
import { eventually } from "./support/wait.js";

let seed: Seed;

before(async () => {
  seed = await Seed.create();
});

after(async () => {
  await seed.stop();
});

test("the example answers with the key's limit, spends its quota and refuses a missing key", async () => {
  const port = await freePort();
  const example = spawn(process.execPath, [join(PACKAGE_ROOT, "examples/express-app/app.mjs")], {
    env: {
      ...process.env,
      PORT: String(port),
      KEYVEND_URL: seed.server.url,
      KEYVEND_APP_TOKEN: seed.appToken,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [line] = (await once(createInterface({ input: example.stdout }), "line")) as [string];
    assert.equal(line, `Example listening on http://127.0.0.1:${port}`);
    const url = `http://127.0.0.1:${port}`;
    const key = { "X-API-Key": await seed.newKey() };
    const quote = await fetch(`${url}/quote`, { headers: key });
    assert.equal(quote.status, 200);
    assert.equal(((await quote.json()) as { limit: unknown }).limit, STARTER_LIMIT);
    const health = async () =>
      ((await (await fetch(`${url}/health`)).json()) as { live: string }).live;
    await eventually(
      async () => (await health()) === LiveState.LIVE,
      "the example follows the stream",
    );
    const metered = { "X-API-Key": await seed.newKey(seed.meteredId) };
    const remaining = [];
    for (let n = 0; n < METERED_QUOTA; n += 1) {
      const report = await fetch(`${url}/report`, { method: "POST", headers: metered });
      remaining.push(((await report.json()) as { remaining: number }).remaining);
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    assert.equal((await fetch(`${url}/report`, { method: "POST", headers: metered })).status, 429);
    assert.equal((await fetch(`${url}/quote`)).status, 401);
  } finally {
    example.kill("SIGTERM");
  }
  const [code] = (await once(example, "exit")) as [number | null];
  assert.equal(code, 0); // the shutdown closed the server and the stream: nothing kept it alive
});
