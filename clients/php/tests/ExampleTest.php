<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Http\Response;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\Http;
use Keyvend\Client\Tests\Support\Process;
use Keyvend\Client\Tests\Support\StartsProcesses;
use Keyvend\Client\Tests\Support\Wait;

/**
 * `examples/protected_api` as its README runs it: `php -S` with two workers and APCu,
 * in front of a real server (through a counting proxy).
 */
final class ExampleTest
{
    use StartsProcesses;

    public function testTheExampleLetsValidKeysInAndAsksKeyvendOncePerKey(): void
    {
        $key = Fixtures::seed()->newKey();
        $proxy = $this->startProxy();
        $app = $this->startApp($proxy->url);

        $missing = Http::request("{$app}/forecast");
        Assert::same([401, ['detail' => 'Missing API key: send it in the X-API-Key header']], $this->answer($missing), 'no key');
        foreach (range(1, 4) as $ignored) {
            $ok = Http::request("{$app}/forecast", null, ["X-API-Key: {$key}"]);
            Assert::same([200, ['forecast' => 'sunny', 'monthlyLimit' => 250]], $this->answer($ok), 'valid key');
        }
        Assert::same(1, $proxy->requests(), 'requests reaching Keyvend: APCu outlives each request');
        $unknown = Http::request("{$app}/forecast", null, ['X-API-Key: sk_NOT-A-KEY']);
        Assert::same([401, ['detail' => 'Invalid API key']], $this->answer($unknown), 'unknown key');
    }

    public function testTheExampleSpendsTheQuotaAndAnswers429WhenItIsUsedUp(): void
    {
        $key = Fixtures::seed()->newKey(Fixtures::seed()->meteredId);
        $app = $this->startApp(Fixtures::server()->url);

        foreach ([2, 1, 0] as $remaining) {
            $spent = Http::request("{$app}/spend", null, ["X-API-Key: {$key}"]);
            Assert::same([200, ['spent' => 1, 'remaining' => $remaining]], $this->answer($spent), 'spent');
        }
        $refused = Http::request("{$app}/spend", null, ["X-API-Key: {$key}"]);
        Assert::same([429, ['detail' => 'API key quota used up', 'code' => 'USAGE_EXCEEDED']], $this->answer($refused), 'used up');
    }

    public function testTheExampleFailsClosedWhenKeyvendIsDown(): void
    {
        $app = $this->startApp('http://127.0.0.1:' . Process::freePort());

        $down = Http::request("{$app}/forecast", null, ['X-API-Key: sk_ANY']);
        Assert::same([503, ['detail' => 'API key verification is unavailable; try again later']], $this->answer($down), 'down');
    }

    /** The example under `php -S` with two workers, talking to Keyvend at `$keyvendUrl`. */
    private function startApp(string $keyvendUrl): string
    {
        $port = Process::freePort();
        $this->started[] = new Process(
            [PHP_BINARY, '-d', 'apc.enable_cli=1', '-S', "127.0.0.1:{$port}", dirname(__DIR__) . '/examples/protected_api/index.php'],
            [
                ...getenv(),
                'PHP_CLI_SERVER_WORKERS' => '2',
                'KEYVEND_URL' => $keyvendUrl,
                'KEYVEND_APP_TOKEN' => Fixtures::seed()->appToken,
            ],
            '/dev/null',
        );
        Wait::listening($port);
        return "http://127.0.0.1:{$port}";
    }

    /** @return array{0: int, 1: mixed} the status and the decoded JSON body */
    private function answer(Response $response): array
    {
        return [$response->status, json_decode($response->body, true)];
    }
}
