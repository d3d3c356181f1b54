/** The wire format: which URLs to call and what a FOSSBilling envelope means. */

import { ApiError, KeyNotFound, RateLimited, ServerUnavailable, Unauthorized } from "./errors.js";
import {
  NOT_FOUND,
  NO_PARAMS,
  VerifyCode,
  type Answer,
  type KeyInfo,
  type Params,
  type Quota,
  type Verification,
} from "./models.js";

export const INFO_PATH = "/api/guest/serviceapikey/get_info";
export const VERIFY_PATH = "/api/guest/serviceapikey/verify";
export const EVENTS_PATH = "/api/guest/serviceapikey/events";
export const NO_SUCH_KEY = "API key does not exist";
export const RATE_LIMIT_CODE = 429;
export const UNAUTHORIZED_CODE = 201; // FOSSBilling's "Authentication Failed"
/** The server refuses longer keys (prefix + 256 hex characters + dashes fit well below this). */
export const MAX_KEY_LENGTH = 600;
const CODES = new Set<string>(Object.values(VerifyCode));

/** A server's answer, read whole: what the decoders look at. */
export interface WireAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** The endpoint `path` under `baseUrl` (the server's root, e.g. http://host:8080). */
export function endpoint(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, "") + path;
}

/**
 * `fetch(url, init)` read whole within `timeout` seconds; network failures and timeouts
 * become `ServerUnavailable`.
 */
export async function send(url: string, init: RequestInit, timeout: number): Promise<WireAnswer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeout * 1000) });
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch (error) {
    throw transportError(error);
  }
}

/** The `ServerUnavailable` a failed `fetch` stands for. */
export function transportError(error: unknown): ServerUnavailable {
  const name = error instanceof Error ? error.name : typeof error;
  if (name === "TimeoutError") {
    return new ServerUnavailable("Keyvend did not answer in time (TimeoutError)", { cause: error });
  }
  // fetch throws TypeError("fetch failed"); its cause says why (ECONNREFUSED, bad port...).
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown }) : undefined;
  const why = [cause?.code, cause?.message, name].find((part) => typeof part === "string" && part);
  return new ServerUnavailable(`Cannot reach Keyvend (${String(why)})`, { cause: error });
}

/** A `get_info` answer: the key's info, or null when the key does not exist; throw for every
 * other outcome. */
export function decode(answer: WireAnswer): Answer {
  try {
    return keyInfo(result(answer));
  } catch (error) {
    if (error instanceof KeyNotFound) return null;
    throw error;
  }
}

/** A `verify` answer; an unknown key is a result (NOT_FOUND), not an error. */
export function decodeVerification(answer: WireAnswer): Verification {
  try {
    return verification(result(answer));
  } catch (error) {
    if (error instanceof KeyNotFound) return NOT_FOUND; // a server wording it like get_info
    throw error;
  }
}

/** The result of a successful envelope; throw the error any other answer stands for. */
export function result(answer: WireAnswer): unknown {
  if (answer.status === 429) throw new RateLimited(retryAfter(answer.headers));
  if (answer.status >= 500) {
    // 503 is Keyvend's own word for an outage (its database is down): say what it said.
    throw new ServerUnavailable(`Keyvend answered HTTP ${answer.status}${said(answer)}`);
  }
  if (answer.status === 401) {
    throw new Unauthorized(`Keyvend refused the application token (HTTP 401)${said(answer)}`);
  }
  const body = envelope(answer);
  if (body.error === null) return body.result;
  const [message, code] = messageAndCode(body.error);
  if (code === RATE_LIMIT_CODE) throw new RateLimited(retryAfter(answer.headers));
  if (code === UNAUTHORIZED_CODE) {
    throw new Unauthorized(`Keyvend refused the application token: ${message.slice(0, 200)}`);
  }
  if (message === NO_SUCH_KEY) throw new KeyNotFound();
  throw new ApiError(message, code);
}

/** Read a `get_info` result; `valid` may be a boolean or FOSSBilling's 0/1. */
export function keyInfo(found: unknown): KeyInfo {
  if (!isObject(found) || !isFlag(found.valid)) {
    throw new ServerUnavailable("Keyvend sent a get_info result without `valid`");
  }
  return Object.freeze({ valid: Boolean(found.valid), params: params(found.config, "get_info") });
}

/** Read a `verify` result: `{valid, code, config, expires_at, quota}`. */
export function verification(found: unknown): Verification {
  if (!isObject(found) || !isFlag(found.valid) || typeof found.code !== "string") {
    throw new ServerUnavailable("Keyvend sent a verify result without `valid` and `code`");
  }
  return Object.freeze({
    valid: Boolean(found.valid),
    code: CODES.has(found.code) ? (found.code as VerifyCode) : found.code,
    params: params(found.config, "verify"),
    expiresAt: timestamp(found.expires_at, "expires_at"),
    quota: quota(found.quota),
  });
}

/** Whole seconds from a `Retry-After` header; 1 when absent or not a number. */
export function retryAfter(headers: Headers): number {
  const value = (headers.get("retry-after") ?? "").trim();
  return /^\d+$/.test(value) ? Math.max(1, Number.parseInt(value, 10)) : 1;
}

function params(config: unknown, call: string): Params {
  // PHP serialises an empty object as [] and FOSSBilling may send null.
  if (!config || (Array.isArray(config) && config.length === 0)) return NO_PARAMS;
  if (!isObject(config)) {
    throw new ServerUnavailable(`Keyvend sent a ${call} result whose \`config\` is not an object`);
  }
  return Object.freeze({ ...config });
}

function timestamp(value: unknown, name: string): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") {
    // A timestamp without an offset is UTC, as the Python client reads it.
    const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
    const parsed = new Date(zoned);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  throw new ServerUnavailable(`Keyvend sent a verify result whose \`${name}\` is not a timestamp`);
}

function quota(value: unknown): Quota | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || !Number.isInteger(value.limit) || !Number.isInteger(value.remaining)) {
    throw new ServerUnavailable("Keyvend sent a verify result whose `quota` is malformed");
  }
  return Object.freeze({
    limit: value.limit as number,
    remaining: value.remaining as number,
    resetAt: timestamp(value.reset_at, "quota.reset_at"),
  });
}

function said(answer: WireAnswer): string {
  try {
    const message: unknown = (JSON.parse(answer.body) as { error?: { message?: unknown } }).error
      ?.message;
    return typeof message === "string" ? `: ${message.slice(0, 200)}` : "";
  } catch {
    return "";
  }
}

interface Envelope {
  result: unknown;
  error: unknown;
}

function envelope(answer: WireAnswer): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = null;
  }
  if (!isObject(body) || !("result" in body) || !("error" in body)) {
    throw new ServerUnavailable(
      `Not a Keyvend API answer (HTTP ${answer.status}); check the base URL`,
    );
  }
  return { result: body.result, error: body.error };
}

function messageAndCode(error: unknown): [string, number] {
  if (!isObject(error)) return [String(error), 0];
  const message = error.message === undefined ? "" : String(error.message);
  return [message, Number.isInteger(error.code) ? (error.code as number) : 0];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFlag(value: unknown): boolean {
  return typeof value === "boolean" || Number.isInteger(value);
}
