/** `KeyvendClient`: check API keys from Node.js, with a local cache. */

import { AnswerCache, bearer, canExist, checkCost, unwrap } from "./answers.js";
import { MISS, monotonic, type Clock } from "./cache.js";
import { RateLimited, ServerUnavailable } from "./errors.js";
import { LiveFollower } from "./follower.js";
import { LiveState, StreamSession, checkLive, type Logger } from "./live.js";
import { NOT_FOUND, type Answer, type KeyInfo, type Verification } from "./models.js";
import { FAIL_CLOSED, type FailurePolicy } from "./policy.js";
import { EVENTS_PATH, INFO_PATH, VERIFY_PATH, endpoint, send } from "./protocol.js";
import { SingleFlight } from "./singleflight.js";

/** How a `KeyvendClient` talks to the server and caches; every time is in seconds. */
export interface KeyvendClientOptions {
  /** The server's root, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** The application's token (`admin/application/create`), sent as `Authorization: Bearer`. */
  readonly appToken?: string;
  /** Follow the revocation stream (needs `appToken`). */
  readonly live?: boolean;
  /** Seconds a valid key's answer is reused while the stream is live (default 3600). */
  readonly liveTtl?: number;
  /** Seconds each request may take (default 5). */
  readonly timeout?: number;
  /** Seconds a valid key's answer is reused (default 30). */
  readonly cacheTtl?: number;
  /** Seconds an invalid or unknown key's answer is reused (default 5). */
  readonly negativeTtl?: number;
  /** Keys kept at most; the least recently used go first (default 10 000). */
  readonly cacheSize?: number;
  /** When the server cannot answer: `new FailClosed()` (default) or `new ServeStale(s)`. */
  readonly onUnavailable?: FailurePolicy;
  /** Seconds on a monotonic scale; injectable so that tests need not sleep. */
  readonly clock?: Clock;
  /** Where live mode reports its connection's troubles (default `console`). */
  readonly logger?: Logger;
}

/**
 * Checks API keys against a Keyvend (or FOSSBilling) server; share one per process.
 *
 * Answers are cached (valid keys `cacheTtl` seconds, invalid or unknown ones `negativeTtl`, at
 * most `cacheSize` keys, least recently used evicted first), and concurrent checks of one key
 * make a single request. `onUnavailable` decides what happens when the server cannot answer:
 * `FailClosed` (the default) throws, `ServeStale(seconds)` serves the last answer. `verify`
 * (quota spending) always asks the server.
 *
 * With `live: true` (needs `appToken`) the client follows the server's revocation stream,
 * started by the first `check` / `getInfo` / `verify`, and drops the answers of every key a
 * change touches: valid answers are then cached for `liveTtl` while the stream is live and for
 * `cacheTtl` while it is down (see `liveState`). `close()` stops following.
 */
export class KeyvendClient {
  private readonly baseUrl: string;
  private readonly infoUrl: string;
  private readonly verifyUrl: string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly timeout: number;
  private readonly answers: AnswerCache;
  private readonly flight = new SingleFlight<Answer>();
  private readonly follower: LiveFollower | null = null;

  constructor(options: KeyvendClientOptions) {
    const { baseUrl, live = false, timeout = 5 } = options;
    if (typeof baseUrl !== "string" || !/^https?:\/\//.test(baseUrl)) {
      throw new TypeError("baseUrl must be an http:// or https:// URL");
    }
    if (!(timeout > 0)) throw new RangeError("timeout must be > 0");
    this.baseUrl = baseUrl;
    this.infoUrl = endpoint(baseUrl, INFO_PATH);
    this.verifyUrl = endpoint(baseUrl, VERIFY_PATH);
    this.headers = bearer(options.appToken); // only ever sent, never shown (see toString)
    this.timeout = timeout;
    this.answers = new AnswerCache({
      cacheTtl: options.cacheTtl ?? 30,
      negativeTtl: options.negativeTtl ?? 5,
      cacheSize: options.cacheSize ?? 10_000,
      onUnavailable: options.onUnavailable ?? FAIL_CLOSED,
      clock: options.clock ?? monotonic,
      liveTtl: checkLive(live, this.headers, options.liveTtl ?? 3600),
    });
    if (live) {
      const session = new StreamSession(this.answers, this.headers, options.logger ?? console);
      this.follower = new LiveFollower(endpoint(baseUrl, EVENTS_PATH), session, timeout);
    }
  }

  /** Whether `key` is valid; `KeyNotFound` if the server does not know it. */
  async check(key: string): Promise<boolean> {
    return (await this.getInfo(key)).valid;
  }

  /** Validity and custom parameters of `key`; `KeyNotFound` if the server does not know it. */
  async getInfo(key: string): Promise<KeyInfo> {
    this.follower?.ensure();
    let answer = this.answers.fresh(key);
    if (answer === MISS) {
      answer = canExist(key) ? await this.flight.run(key, () => this.lookup(key)) : null;
    }
    return unwrap(answer);
  }

  /**
   * The key's state, and spend `cost` of its quota (0: only look); never cached or coalesced.
   *
   * Always a `Verification` for any key (`code` NOT_FOUND for an unknown one). A key that is
   * refused (`USAGE_EXCEEDED`, `RATE_LIMITED`, ...) spends nothing.
   */
  async verify(key: string, { cost = 1 }: { cost?: number } = {}): Promise<Verification> {
    checkCost(cost);
    this.follower?.ensure();
    if (!canExist(key)) return NOT_FOUND;
    this.answers.checkBackoff();
    const wire = await send(this.verifyUrl, this.post({ key, cost }), this.timeout);
    return this.answers.settleVerification(wire);
  }

  /** Forget the cached answer for `key` (or all answers): the next check asks the server. */
  invalidate(key?: string): void {
    this.answers.forget(key);
  }

  /** Where live mode stands: `off`, `connecting`, `live`, `down`, `unauthorized`, `closed`
   * (valid answers are cached for `liveTtl` only while `live`). */
  get liveState(): LiveState {
    return this.follower === null ? LiveState.OFF : this.follower.session.state;
  }

  /** How many answers are cached right now. */
  get cached(): number {
    return this.answers.size;
  }

  /** Stop following the stream (live mode); the client still answers, with short TTLs. */
  async close(): Promise<void> {
    await this.follower?.stop();
  }

  /** `Symbol.asyncDispose`, for `await using client = new KeyvendClient(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    const token = Object.keys(this.headers).length > 0 ? "'***'" : "none";
    return `KeyvendClient(${this.baseUrl}, appToken=${token})`;
  }

  /** Node's `util.inspect` (console.log) shows the same as `toString`: never the token. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  private async lookup(key: string): Promise<Answer> {
    const epoch = this.answers.epoch; // an eviction during the request makes the answer suspect
    try {
      this.answers.checkBackoff();
      const wire = await send(this.infoUrl, this.post({ key }), this.timeout);
      return this.answers.settle(key, wire, epoch);
    } catch (error) {
      if (error instanceof RateLimited || error instanceof ServerUnavailable) {
        return this.answers.fallback(key, error);
      }
      throw error;
    }
  }

  private post(body: Record<string, unknown>): RequestInit {
    return {
      method: "POST",
      headers: { ...this.headers, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
  }
}
