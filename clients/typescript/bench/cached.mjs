/**
 * The cost of a cached `check()`: what an application pays per request once a key is known.
 *
 * Starts a real `keyvend serve` (the tests' helper), warms one key, then times CALLS awaited
 * `check()` calls in each of ROUNDS rounds (after one unrecorded warm-up round for the JIT)
 * and prints ONE JSON line to stdout:
 *   {"library":"typescript","operation":"cached check","median_us":...,"rounds":[...]}
 * where each round is its mean microseconds per call. Progress goes to stderr.
 * Run with `npm run bench --silent` (BENCH_ROUNDS, BENCH_CALLS override 7 and 200000).
 */

import { KeyvendClient } from "../dist/index.js";
import { Seed } from "../dist-test/tests/support/keyvend.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);

async function round(client, key, calls) {
  const started = process.hrtime.bigint();
  for (let n = 0; n < calls; n += 1) {
    if (!(await client.check(key))) throw new Error("the key stopped being valid");
  }
  return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const seed = await Seed.create();
try {
  const key = await seed.newKey();
  const client = new KeyvendClient({
    baseUrl: seed.server.url,
    appToken: seed.appToken,
    cacheTtl: 3600,
  });
  await client.check(key); // the one request: every timed call is answered from the cache
  await round(client, key, Math.min(CALLS, 50_000));
  const rounds = [];
  for (let n = 1; n <= ROUNDS; n += 1) {
    const mean = await round(client, key, CALLS);
    rounds.push(Number(mean.toFixed(4)));
    process.stderr.write(
      `round ${n}/${ROUNDS}: ${mean.toFixed(4)} us per cached check (${CALLS} calls)\n`,
    );
  }
  const result = {
    library: "typescript",
    operation: "cached check",
    median_us: median(rounds),
    rounds,
  };
  process.stderr.write(`median: ${result.median_us} us per call on Node ${process.version}\n`);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await seed.stop();
}
