<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * Polling with a deadline, for events a test cannot be told about directly.
 */
final class Wait
{
    /** Poll `$done` every 20 ms until it is true; `AssertionFailed` with `$why()` at the deadline. */
    public static function until(\Closure $done, float $seconds, \Closure $why): void
    {
        $deadline = hrtime(true) + (int) ($seconds * 1e9);
        while (!$done()) {
            if (hrtime(true) > $deadline) {
                throw new AssertionFailed($why());
            }
            usleep(20_000);
        }
    }

    /** Poll until something accepts TCP connections on `$port`. */
    public static function listening(int $port, float $seconds = 30.0): void
    {
        self::until(static function () use ($port): bool {
            $socket = @stream_socket_client("tcp://127.0.0.1:{$port}", $errno, $error, 1.0);
            if ($socket === false) {
                return false;
            }
            fclose($socket);
            return true;
        }, $seconds, static fn (): string => "nothing listens on port {$port}");
    }
}
