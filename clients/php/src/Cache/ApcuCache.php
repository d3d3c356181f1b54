<?php

declare(strict_types=1);

namespace Keyvend\Client\Cache;

/**
 * Answers kept in APCu shared memory: every PHP-FPM (or mod_php) worker of a pool shares them,
 * so a key is asked once per pool and TTL rather than once per request.
 *
 * Entry names are `$prefix` followed by the SHA-256 of the key, never the key itself: APCu's
 * status pages (apc.php) list entry names. Give clients of different Keyvend servers (or
 * applications) different prefixes. APCu drops entries after their `$ttl` and when its memory
 * (`apc.shm_size`) runs out; the CLI needs `apc.enable_cli=1`.
 */
final class ApcuCache implements CacheInterface
{
    public function __construct(public readonly string $prefix = 'keyvend:')
    {
        if (!function_exists('apcu_enabled') || !apcu_enabled()) {
            throw new \LogicException(
                'APCu is not available: install ext-apcu (and set apc.enable_cli=1 for the CLI)'
            );
        }
    }

    public function get(string $key): mixed
    {
        $value = apcu_fetch($this->prefix . hash('sha256', $key), $found);
        return $found ? $value : null;
    }

    public function set(string $key, mixed $value, int $ttl): void
    {
        apcu_store($this->prefix . hash('sha256', $key), $value, max(1, $ttl));
    }

    public function delete(string $key): void
    {
        apcu_delete($this->prefix . hash('sha256', $key));
    }

    /** Forget the entries under this prefix only; other prefixes' entries stay. */
    public function clear(): void
    {
        apcu_delete(new \APCUIterator('/^' . preg_quote($this->prefix, '/') . '/', APC_ITER_KEY));
    }
}
