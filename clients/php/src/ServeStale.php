<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * Serve the last known answer for up to `$seconds` after it expired, then fail closed.
 *
 * A key revoked on the server can thus keep working for `cacheTtl + seconds` while the server
 * is unreachable or rate limiting this application: choose `$seconds` with that in mind.
 * A key never seen before still raises.
 */
final class ServeStale implements FailurePolicy
{
    public function __construct(public readonly float $seconds)
    {
        if ($seconds < 0) {
            throw new \InvalidArgumentException('ServeStale seconds must be >= 0');
        }
    }

    public function staleSeconds(): float
    {
        return $this->seconds;
    }
}
