<?php

declare(strict_types=1);

namespace Keyvend\Client\Cache;

/**
 * At most `$maxEntries` entries in this process's memory, the least recently used evicted.
 *
 * Lives as long as the PHP process: a whole worker's life under RoadRunner, Swoole, ReactPHP
 * or a CLI daemon, but one request only under PHP-FPM (use `ApcuCache` there). It ignores
 * `$ttl`: the client expires answers itself, and the bound keeps memory in check.
 */
final class MemoryCache implements CacheInterface, \Countable
{
    /** @var array<string, mixed> oldest first: PHP arrays keep insertion order */
    private array $entries = [];

    public function __construct(public readonly int $maxEntries = 10_000)
    {
        if ($maxEntries < 1) {
            throw new \InvalidArgumentException('maxEntries must be >= 1');
        }
    }

    public function get(string $key): mixed
    {
        if (!isset($this->entries[$key])) {
            return null;
        }
        $value = $this->entries[$key];
        unset($this->entries[$key]); // re-inserted last: now the most recently used
        $this->entries[$key] = $value;
        return $value;
    }

    public function set(string $key, mixed $value, int $ttl): void
    {
        unset($this->entries[$key]);
        $this->entries[$key] = $value;
        if (count($this->entries) > $this->maxEntries) {
            unset($this->entries[array_key_first($this->entries)]);
        }
    }

    public function delete(string $key): void
    {
        unset($this->entries[$key]);
    }

    public function clear(): void
    {
        $this->entries = [];
    }

    public function count(): int
    {
        return count($this->entries);
    }
}
