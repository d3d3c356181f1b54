/** What to answer when the server cannot: fail closed, or serve the last known answer. */

/** Throw the error (`ServerUnavailable`, `RateLimited`): no answer means no access. */
export class FailClosed {
  /** How long past its expiry an answer may still be served (never). */
  get staleSeconds(): number {
    return 0;
  }
}

/**
 * Serve the last known answer for up to `seconds` after it expired, then fail closed.
 *
 * A key revoked on the server can thus keep working for `cacheTtl + seconds` while the
 * server is unreachable or rate limiting this application: choose `seconds` with that in mind.
 */
export class ServeStale {
  readonly seconds: number;

  constructor(seconds: number) {
    if (!(seconds >= 0)) {
      throw new RangeError("ServeStale seconds must be >= 0");
    }
    this.seconds = seconds;
  }

  /** How long past its expiry an answer may still be served. */
  get staleSeconds(): number {
    return this.seconds;
  }
}

export type FailurePolicy = FailClosed | ServeStale;
export const FAIL_CLOSED: FailurePolicy = new FailClosed();
