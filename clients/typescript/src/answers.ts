/** The client's memory of the server's answers: TTLs, the failure policy and 429 back-off. */

import { createHash } from "node:crypto";

import { MISS, TTLCache, type Clock, type Miss } from "./cache.js";
import { KeyNotFound, RateLimited, ServerUnavailable } from "./errors.js";
import type { Answer, KeyInfo, Verification } from "./models.js";
import type { FailurePolicy } from "./policy.js";
import { MAX_KEY_LENGTH, decode, decodeVerification, type WireAnswer } from "./protocol.js";

/** The newest event the answering server process has heard of. */
export const SEQ_HEADER = "x-keyvend-seq";

export interface AnswerCacheOptions {
  readonly cacheTtl: number;
  readonly negativeTtl: number;
  readonly cacheSize: number;
  readonly onUnavailable: FailurePolicy;
  readonly clock: Clock;
  /** Seconds a valid answer lives while the stream is live; null: not in live mode. */
  readonly liveTtl: number | null;
}

/**
 * The client's memory of the server's answers; does no I/O itself.
 *
 * Valid keys are cached for `cacheTtl` seconds, invalid and unknown keys for `negativeTtl`
 * (so that a key re-enabled on the server works again soon). After a 429 the server is not
 * asked again before its `Retry-After` has passed.
 *
 * In live mode (`liveTtl` given) a follower of the revocation stream evicts answers by key
 * fingerprint and says when it is live. A valid answer is then trusted for `liveTtl` if it
 * was asked for and stored while the stream was live with no eviction in between (else an
 * eviction could have raced past it: the epoch tells); while the stream is not live, every
 * answer is fresh only as long as `cacheTtl` allows, whatever it was stored for.
 */
export class AnswerCache {
  private readonly ttl: number;
  private readonly negativeTtl: number;
  private readonly liveTtl: number | null;
  private readonly keepFor: number;
  private readonly clock: Clock;
  private readonly cache: TTLCache<Answer>;
  private isLive = false;
  private currentEpoch = 0; // moves on every eviction and every change of `live`
  private seen = 0; // the newest event seq heard on the stream
  private blockedUntil = -Infinity;

  constructor(options: AnswerCacheOptions) {
    const { cacheTtl, negativeTtl, liveTtl } = options;
    if (!(cacheTtl >= 0 && negativeTtl >= 0 && (liveTtl === null || liveTtl >= 0))) {
      throw new RangeError("cacheTtl, negativeTtl and liveTtl must be >= 0");
    }
    this.ttl = cacheTtl;
    this.negativeTtl = negativeTtl;
    this.liveTtl = liveTtl;
    this.keepFor = options.onUnavailable.staleSeconds;
    this.clock = options.clock;
    this.cache = new TTLCache({ maxEntries: options.cacheSize, clock: options.clock });
  }

  get size(): number {
    return this.cache.size;
  }

  /** The cached answer for `key` if it is still fresh, else `MISS`. */
  fresh(key: string): Answer | Miss {
    return this.cache.fresh(key, this.maxAge());
  }

  /** Taken before asking the server; `settle` trusts the answer only if it is unchanged. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Whether the revocation stream is followed right now (live mode only). */
  get live(): boolean {
    return this.isLive;
  }

  /** Say whether every change is heard from now on (the stream sent `ready`) or not. */
  setLive(live: boolean): void {
    if (live !== this.isLive) {
      this.isLive = live;
      this.currentEpoch += 1;
    }
  }

  /** The stream has reached event `seq`. */
  saw(seq: number): void {
    this.seen = Math.max(this.seen, seq);
  }

  /** Drop the answers for the key of `fingerprint` (null: every answer). */
  evict(fingerprint: string | null): void {
    this.currentEpoch += 1;
    if (fingerprint === null) this.cache.clear();
    else this.cache.discardTag(fingerprint);
  }

