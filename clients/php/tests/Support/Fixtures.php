<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * What the whole test run shares: one seeded data dir and one server on it (rate limiting
 * off), both made on first use and removed by `cleanUp()` when the run ends.
 */
final class Fixtures
{
    private static ?string $dataDir = null;
    private static ?KeyvendServer $server = null;
    private static ?Seed $seed = null;

    public static function seed(): Seed
    {
        if (self::$seed === null) {
            self::$dataDir = sys_get_temp_dir() . '/keyvend-php-' . bin2hex(random_bytes(6));
            mkdir(self::$dataDir, 0700);
            self::$seed = Seed::create(self::$dataDir, self::server(...));
        }
        return self::$seed;
    }

    /** The shared server, rate limiting off. */
    public static function server(): KeyvendServer
    {
        if (self::$dataDir === null) {
            self::seed(); // seeding starts it
        }
        return self::$server ??= new KeyvendServer((string) self::$dataDir);
    }

    /** Stop every process still running and remove the data dir (once). */
    public static function cleanUp(): void
    {
        self::$server?->stop();
        Process::stopAll();
        if (self::$dataDir !== null && is_dir(self::$dataDir)) {
            self::remove(self::$dataDir);
        }
        self::$server = self::$seed = self::$dataDir = null;
    }

    private static function remove(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (scandir($path) ?: [] as $name) {
                if ($name !== '.' && $name !== '..') {
                    self::remove("{$path}/{$name}");
                }
            }
            rmdir($path);
        } else {
            unlink($path);
        }
    }
}
