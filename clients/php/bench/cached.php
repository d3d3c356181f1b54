<?php

declare(strict_types=1);

/**
 * The cost of a cached `check()`: a real server (the tests' fixtures), one key warmed, then
 * ROUNDS rounds of CALLS calls each, timed with hrtime, for `MemoryCache` and `ApcuCache`.
 *
 * Prints one JSON line per cache on stdout (median and every round, in microseconds per
 * call); progress goes to stderr.
 *
 *     php -d apc.enable_cli=1 clients/php/bench/cached.php [rounds] [calls]
 *
 * Rounds and calls also come from env BENCH_ROUNDS and BENCH_CALLS (as bench/client_libraries.py
 * passes them); the defaults are 7 x 200 000. The server is env KEYVEND_BIN, as for the tests.
 */

require __DIR__ . '/../tests/bootstrap.php';

use Keyvend\Client\Cache\ApcuCache;
use Keyvend\Client\Cache\CacheInterface;
use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Client;
use Keyvend\Client\Tests\Support\Fixtures;

/** @return list<float> microseconds per call, one figure per round */
function time_cached_checks(Client $client, string $key, int $rounds, int $calls): array
{
    if (!$client->check($key)) { // warms the cache: the only call that reaches the server
        throw new RuntimeException('the warmed key is not valid');
    }
    $figures = [];
    for ($round = 0; $round < $rounds; $round++) {
        $started = hrtime(true);
        for ($i = 0; $i < $calls; $i++) {
            $client->check($key);
        }
        $figures[] = round((hrtime(true) - $started) / 1e3 / $calls, 4);
    }
    return $figures;
}

function median(array $values): float
{
    sort($values);
    $middle = intdiv(count($values), 2);
    return count($values) % 2 ? $values[$middle] : ($values[$middle - 1] + $values[$middle]) / 2;
}

$rounds = (int) ($argv[1] ?? getenv('BENCH_ROUNDS') ?: 7);
$calls = (int) ($argv[2] ?? getenv('BENCH_CALLS') ?: 200_000);
if ($rounds < 1 || $calls < 1) {
    fwrite(STDERR, "rounds and calls must be >= 1\n");
    exit(2);
}
register_shutdown_function(Fixtures::cleanUp(...));
$seed = Fixtures::seed();
$key = $seed->newKey();
$caches = [
    'memory' => static fn (): CacheInterface => new MemoryCache(),
    'apcu' => static fn (): CacheInterface => new ApcuCache('keyvend-bench:'),
];
foreach ($caches as $name => $make) {
    fwrite(STDERR, "{$name}: {$rounds} rounds x {$calls} cached check() calls\n");
    $client = new Client(Fixtures::server()->url, appToken: $seed->appToken, cacheTtl: 3600.0, cache: $make());
    $figures = time_cached_checks($client, $key, $rounds, $calls);
    fwrite(STDERR, sprintf("%s: median %.3f us per call\n", $name, median($figures)));
    echo json_encode([
        'library' => 'php',
        'cache' => $name,
        'operation' => 'cached check',
        'median_us' => round(median($figures), 4),
        'rounds' => $figures,
        'calls_per_round' => $calls,
        'php' => PHP_VERSION,
    ]), "\n";
}
