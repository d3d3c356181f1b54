<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Cache\ApcuCache;
use Keyvend\Client\Client;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\FakeClock;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\StartsProcesses;

/**
 * The APCu store for real (the runner needs `-d apc.enable_cli=1`), against a real server.
 *
 * Two `Client`s, each with its own `ApcuCache` object, stand for two requests of a PHP-FPM
 * pool: what one learned, the other reuses. (The example test shares it across processes.)
 */
final class ApcuCacheTest
{
    use StartsProcesses;

    private FakeClock $clock;
    private string $prefix;

    public function __construct()
    {
        $this->clock = new FakeClock();
        $this->prefix = 'keyvend-test-' . bin2hex(random_bytes(4)) . ':';
    }

    public function testClientsSharingApcuAskTheServerOnceAKey(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();

        Assert::true($this->client($proxy->url)->check($key), 'first request');
        Assert::true($this->client($proxy->url)->check($key), 'second request');
        Assert::throws(KeyNotFound::class, fn () => $this->client($proxy->url)->check('sk_UNKNOWN'));
        Assert::throws(KeyNotFound::class, fn () => $this->client($proxy->url)->check('sk_UNKNOWN'));
        Assert::same(2, $proxy->requests(), 'requests');
    }

    public function testApcuAnswersExpireOnTheClientsClock(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();

        $this->client($proxy->url)->check($key);
        $this->clock->advance(29.9);
        $this->client($proxy->url)->check($key);
        Assert::same(1, $proxy->requests(), 'requests within the TTL');
        $this->clock->advance(0.1);
        $this->client($proxy->url)->check($key);
        Assert::same(2, $proxy->requests(), 'requests once it is over');
    }

    public function testApcuEntryNamesNeverContainTheKey(): void
    {
        $key = Fixtures::seed()->newKey();
        $this->client(Fixtures::server()->url)->check($key);

        $names = array_keys(iterator_to_array(new \APCUIterator('/^' . preg_quote($this->prefix, '/') . '/')));
        Assert::same(1, count($names), 'entries under the prefix');
        Assert::true(!str_contains(strtolower($names[0]), strtolower($key)), 'the name hides the key');
    }

    public function testInvalidatingEverythingClearsOnlyItsOwnPrefix(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $other = new Client($proxy->url, appToken: Fixtures::seed()->appToken, cache: new ApcuCache('other-' . $this->prefix));
        $other->check($key);

        $client = $this->client($proxy->url);
        $client->check($key);
        $client->invalidate();
        $client->check($key);
        $other->check($key);
        Assert::same(3, $proxy->requests(), 'only the cleared prefix asks again');
    }

    public function testWithoutApcuEnabledTheCacheRefusesToStart(): void
    {
        $script = 'require $argv[1]; try { new Keyvend\\Client\\Cache\\ApcuCache(); echo "started"; }'
            . ' catch (LogicException $e) { echo $e->getMessage(); }';
        $command = [PHP_BINARY, '-d', 'apc.enable_cli=0', '-r', $script, dirname(__DIR__) . '/src/autoload.php'];
        $said = shell_exec(implode(' ', array_map('escapeshellarg', $command)));

        Assert::same('APCu is not available: install ext-apcu (and set apc.enable_cli=1 for the CLI)', $said, 'said');
    }

    private function client(string $url): Client
    {
        return new Client(
            $url,
            appToken: Fixtures::seed()->appToken,
            cache: new ApcuCache($this->prefix),
            clock: $this->clock->closure(),
        );
    }
}
