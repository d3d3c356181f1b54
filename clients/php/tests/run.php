<?php

declare(strict_types=1);

/**
 * The test runner (no PHPUnit: Packagist is out of reach): runs every public `test*` method
 * of every `*Test` class in this folder's `*Test.php` files, each on a fresh instance, calling
 * its `tearDown()` afterwards when it has one. Prints one line per test; exits 1 when a test
 * fails or when no test ran at all.
 *
 *     php -d apc.enable_cli=1 clients/php/tests/run.php [name filter]
 */

require __DIR__ . '/bootstrap.php';

// A warning or notice fails the test that caused it, as an exception would.
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    if (!(error_reporting() & $severity)) {
        return false; // silenced with @
    }
    throw new ErrorException($message, 0, $severity, $file, $line);
});

use Keyvend\Client\Tests\Support\Fixtures;

/** @return list<array{0: class-string, 1: string}> every test, as [class, method] */
function discover(string $folder, ?string $filter): array
{
    $tests = [];
    $files = glob("{$folder}/*Test.php") ?: [];
    sort($files);
    foreach ($files as $file) {
        $before = get_declared_classes();
        require_once $file;
        foreach (array_diff(get_declared_classes(), $before) as $class) {
            $reflection = new ReflectionClass($class);
            if (!str_ends_with($class, 'Test') || $reflection->isAbstract()) {
                continue;
            }
            foreach ($reflection->getMethods(ReflectionMethod::IS_PUBLIC) as $method) {
                $name = $reflection->getShortName() . '::' . $method->getName();
                if (str_starts_with($method->getName(), 'test') && ($filter === null || str_contains($name, $filter))) {
                    $tests[] = [$class, $method->getName()];
                }
            }
        }
    }
    return $tests;
}

/** Run one test; null when it passed, else what went wrong. */
function run_one(string $class, string $method): ?Throwable
{
    $failure = null;
    $test = new $class();
    try {
        $test->{$method}();
    } catch (Throwable $thrown) {
        $failure = $thrown;
    } finally {
        try {
            if (method_exists($test, 'tearDown')) {
                $test->tearDown();
            }
        } catch (Throwable $thrown) {
            $failure ??= $thrown;
        }
    }
    return $failure;
}

function describe(Throwable $failure): string
{
    $where = $failure->getFile() . ':' . $failure->getLine();
    foreach ($failure->getTrace() as $frame) { // the test's own line, not the assertion's
        if (isset($frame['file']) && str_ends_with($frame['file'], 'Test.php')) {
            $where = $frame['file'] . ':' . $frame['line'];
            break;
        }
    }
    return '     ' . $failure::class . ': ' . $failure->getMessage() . "\n     at {$where}";
}

register_shutdown_function(Fixtures::cleanUp(...)); // also after a fatal error
$tests = discover(__DIR__, $argv[1] ?? null);
$failed = 0;
foreach ($tests as [$class, $method]) {
    $started = hrtime(true);
    $failure = run_one($class, $method);
    $name = (new ReflectionClass($class))->getShortName() . "::{$method}";
    $seconds = sprintf('%.2f s', (hrtime(true) - $started) / 1e9);
    if ($failure === null) {
        echo "ok   {$name} ({$seconds})\n";
    } else {
        $failed++;
        echo "FAIL {$name} ({$seconds})\n" . describe($failure) . "\n";
    }
}
$passed = count($tests) - $failed;
echo "\n{$passed} passed, {$failed} failed\n";
if ($tests === []) {
    echo "no tests ran\n";
}
exit($failed > 0 || $tests === [] ? 1 : 0);
