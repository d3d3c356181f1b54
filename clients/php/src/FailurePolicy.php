<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * What `check` and `getInfo` do when the server cannot answer (`ServerUnavailable`,
 * `RateLimited`): `FailClosed` raises, `ServeStale` serves the last known answer for a while.
 */
interface FailurePolicy
{
    /** How many seconds past its expiry an answer may still be served (0: never). */
    public function staleSeconds(): float;
}
