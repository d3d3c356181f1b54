/** Coalescing: concurrent lookups of the same key share one request and its outcome. */

/**
 * The first caller of a key runs `fn`; callers arriving before it settles get the same
 * promise. A caller that stops waiting does not cancel the shared call: the others still get
 * its outcome.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  /** `fn()`, or the outcome of the call of `fn` already running for `key`. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running !== undefined) return running;
    const flight = (async () => {
      try {
        return await fn();
      } finally {
        this.flights.delete(key);
      }
    })();
    this.flights.set(key, flight);
    return flight;
  }

  /** How many calls are running (for tests and metrics). */
  get running(): number {
    return this.flights.size;
  }
}
