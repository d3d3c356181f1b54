/** What the Express and Fastify integrations share: finding the key and judging it. */

import { checkCost } from "./answers.js";
import { KeyNotFound, KeyvendError, RateLimited } from "./errors.js";
import { VerifyCode, type KeyInfo, type Params, type Quota, type Verification } from "./models.js";

export const DEFAULT_HEADER = "X-API-Key";
export const DEFAULT_QUERY_PARAM = "api_key";

/** Anything with `getInfo` and `verify`, such as `KeyvendClient`. */
export interface KeyChecker {
  getInfo(key: string): Promise<KeyInfo>;
  verify(key: string, options?: { cost?: number }): Promise<Verification>;
}

/**
 * What a request costs: undefined (only check the key, cached), a whole number, or a function
 * of the request returning one (then every request is verified, spending that much quota).
 */
export type Cost<R> = number | ((request: R) => number) | undefined;

/** The options every integration takes. */
export interface AccessOptions<R> {
  /** The header carrying the key (default `X-API-Key`). */
  readonly header?: string;
  /** The query parameter carrying the key when the header is absent (default `api_key`;
   * null turns it off: query strings end up in access logs). */
  readonly queryParam?: string | null;
  /** Paths that need no key (e.g. `/health`), compared without the query string. */
  readonly exemptPaths?: Iterable<string>;
  /** Spend this much of the key's quota per request (see `Cost`). */
  readonly cost?: Cost<R>;
}

/**
 * A key the server found valid, and its custom parameters (`monthlyLimit`, ...).
 *
 * `quota` is what the key has left after this request, when the integration spends a cost and
 * the key's product has a quota; else null. The key is kept out of `JSON.stringify` and
 * `console.log` (logs), but readable as `.key`.
 */
export class VerifiedKey {
  readonly #key: string;
  readonly params: Params;
  readonly quota: Quota | null;

  constructor(key: string, params: Params, quota: Quota | null = null) {
    this.#key = key;
    this.params = params;
    this.quota = quota;
  }

  get key(): string {
    return this.#key;
  }
}

/** The JSON error answer for a request that may not pass. */
export class Denial {
  readonly status: number;
  readonly message: string;
  readonly retryAfter: number | null;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    message: string,
    retryAfter: number | null = null,
    extra: Readonly<Record<string, unknown>> = {},
  ) {
    this.status = status;
    this.message = message;
    this.retryAfter = retryAfter;
    this.extra = extra;
  }

  /** `{"detail": message, ...}`, the shape the Python middlewares (and FastAPI) use. */
  body(): string {
    return JSON.stringify({ detail: this.message, ...this.extra });
  }

  /** Headers beyond the content type: `Retry-After` when known. */
  headers(): Record<string, string> {
    return this.retryAfter === null ? {} : { "Retry-After": String(this.retryAfter) };
  }
}

export const INVALID_KEY = new Denial(401, "Invalid API key");
export const RATE_LIMITED = new Denial(
  429,
  "API key rate limit reached; slow down and try again",
  null,
  { code: VerifyCode.RATE_LIMITED },
);

/** Where requests carry their key: a header, else (when named) a query parameter. */
export class KeySource {
  readonly header: string;
  readonly queryParam: string | null;

  constructor(header: string = DEFAULT_HEADER, queryParam: string | null = DEFAULT_QUERY_PARAM) {
    this.header = header;
    this.queryParam = queryParam;
  }

  /** The key from the header value or the request's URL; null when absent or blank. */
  find(headerValue: string | string[] | undefined, url: string): string | null {
    const value = Array.isArray(headerValue) ? headerValue[0] : headerValue;
    if (value !== undefined && value.trim() !== "") return value.trim();
    if (this.queryParam !== null) {
      const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
      const found = new URLSearchParams(query).get(this.queryParam);
      if (found !== null && found.trim() !== "") return found.trim();
    }
    return null;
  }

