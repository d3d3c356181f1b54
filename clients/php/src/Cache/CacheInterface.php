<?php

declare(strict_types=1);

namespace Keyvend\Client\Cache;

/**
 * Where a client keeps the server's answers: a small get/set/delete/clear store.
 *
 * The client decides what is fresh with its own clock; `$ttl` tells a store when it may drop
 * an entry by itself (APCu does, a bounded memory store need not). Values are small arrays
 * and objects of this library; a store that serialises them (APCu, a PSR-16 adapter) works.
 */
interface CacheInterface
{
    /** The value stored under `$key`, or null when there is none. */
    public function get(string $key): mixed;

    /** Store `$value` under `$key`; the store may forget it after `$ttl` (>= 1) seconds. */
    public function set(string $key, mixed $value, int $ttl): void;

    /** Forget `$key`. */
    public function delete(string $key): void;

    /** Forget every entry this store holds for the client. */
    public function clear(): void;
}
