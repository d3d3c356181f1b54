<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * A monotonic clock the tests move by hand, so that TTLs pass without sleeping.
 */
final class FakeClock
{
    public float $now = 1_000.0;

    public function advance(float $seconds): void
    {
        $this->now += $seconds;
    }

    /** What a `Client` takes as its `clock`. */
    public function closure(): \Closure
    {
        return fn (): float => $this->now;
    }
}
