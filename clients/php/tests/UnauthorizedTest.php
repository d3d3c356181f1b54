<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Client;
use Keyvend\Client\Exception\Unauthorized;
use Keyvend\Client\Protocol;
use Keyvend\Client\ServeStale;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\FakeClock;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\StartsProcesses;

/**
 * A wrong application token: every call says so, nothing is cached or served stale.
 */
final class UnauthorizedTest
{
    use StartsProcesses;

    public function testAWrongAppTokenMakesEveryCallThrowUnauthorizedAndIsNeverCached(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $client = new Client($proxy->url, appToken: 'kva_not-the-token');

        foreach ([1, 2] as $ignored) {
            $thrown = Assert::throws(Unauthorized::class, fn () => $client->check($key));
            Assert::true(!str_contains($thrown->getMessage(), 'kva_not-the-token'), 'the message hides the token');
            Assert::throws(Unauthorized::class, fn () => $client->verify($key));
        }
        Assert::same(2, $proxy->requests(Protocol::INFO_PATH), 'get_info requests');
        Assert::same(2, $proxy->requests(Protocol::VERIFY_PATH), 'verify requests');
    }

    public function testServeStaleDoesNotCoverARefusedToken(): void
    {
        $seed = Fixtures::seed();
        $key = $seed->newKey();
        $cache = new MemoryCache();
        $clock = new FakeClock();
        $options = ['cache' => $cache, 'onUnavailable' => new ServeStale(300), 'clock' => $clock->closure()];
        (new Client(Fixtures::server()->url, ...['appToken' => $seed->appToken, ...$options]))->check($key);
        $refused = new Client(Fixtures::server()->url, ...['appToken' => 'kva_not-the-token', ...$options]);

        $clock->advance(31);
        Assert::throws(Unauthorized::class, fn () => $refused->check($key));
    }

    public function testAnEmptyOrUnprintableTokenIsRefusedAtConstruction(): void
    {
        foreach (['  ', "kva_x\n", "kva_\x01x"] as $token) {
            $thrown = Assert::throws(\InvalidArgumentException::class, fn () => new Client('http://127.0.0.1:1', appToken: $token));
            Assert::same('appToken must be a non-empty printable string', $thrown->getMessage(), 'message');
        }
    }
}
