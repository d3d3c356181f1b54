<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * The few assertions the tests need; each throws `AssertionFailed` saying what differed.
 */
final class Assert
{
    public static function same(mixed $expected, mixed $actual, string $what = 'value'): void
    {
        if ($expected !== $actual) {
            throw new AssertionFailed(sprintf(
                '%s: expected %s, got %s',
                $what,
                var_export($expected, true),
                var_export($actual, true),
            ));
        }
    }

    public static function true(bool $condition, string $what): void
    {
        if (!$condition) {
            throw new AssertionFailed("expected: {$what}");
        }
    }

    /**
     * Run `$call` and return what it threw, failing unless it is a `$class`.
     *
     * @template E of \Throwable
     * @param class-string<E> $class
     * @return E
     */
    public static function throws(string $class, \Closure $call): \Throwable
    {
        try {
            $call();
        } catch (\Throwable $thrown) {
            if ($thrown instanceof $class) {
                return $thrown;
            }
            throw new AssertionFailed(
                "expected {$class}, got " . $thrown::class . ': ' . $thrown->getMessage(),
                0,
                $thrown,
            );
        }
        throw new AssertionFailed("expected {$class}, nothing was thrown");
    }
}
