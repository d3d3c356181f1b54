/** A bounded TTL + LRU cache that can also hand out recently expired ("stale") entries. */

/** Seconds on a monotonic scale; `performance.now() / 1000` unless a test injects its own. */
export type Clock = () => number;

export const monotonic: Clock = () => performance.now() / 1000;

/** What `fresh` and `stale` return for a key they do not have, so that `null` stays a value. */
export const MISS: unique symbol = Symbol("keyvend.miss");
export type Miss = typeof MISS;

interface Entry<V> {
  readonly value: V;
  readonly stored: number;
  readonly expires: number;
  readonly keepFor: number;
  readonly tag: string | null;
}

/** When `entry` stops being fresh, its age capped at `maxAge` (null: no cap). */
function expiry(entry: Entry<unknown>, maxAge: number | null): number {
  return maxAge === null ? entry.expires : Math.min(entry.expires, entry.stored + maxAge);
}

/** How `put` stores a value: fresh for `ttl` seconds, kept `keepFor` longer, with a tag. */
export interface PutOptions {
  readonly ttl: number;
  readonly keepFor?: number;
  readonly tag?: string | null;
}

/**
 * At most `maxEntries` values, each fresh for its own TTL, the least recently used evicted.
 *
 * An entry may be kept for a while after it expires (`keepFor`): `fresh` no longer returns
 * it, `stale` still does. A read may cap an entry's age (`maxAge`) below its TTL. An entry may
 * carry a tag (the live mode's key fingerprint): `discardTag` forgets every entry with that
 * tag without scanning the others. A `Map` keeps insertion order, which is the LRU order here:
 * a read moves its entry to the end.
 */
export class TTLCache<V> {
  readonly maxEntries: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry<V>>();
  private readonly tagged = new Map<string, Set<string>>();

  constructor({ maxEntries, clock }: { maxEntries: number; clock: Clock }) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError("cacheSize must be a whole number >= 1");
    }
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key` if it has not expired (nor grown older than `maxAge`), else `MISS`. */
  fresh(key: string, maxAge: number | null = null): V | Miss {
    const entry = this.entries.get(key);
    if (entry === undefined) return MISS;
    const now = this.clock();
    const expires = expiry(entry, maxAge);
    if (now < expires) {
      this.touch(key, entry);
      return entry.value;
    }
    if (now >= expires + entry.keepFor) this.remove(key);
    return MISS;
  }

  /** The value of `key`, expired or not, while it is still kept; else `MISS`. */
  stale(key: string, maxAge: number | null = null): V | Miss {
    const entry = this.entries.get(key);
    if (entry === undefined) return MISS;
    if (this.clock() >= expiry(entry, maxAge) + entry.keepFor) {
      this.remove(key);
      return MISS;
    }
    this.touch(key, entry);
    return entry.value;
  }

  /** Store `value`; the least recently used entries go when there are too many. */
  put(key: string, value: V, { ttl, keepFor = 0, tag = null }: PutOptions): void {
    const now = this.clock();
    this.remove(key);
    if (!(ttl + keepFor > 0)) return;
    this.entries.set(key, { value, stored: now, expires: now + ttl, keepFor, tag });
    if (tag !== null) {
      let keys = this.tagged.get(tag);
      if (keys === undefined) this.tagged.set(tag, (keys = new Set()));
      keys.add(key);
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.remove(oldest);
    }
  }

  /** Forget `key`. */
  discard(key: string): void {
    this.remove(key);
  }

  /** Forget every entry stored with `tag`. */
  discardTag(tag: string): void {
    for (const key of this.tagged.get(tag) ?? []) this.entries.delete(key);
    this.tagged.delete(tag);
  }

  /** Forget everything. */
  clear(): void {
    this.entries.clear();
    this.tagged.clear();
  }

  private touch(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    if (entry.tag === null) return;
    const keys = this.tagged.get(entry.tag);
    keys?.delete(key);
    if (keys?.size === 0) this.tagged.delete(entry.tag);
  }
}
