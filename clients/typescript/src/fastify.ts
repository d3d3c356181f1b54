/**
 * Fastify integration: an `onRequest` hook, and a plugin registering it.
 *
 * Fastify is not a dependency: only its types are used. The plugin is marked to skip
 * Fastify's encapsulation (as `fastify-plugin` does), so that the hook guards the routes of
 * the scope it is registered in.
 */

import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from "fastify";

import {
  Denial,
  KeySource,
  checkedCost,
  costOf,
  judge,
  pathOf,
  type AccessOptions,
  type KeyChecker,
  type VerifiedKey,
} from "./access.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The key the Keyvend hook verified, with its parameters (and quota). */
    keyvend?: VerifiedKey;
  }
}

/**
 * An `onRequest` hook checking every request's key with a `KeyvendClient`
 * (`app.addHook("onRequest", keyvendHook(client))`).
 *
 * A missing or invalid key gets 401 in JSON (`{"detail": ...}`), a key that cannot be verified
 * 503; a valid key is handed on as `request.keyvend`, a `VerifiedKey`. With a `cost` every
 * request is verified with the server, spending that much of the key's quota; a spent quota or
 * rate limit gets 429.
 */
export function keyvendHook(
  client: KeyChecker,
  options: AccessOptions<FastifyRequest> = {},
): onRequestAsyncHookHandler {
  const source = new KeySource(options.header, options.queryParam);
  const cost = checkedCost(options.cost);
  const exempt = new Set(options.exemptPaths ?? []);
  const header = source.header.toLowerCase();
  return async function keyvend(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (exempt.has(pathOf(request.url))) return;
    const key = source.find(request.headers[header], request.url);
    const spend = key === null ? undefined : costOf(cost, request);
    const outcome = await judge(client, source, key, spend);
    if (outcome instanceof Denial) {
      await reply
        .code(outcome.status)
        .headers(outcome.headers())
        .type("application/json")
        .send(outcome.body());
      return;
    }
    request.keyvend = outcome;
  };
}

/**
 * A plugin adding `keyvendHook(client, options)` to the scope it is registered in:
 * `await app.register(fastifyKeyvend(client, { cost: 1 }))`.
 */
export function fastifyKeyvend(
  client: KeyChecker,
  options: AccessOptions<FastifyRequest> = {},
): FastifyPluginCallback {
  const hook = keyvendHook(client, options);
  const plugin: FastifyPluginCallback = (app: FastifyInstance, _options, done) => {
    app.decorateRequest("keyvend", undefined);
    app.addHook("onRequest", hook);
    done();
  };
  return Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "keyvend",
  });
}