  /** Throw `RateLimited` while the server's last `Retry-After` has not passed. */
  checkBackoff(): void {
    const remaining = this.blockedUntil - this.clock();
    if (remaining > 0) throw new RateLimited(Math.ceil(remaining));
  }

  /**
   * Decode the server's answer, remember it (or the back-off) and return it.
   * `epoch` is `this.epoch` as it was before the request was sent.
   */
  settle(key: string, wire: WireAnswer, epoch = 0): Answer {
    const answer = this.backingOff(() => decode(wire));
    const positive = answer !== null && answer.valid;
    if (this.liveTtl === null) {
      const ttl = positive ? this.ttl : this.negativeTtl;
      this.cache.put(key, answer, { ttl, keepFor: this.keepFor });
      return answer;
    }
    if (behind(wire, this.seen)) {
      // Served by a worker that has not yet heard of a change this client has: its answer
      // may predate the change, so it is not kept at all.
      return answer;
    }
    const trusted = this.isLive && epoch === this.currentEpoch;
    const ttl = positive ? (trusted ? this.liveTtl : this.ttl) : this.negativeTtl;
    this.cache.put(key, answer, { ttl, keepFor: this.keepFor, tag: fingerprint(key) });
    return answer;
  }

  /** Decode a `verify` answer; only a back-off is remembered, never the answer. */
  settleVerification(wire: WireAnswer): Verification {
    return this.backingOff(() => decodeVerification(wire));
  }

  /** The last known answer when the policy allows serving it, else throw `error`. */
  fallback(key: string, error: RateLimited | ServerUnavailable): Answer {
    if (this.keepFor > 0) {
      const answer = this.cache.stale(key, this.maxAge());
      if (answer !== MISS) return answer;
    }
    throw error;
  }

  /** Drop the cached answer for `key`, or every answer. */
  forget(key?: string): void {
    if (key === undefined) this.cache.clear();
    else this.cache.discard(key);
  }

  /** Remember a 429's `Retry-After`: every call of the client waits for it. */
  private backingOff<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof RateLimited) {
        this.blockedUntil = Math.max(this.blockedUntil, this.clock() + error.retryAfter);
      }
      throw error;
    }
  }

  /** No answer outlives the short TTL while live mode cannot hear changes. */
  private maxAge(): number | null {
    return this.isLive || this.liveTtl === null ? null : this.ttl;
  }
}

function behind(wire: WireAnswer, seen: number): boolean {
  const served = wire.headers.get(SEQ_HEADER) ?? "";
  return /^\d+$/.test(served) && Number.parseInt(served, 10) < seen;
}

/**
 * How the revocation stream names a key: the lower-case hex SHA-256 of the case-folded key
 * (surrounding blanks dropped), never the key itself.
 */
export function fingerprint(key: string): string {
  return createHash("sha256").update(key.trim().toLowerCase(), "utf8").digest("hex");
}

/** False for keys too long to exist; `TypeError` for an empty or non-string key. */
export function canExist(key: string): boolean {
  if (typeof key !== "string" || key.trim() === "") {
    throw new TypeError("key must be a non-empty string");
  }
  return key.length <= MAX_KEY_LENGTH;
}

/** `RangeError` unless `cost` is a whole number >= 0. */
export function checkCost(cost: number): void {
  if (typeof cost !== "number" || !Number.isSafeInteger(cost) || cost < 0) {
    throw new RangeError("cost must be a whole number >= 0");
  }
}

/** The headers that identify the application; `TypeError` for an unusable token. */
export function bearer(appToken: string | undefined): Readonly<Record<string, string>> {
  if (appToken === undefined) return {};
  if (typeof appToken !== "string" || appToken.trim() === "" || /[\x00-\x1f\x7f]/.test(appToken)) {
    throw new TypeError("appToken must be a non-empty printable string"); // never echo it
  }
  return { Authorization: `Bearer ${appToken.trim()}` };
}

/** The key's info, or `KeyNotFound` for a key the server does not know. */
export function unwrap(answer: Answer): KeyInfo {
  if (answer === null) throw new KeyNotFound();
  return answer;
}