  /** The answer to a request without a key, saying where to put one. */
  get missing(): Denial {
    let where = `the ${this.header} header`;
    if (this.queryParam !== null) where += ` or the ${this.queryParam} query parameter`;
    return new Denial(401, `Missing API key: send it in ${where}`);
  }
}

/** `cost` if it is a usable option; `RangeError` / `TypeError` at setup otherwise. */
export function checkedCost<R>(cost: Cost<R>): Cost<R> {
  if (cost === undefined || typeof cost === "function") return cost;
  checkCost(cost);
  return cost;
}

/** What `request` costs under the option `cost` (undefined: only check the key). */
export function costOf<R>(cost: Cost<R>, request: R): number | undefined {
  if (cost === undefined || typeof cost === "number") return cost;
  const spent = cost(request);
  checkCost(spent); // a cost function returning nonsense is a programming error
  return spent;
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string): string {
  const end = url.indexOf("?");
  return end < 0 ? url : url.slice(0, end);
}

/**
 * Ask `checker` about `key` (`verify` it when a `cost` is given) and decide whether the
 * request passes.
 */
export async function judge(
  checker: KeyChecker,
  source: KeySource,
  key: string | null,
  cost?: number,
): Promise<VerifiedKey | Denial> {
  if (key === null) return source.missing;
  try {
    if (cost === undefined) return verdict(key, await checker.getInfo(key));
    return verificationVerdict(key, await checker.verify(key, { cost }));
  } catch (error) {
    if (error instanceof KeyvendError) return denialFor(error);
    throw error;
  }
}

/** Pass a valid key with its parameters; refuse an invalid one. */
export function verdict(key: string, info: KeyInfo): VerifiedKey | Denial {
  return info.valid ? new VerifiedKey(key, info.params) : INVALID_KEY;
}

/** Pass a valid key; 429 for a spent quota or rate limit; 401 for any other refusal. */
export function verificationVerdict(key: string, found: Verification): VerifiedKey | Denial {
  if (found.valid) return new VerifiedKey(key, found.params, found.quota);
  if (found.code === VerifyCode.USAGE_EXCEEDED) return quotaSpent(found.quota, new Date());
  if (found.code === VerifyCode.RATE_LIMITED) return RATE_LIMITED;
  return INVALID_KEY;
}

/** 429 saying the quota is used up, and (when it starts again) when to come back. */
export function quotaSpent(quota: Quota | null, now: Date): Denial {
  const extra: Record<string, unknown> = { code: VerifyCode.USAGE_EXCEEDED };
  if (quota === null) return new Denial(429, "API key quota used up", null, extra);
  const resetAt = quota.resetAt === null ? null : isoformat(quota.resetAt);
  extra.quota = { limit: quota.limit, remaining: quota.remaining, reset_at: resetAt };
  const message = `API key quota of ${quota.limit} used up`;
  if (quota.resetAt === null) {
    return new Denial(429, `${message}; it does not start again`, null, extra);
  }
  const wait = Math.max(1, Math.ceil((quota.resetAt.getTime() - now.getTime()) / 1000));
  return new Denial(429, `${message}; it starts again at ${resetAt}`, wait, extra);
}

/** 401 for an unknown key; 503 when the key could not be verified (fail closed). */
export function denialFor(error: KeyvendError): Denial {
  if (error instanceof KeyNotFound) return INVALID_KEY;
  if (error instanceof RateLimited) {
    return new Denial(503, "API key verification is busy; try again later", error.retryAfter);
  }
  return new Denial(503, "API key verification is unavailable; try again later");
}

/** A UTC timestamp as Python's `isoformat()` writes it (`2027-01-01T00:00:00+00:00`). */
function isoformat(at: Date): string {
  const iso = at.toISOString(); // 2027-01-01T00:00:00.000Z
  const millis = iso.slice(20, 23);
  return `${iso.slice(0, 19)}${millis === "000" ? "" : `.${millis}000`}+00:00`;
}
