/**
 * Live mode: follow the server's revocation stream and evict the answers it names.
 *
 * `GET /api/guest/serviceapikey/events` (application token required) sends one message per
 * key a change touches, `data: {"fingerprint": <hex SHA-256 of the case-folded key> | null,
 * "change": ...}` (null: every key), and an `event: ready` once the replay asked for with
 * `Last-Event-ID` is done. `StreamSession` turns those messages into evictions of an
 * `AnswerCache`; `LiveFollower` (follower.ts) keeps a connection open, reconnecting with a
 * growing, jittered delay and the last id seen, so that a reconnect replays what was missed.
 * Only a refused token (401) ends the following: every other failure is logged and retried.
 */

import type { AnswerCache } from "./answers.js";
import { RateLimited, ServerUnavailable } from "./errors.js";
import { result, type WireAnswer } from "./protocol.js";
import { SSEParser, type ServerSentEvent } from "./sse.js";

export const FIRST_DELAY = 0.5;
export const MAX_DELAY = 30;
/** The server sends a heartbeat every 15 s: a connection silent for longer than this is dead. */
export const READ_TIMEOUT = 40;

/** Where a client's live mode stands (`client.liveState`). */
export const LiveState = Object.freeze({
  OFF: "off", // not in live mode
  CONNECTING: "connecting", // not following yet: short TTLs
  LIVE: "live", // connected and caught up: valid answers cached for `liveTtl`
  DOWN: "down", // the stream broke; reconnecting: short TTLs
  UNAUTHORIZED: "unauthorized", // the token was refused: no longer following, short TTLs
  CLOSED: "closed", // the client was closed
} as const);
export type LiveState = (typeof LiveState)[keyof typeof LiveState];

/** Where live mode reports what happens to its connection (`console` unless given). */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Delays before reconnecting: `FIRST_DELAY` doubling up to `MAX_DELAY`, each jittered to
 * between half and all of it, so that many clients of a restarted server spread out.
 */
export class Backoff {
  private delay = FIRST_DELAY;

  /** The next delay in seconds (never below `atLeast`, e.g. a 429's Retry-After). */
  next(atLeast = 0): number {
    const delay = this.delay * (0.5 + Math.random() / 2);
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
    return Math.max(delay, atLeast);
  }

  /** Start again from `FIRST_DELAY` (after a connection that got live). */
  reset(): void {
    this.delay = FIRST_DELAY;
  }
}

/** What the follower needs beyond the connection: headers, the answer's check, the messages. */
export class StreamSession {
  readonly answers: AnswerCache;
  state: LiveState = LiveState.CONNECTING;
  lastId: string | null = null;
  reachedLive = false; // in the current connection
  private readonly headers: Readonly<Record<string, string>>;
  private readonly log: Logger;
  private failing = false;

  constructor(answers: AnswerCache, headers: Readonly<Record<string, string>>, log: Logger) {
    this.answers = answers;
    this.headers = headers;
    this.log = log;
  }

  /** The token, and `Last-Event-ID` so that the server replays what was missed. */
  requestHeaders(): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.headers,
      Accept: "text/event-stream",
      "Cache-Control": "no-cache",
    };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    return headers;
  }

  /** A parser for the stream just opened. */
  opened(): SSEParser {
    this.reachedLive = false;
    return new SSEParser();
  }

  /** Throw what an answer that is not the stream stands for (Unauthorized, RateLimited...). */
  refusedStream(wire: WireAnswer): never {
    result(wire);
    throw new ServerUnavailable(`Keyvend answered HTTP ${wire.status}, no stream`);
  }

  /** Evict what a message names; go live on `ready`; remember its id afterwards. */
  handle(event: ServerSentEvent): void {
    if (event.event === "ready") {
      this.answers.setLive(true);
      this.state = LiveState.LIVE;
      this.reachedLive = true;
      if (this.failing) this.log.info("keyvend revocation stream is live again");
      this.failing = false;
    } else if (event.event === "message") {
      this.answers.evict(this.fingerprintOf(event.data));
    }
    if (event.id !== null) {
      this.lastId = event.id;
      if (/^\d+$/.test(event.id)) this.answers.saw(Number.parseInt(event.id, 10));
    }
  }

  /**
   * Fall back to the short TTL after a connection ended; the least wait in seconds before the
   * next one (a 429's Retry-After).
   */
  broke(error: unknown): number {
    this.answers.setLive(false);
    this.state = LiveState.DOWN;
    if (!this.failing) {
      const reason = error === null ? "the server ended it" : describe(error);
      this.log.warn(`keyvend revocation stream lost (${reason}); reconnecting`);
    } else {
      this.log.debug(`keyvend revocation stream still down: ${describe(error)}`);
    }
    this.failing = true;
    return error instanceof RateLimited ? error.retryAfter : 0;
  }

  /** The token was refused: stop following for good, keep the short TTL. */
  refused(): void {
    this.answers.setLive(false);
    this.state = LiveState.UNAUTHORIZED;
    this.log.error(
      "keyvend refused the application token on the revocation stream: live mode is off " +
        "for this client (answers are cached for cacheTtl only)",
    );
  }

  /** The client was closed. */
  closed(): void {
    this.answers.setLive(false);
    this.state = LiveState.CLOSED;
  }

  /**
   * The fingerprint a message names; null (every key) for null or for anything this library
   * cannot read, since dropping too much only costs a request.
   */
  private fingerprintOf(data: string): string | null {
    try {
      const found: unknown = (JSON.parse(data) as { fingerprint?: unknown }).fingerprint;
      return typeof found === "string" ? found : null;
    } catch {
      this.log.warn("keyvend revocation stream sent an unreadable message; evicting all");
      return null;
    }
  }
}

/**
 * The `liveTtl` the answer cache uses (null: not live); `TypeError` for a live mode without an
 * application token (the stream is for applications only).
 */
export function checkLive(
  live: boolean,
  headers: Readonly<Record<string, string>>,
  liveTtl: number,
): number | null {
  if (!live) return null;
  if (Object.keys(headers).length === 0) {
    throw new TypeError("live: true needs an appToken: the revocation stream requires one");
  }
  if (!(liveTtl >= 0)) throw new RangeError("liveTtl must be >= 0");
  return liveTtl;
}

/** Whether `response` is an open event stream. */
export function isStream(response: Response): boolean {
  const type = response.headers.get("content-type") ?? "";
  return response.status === 200 && type.startsWith("text/event-stream");
}

function describe(error: unknown): string {
  if (error === null) return "closed by the server";
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
