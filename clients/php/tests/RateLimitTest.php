<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Cache\ApcuCache;
use Keyvend\Client\Cache\CacheInterface;
use Keyvend\Client\Client;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\FailurePolicy;
use Keyvend\Client\ServeStale;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\CountingProxy;
use Keyvend\Client\Tests\Support\FakeClock;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\StartsProcesses;

/**
 * A server with tight limits (2 missed keys a minute per IP): 429s, the client's back-off,
 * and the application token that keeps an application out of the IP's budgets.
 */
final class RateLimitTest
{
    use StartsProcesses;

    private const TIGHT = [
        'KEYVEND_RATE_LIMIT_ENABLED' => 'true',
        'KEYVEND_RATE_LIMIT_GUEST' => '1000/minute',
        'KEYVEND_RATE_LIMIT_GUEST_MISS' => '2/minute',
    ];

    private FakeClock $clock;

    public function __construct()
    {
        $this->clock = new FakeClock();
    }

    public function testA429ThrowsRateLimitedAndTheClientWaitsForRetryAfter(): void
    {
        $proxy = $this->startProxy($this->startServer(self::TIGHT)->url);
        $client = $this->guest($proxy);

        Assert::throws(KeyNotFound::class, fn () => $client->check('sk_MISS-1'));
        Assert::throws(KeyNotFound::class, fn () => $client->check('sk_MISS-2'));
        $limited = Assert::throws(RateLimited::class, fn () => $client->check('sk_MISS-3'));
        Assert::true($limited->retryAfter >= 1 && $limited->retryAfter <= 60, "retryAfter {$limited->retryAfter}");
        Assert::same(3, $proxy->requests(), 'requests');

        $this->clock->advance($limited->retryAfter - 0.5);
        Assert::throws(RateLimited::class, fn () => $client->check('sk_MISS-4'));
        Assert::throws(RateLimited::class, fn () => $client->verify('sk_MISS-4'));
        Assert::same(3, $proxy->requests(), 'no request while backing off');
        $this->clock->advance(0.5);
        Assert::throws(RateLimited::class, fn () => $client->check('sk_MISS-4')); // the server's window is real time
        Assert::same(4, $proxy->requests(), 'asked again after Retry-After');
    }

    public function testTheBackOffIsSharedThroughApcu(): void
    {
        $proxy = $this->startProxy($this->startServer(self::TIGHT)->url);
        $prefix = 'keyvend-test-' . bin2hex(random_bytes(4)) . ':';
        $first = $this->guest($proxy, new ApcuCache($prefix));

        foreach (['sk_MISS-1', 'sk_MISS-2'] as $key) {
            Assert::throws(KeyNotFound::class, fn () => $first->check($key));
        }
        Assert::throws(RateLimited::class, fn () => $first->check('sk_MISS-3'));
        $second = $this->guest($proxy, new ApcuCache($prefix)); // another request of the pool
        Assert::throws(RateLimited::class, fn () => $second->check('sk_MISS-4'));
        Assert::same(3, $proxy->requests(), 'the second client did not ask');
    }

    public function testServeStaleCoversARateLimitForAKeySeenBefore(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy($this->startServer(self::TIGHT)->url);
        $client = $this->guest($proxy, onUnavailable: new ServeStale(120));
        $client->check($key);
        foreach (['sk_MISS-1', 'sk_MISS-2'] as $miss) {
            Assert::throws(KeyNotFound::class, fn () => $client->check($miss));
        }

        $this->clock->advance(31); // the answer has expired; the server now refuses the IP
        Assert::true($client->check($key), 'served stale');
        Assert::throws(RateLimited::class, fn () => $client->check(Fixtures::seed()->newKey()));
        Assert::same(4, $proxy->requests(), 'requests: the new key waits for the back-off');
    }

    public function testAnApplicationTokenIsNeverCountedAgainstTheGuestBudgets(): void
    {
        $proxy = $this->startProxy($this->startServer(self::TIGHT)->url);
        $client = new Client($proxy->url, appToken: Fixtures::seed()->appToken, clock: $this->clock->closure());

        foreach (range(1, 6) as $n) {
            Assert::throws(KeyNotFound::class, fn () => $client->check("sk_MISS-{$n}"));
        }
        $guest = $this->guest($proxy);
        Assert::throws(KeyNotFound::class, fn () => $guest->check('sk_MISS-GUEST'));
        Assert::same(7, $proxy->requests(), 'requests');
    }

    private function guest(CountingProxy $proxy, ?CacheInterface $cache = null, ?FailurePolicy $onUnavailable = null): Client
    {
        $options = ['cache' => $cache, 'clock' => $this->clock->closure()];
        return new Client($proxy->url, ...($onUnavailable === null ? $options : [...$options, 'onUnavailable' => $onUnavailable]));
    }
}
