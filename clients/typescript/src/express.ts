/**
 * Express middleware: only requests with a valid key reach the routes after it.
 *
 * Express is not a dependency: only its types are used, so this module works with any
 * Express 4 or 5 application (and with plain `node:http` request handlers).
 */

import type { NextFunction, Request, RequestHandler, Response } from "express";

import {
  KeySource,
  checkedCost,
  costOf,
  judge,
  pathOf,
  Denial,
  type AccessOptions,
  type KeyChecker,
  type VerifiedKey,
} from "./access.js";

declare global {
  namespace Express {
    interface Request {
      /** The key `expressMiddleware` verified, with its parameters (and quota). */
      keyvend?: VerifiedKey;
    }
  }
}

/**
 * Checks the key of every request with a `KeyvendClient`.
 *
 * A missing or invalid key gets 401 in JSON (`{"detail": ...}`), a key that cannot be verified
 * 503; a valid key is handed on as `req.keyvend`, a `VerifiedKey` with the key's custom
 * parameters. With a `cost` (a whole number, or a function of the request) every request is
 * verified with the server, spending that much of the key's quota; a spent quota or rate limit
 * gets 429.
 */
export function expressMiddleware(
  client: KeyChecker,
  options: AccessOptions<Request> = {},
): RequestHandler {
  const source = new KeySource(options.header, options.queryParam);
  const cost = checkedCost(options.cost);
  const exempt = new Set(options.exemptPaths ?? []);
  const header = source.header.toLowerCase();
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = req.originalUrl ?? req.url;
    if (exempt.has(pathOf(url))) {
      next();
      return;
    }
    const passOn = async (): Promise<void> => {
      const key = source.find(req.headers[header], url);
      const outcome = await judge(
        client,
        source,
        key,
        key === null ? undefined : costOf(cost, req),
      );
      if (outcome instanceof Denial) {
        refuse(outcome, res);
        return;
      }
      req.keyvend = outcome;
      next();
    };
    passOn().catch(next);
  };
}

/** Answer `denial` in JSON through Node's own response API (Express adds nothing needed). */
function refuse(denial: Denial, res: Response): void {
  const body = denial.body();
  res.statusCode = denial.status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  for (const [name, value] of Object.entries(denial.headers())) res.setHeader(name, value);
  res.end(body);
}
