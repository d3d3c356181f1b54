<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Client;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\KeyInfo;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\FakeClock;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\Seed;
use Keyvend\Client\Tests\Support\StartsProcesses;

/**
 * `check` and `getInfo` against a real server, behind a proxy that counts what reaches it.
 */
final class CheckTest
{
    use StartsProcesses;

    private FakeClock $clock;

    public function __construct()
    {
        $this->clock = new FakeClock();
    }

    public function testAValidKeyChecksTrueAndCarriesItsParams(): void
    {
        $key = Fixtures::seed()->newKey();
        $client = new Client(Fixtures::server()->url, appToken: Fixtures::seed()->appToken);

        Assert::true($client->check($key), 'the key is valid');
        $info = $client->getInfo($key);
        Assert::same(true, $info->valid, 'valid');
        Assert::same(['monthlyLimit' => Seed::STARTER_LIMIT], $info->params, 'params');
    }

    public function testAnUnknownKeyThrowsKeyNotFound(): void
    {
        $client = new Client(Fixtures::server()->url, appToken: Fixtures::seed()->appToken);

        $thrown = Assert::throws(KeyNotFound::class, fn () => $client->check('sk_NOT-A-KEY'));
        Assert::same('API key does not exist', $thrown->getMessage(), 'message');
        Assert::throws(KeyNotFound::class, fn () => $client->getInfo('sk_NOT-A-KEY'));
    }

    public function testADisabledKeyIsInvalidNotUnknown(): void
    {
        $seed = Fixtures::seed();
        [$orderId, $key] = $seed->newOrder();
        ($seed->admin)('serviceapikey/update', ['order_id' => $orderId, 'valid' => false]);
        $client = new Client(Fixtures::server()->url, appToken: $seed->appToken);

        Assert::same(false, $client->check($key), 'check');
        Assert::same(false, $client->getInfo($key)->valid, 'getInfo valid');
    }

    public function testAValidAnswerIsReusedForCacheTtlThenAskedAgain(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url);

        $client->check($key);
        $client->check($key);
        $client->getInfo($key); // one cache entry for both
        $this->clock->advance(29.9);
        $client->check($key);
        Assert::same(1, $proxy->requests(), 'requests within the TTL');
        $this->clock->advance(0.1);
        Assert::true($client->check($key), 'still valid');
        Assert::same(2, $proxy->requests(), 'requests once the TTL is over');
    }

    public function testAnUnknownOrInvalidAnswerIsReusedForNegativeTtlOnly(): void
    {
        $seed = Fixtures::seed();
        [$orderId, $disabled] = $seed->newOrder();
        ($seed->admin)('serviceapikey/update', ['order_id' => $orderId, 'valid' => false]);
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url);

        foreach ([1, 2] as $ignored) {
            Assert::throws(KeyNotFound::class, fn () => $client->check('sk_UNKNOWN-KEY'));
            Assert::same(false, $client->check($disabled), 'disabled key');
        }
        $this->clock->advance(4.9);
        $client->check($disabled);
        Assert::same(2, $proxy->requests(), 'requests within the negative TTL');
        $this->clock->advance(0.1);
        $client->check($disabled);
        Assert::throws(KeyNotFound::class, fn () => $client->check('sk_UNKNOWN-KEY'));
        Assert::same(4, $proxy->requests(), 'requests once it is over');
    }

    public function testKeysAreCachedExactlyAsSent(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url);

        Assert::true($client->check($key), 'as issued');
        Assert::true($client->check(strtolower($key)), 'lower case: the server ignores case');
        Assert::same(2, $proxy->requests(), 'two spellings, two entries');
    }

    public function testInvalidateForgetsOneKeyOrEveryKey(): void
    {
        $first = Fixtures::seed()->newKey();
        $second = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url);
        $client->check($first);
        $client->check($second);

        $client->invalidate($first);
        $client->check($first);
        $client->check($second);
        Assert::same(3, $proxy->requests(), 'only the invalidated key is asked again');
        $client->invalidate();
        $client->check($first);
        $client->check($second);
        Assert::same(5, $proxy->requests(), 'every key is asked again');
    }

    public function testTheLeastRecentlyUsedKeyIsEvictedBeyondMaxEntries(): void
    {
        $keys = [Fixtures::seed()->newKey(), Fixtures::seed()->newKey(), Fixtures::seed()->newKey()];
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url, new MemoryCache(maxEntries: 2));

        $client->check($keys[0]);
        $client->check($keys[1]);
        $client->check($keys[0]); // now the most recently used
        $client->check($keys[2]); // evicts keys[1]
        Assert::same(3, $proxy->requests(), 'requests for three keys');
        $client->check($keys[0]);
        $client->check($keys[2]);
        Assert::same(3, $proxy->requests(), 'the two recent keys stay cached');
        $client->check($keys[1]);
        Assert::same(4, $proxy->requests(), 'the evicted key is asked again');
    }

    public function testAnEmptyKeyIsAProgrammingErrorAndAnOverlongOneIsUnknown(): void
    {
        $proxy = $this->startProxy();
        $client = $this->client($proxy->url);

        Assert::throws(\InvalidArgumentException::class, fn () => $client->check('  '));
        Assert::throws(KeyNotFound::class, fn () => $client->check(str_repeat('A', 601)));
        Assert::same(0, $proxy->requests(), 'requests');
    }

    public function testDebugOutputNeverShowsTheAppToken(): void
    {
        $token = Fixtures::seed()->appToken;
        $client = new Client('http://127.0.0.1:1', appToken: $token);

        $shown = print_r($client, true) . var_export($client->__debugInfo(), true);
        Assert::true(!str_contains($shown, $token), 'the token is not shown');
        Assert::true(str_contains($shown, '***'), 'that there is a token is shown');
    }

    private function client(string $url, ?MemoryCache $cache = null): Client
    {
        return new Client(
            $url,
            appToken: Fixtures::seed()->appToken,
            cache: $cache,
            clock: $this->clock->closure(),
        );
    }
}
