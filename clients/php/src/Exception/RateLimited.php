<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * The server refused the call for now (HTTP 429); try again after `$retryAfter` seconds.
 *
 * Until then the client does not ask again: every call raises this at once.
 */
final class RateLimited extends KeyvendException
{
    public function __construct(public readonly int $retryAfter)
    {
        parent::__construct("Keyvend rate limit reached; retry after {$retryAfter} seconds");
    }
}
