/**
 * An Express service whose routes need a Keyvend API key.
 *
 *   GET  /health  no key needed
 *   GET  /quote   a valid key (checked, cached; live revocations when a token is given)
 *   POST /report  a valid key, and each call spends 1 of the key's server-side quota
 *
 * Configuration from the environment: KEYVEND_URL (default http://127.0.0.1:8080),
 * KEYVEND_APP_TOKEN (the application's kva_... token; strongly advised), PORT (default 3000).
 * Run it with `npm run example` from clients/typescript.
 */

import express from "express";
import { KeyvendClient } from "keyvend-client";
import { expressMiddleware } from "keyvend-client/express";

const appToken = process.env.KEYVEND_APP_TOKEN || undefined;
const keyvend = new KeyvendClient({
  baseUrl: process.env.KEYVEND_URL ?? "http://127.0.0.1:8080",
  appToken,
  live: appToken !== undefined, // revocations pushed to the cache: the stream needs the token
});
const needsKey = expressMiddleware(keyvend);
const spendsQuota = expressMiddleware(keyvend, { cost: 1 });

const app = express();
app.get("/health", (_req, res) => {
  res.json({ ok: true, live: keyvend.liveState });
});
app.get("/quote", needsKey, (req, res) => {
  res.json({
    quote: "Simplicity is prerequisite for reliability.",
    limit: req.keyvend.params.monthlyLimit ?? null,
  });
});
app.post("/report", spendsQuota, (req, res) => {
  res.json({ accepted: true, remaining: req.keyvend.quota?.remaining ?? null });
});

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const { port } = server.address();
  console.log(`Example listening on http://127.0.0.1:${port}`);
});

async function shutdown() {
  server.close();
  await keyvend.close();
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
