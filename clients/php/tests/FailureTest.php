<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Client;
use Keyvend\Client\Exception\ServerUnavailable;
use Keyvend\Client\FailClosed;
use Keyvend\Client\ServeStale;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\FakeClock;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\Process;
use Keyvend\Client\Tests\Support\StartsProcesses;

/**
 * When the server cannot answer: a stopped server, a proxy's error page, a wrong URL, silence.
 */
final class FailureTest
{
    use StartsProcesses;

    private FakeClock $clock;

    public function __construct()
    {
        $this->clock = new FakeClock();
    }

    public function testByDefaultAStoppedServerFailsClosed(): void
    {
        $key = Fixtures::seed()->newKey();
        $server = $this->startServer();
        $client = $this->client($server->url);
        $client->check($key);
        $server->stop();

        Assert::true($client->check($key), 'a fresh answer needs no server');
        $this->clock->advance(30);
        $thrown = Assert::throws(ServerUnavailable::class, fn () => $client->check($key));
        Assert::true(str_starts_with($thrown->getMessage(), 'Cannot reach Keyvend'), 'message: ' . $thrown->getMessage());
        Assert::throws(ServerUnavailable::class, fn () => $client->verify($key));
    }

    public function testServeStaleServesTheLastAnswerForItsSecondsThenFailsClosed(): void
    {
        $seed = Fixtures::seed();
        $key = $seed->newKey();
        $server = $this->startServer();
        $client = $this->client($server->url, new ServeStale(60));
        $client->check($key);
        $server->stop();

        $this->clock->advance(30 + 59.9);
        Assert::true($client->check($key), 'served stale');
        Assert::same(['monthlyLimit' => 250], $client->getInfo($key)->params, 'stale params');
        Assert::throws(ServerUnavailable::class, fn () => $client->check($seed->newKey()));
        Assert::throws(ServerUnavailable::class, fn () => $client->verify($key)); // no answer, no spending
        $this->clock->advance(0.1);
        Assert::throws(ServerUnavailable::class, fn () => $client->check($key));
    }

    public function testAProxyErrorPageIsServerUnavailable(): void
    {
        $proxy = $this->startProxy('http://127.0.0.1:' . Process::freePort()); // nothing behind it
        $client = $this->client($proxy->url);

        $thrown = Assert::throws(ServerUnavailable::class, fn () => $client->check('sk_ANY'));
        Assert::same('Keyvend answered HTTP 502', $thrown->getMessage(), 'message');
    }

    public function testAWrongBaseUrlIsServerUnavailable(): void
    {
        $client = $this->client(Fixtures::server()->url . '/not-keyvend');

        $thrown = Assert::throws(ServerUnavailable::class, fn () => $client->check('sk_ANY'));
        Assert::true(str_starts_with($thrown->getMessage(), 'Not a Keyvend API answer (HTTP 404)'), 'message: ' . $thrown->getMessage());
    }

    public function testAServerThatNeverAnswersTimesOut(): void
    {
        $silent = stream_socket_server('tcp://127.0.0.1:0'); // listens, never accepts
        $client = new Client('http://' . stream_socket_get_name($silent, false), timeout: 0.2);

        $thrown = Assert::throws(ServerUnavailable::class, fn () => $client->check('sk_ANY'));
        Assert::true(str_starts_with($thrown->getMessage(), 'Keyvend did not answer in time'), 'message: ' . $thrown->getMessage());
        fclose($silent);
    }

    private function client(string $url, ?ServeStale $policy = null): Client
    {
        return new Client(
            $url,
            appToken: Fixtures::seed()->appToken,
            onUnavailable: $policy ?? new FailClosed(),
            clock: $this->clock->closure(),
        );
    }
}
